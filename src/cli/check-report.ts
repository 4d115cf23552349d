import { resolve as resolvePath } from 'node:path';
import type { Stored } from '../writer-worker/batch-plan.js';
import { isClean, readJournalHistory, type JournalHistory } from '../writer-worker/journal-history.js';
import { readSnapshot } from '../writer-worker/snapshot-file.js';
import { differingNames, readDuckDB, type DuckDBRead } from './duckdb-read.js';

/** What `duckcat check` found. `ok` is false when `problems` is not empty. */
export interface CheckReport {
  readonly path: string;
  readonly ok: boolean;
  /** Damage or disagreement: what `open` would have to repair, or could not. */
  readonly problems: string[];
  /** Facts worth knowing that are not damage (DuckDB behind the journal after a crash, a file held by its owner). */
  readonly notes: string[];
  readonly journal: {
    readonly exists: boolean;
    readonly files: readonly string[];
    /** Seq the journal is complete from (its snapshot's), when known. */
    readonly base: number | null;
    readonly lastSeq: number;
    readonly batches: number;
    readonly damage: readonly string[];
    readonly highestMissing: number;
  };
  readonly snapshot: { readonly state: 'missing' | 'damaged' | 'valid'; readonly seq?: number; readonly rows?: number; readonly why?: string };
  readonly duckdb: { readonly state: DuckDBRead['state']; readonly appliedSeq?: number | null; readonly rows?: number; readonly pid?: number; readonly error?: string };
  /** Whether DuckDB's rows, rolled forward by the journal's later batches, equal the journal's catalog; null when not compared. */
  readonly rowsEqual: boolean | null;
  /** Names that differ (at most 20 shown). */
  readonly differing: readonly string[];
}

const MAX_SHOWN = 20;

/**
 * Verifies the catalog file against its journal without changing anything: the journal
 * files and the snapshot are read as files, DuckDB is opened READ_ONLY. Nothing is
 * created, renamed, truncated or locked.
 */
export async function checkCatalog(givenPath: string): Promise<CheckReport> {
  const path = resolvePath(givenPath);
  const problems: string[] = [];
  const notes: string[] = [];

  let history: JournalHistory | undefined;
  try {
    history = readJournalHistory(path);
  } catch (error) {
    problems.push(`journal unreadable: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (history !== undefined) {
    problems.push(...history.damage);
    if (history.highestMissing > 0) problems.push(`journal lacks batches up to ${history.highestMissing}`);
    if (!history.exists) notes.push('no journal (journal: false, or never opened): DuckDB is not compared with anything');
  }

  const snapshotRead = readSnapshot(path);
  const snapshot =
    snapshotRead.kind === 'valid'
      ? { state: 'valid' as const, seq: snapshotRead.seq, rows: snapshotRead.chunks.reduce((sum, chunk) => sum + chunk.names.length, 0) }
      : snapshotRead.kind === 'damaged'
        ? { state: 'damaged' as const, why: snapshotRead.why }
        : { state: 'missing' as const };

  const duck = await readDuckDB(path);
  let rowsEqual: boolean | null = null;
  let differing: string[] = [];
  switch (duck.state) {
    case 'missing':
      if (history?.exists === true) problems.push(`${path} is missing (open would rebuild it from the journal)`);
      else problems.push(`no catalog at ${path}`);
      break;
    case 'held':
      notes.push(`DuckDB's file is held by its owner${duck.pid === undefined ? '' : ` (PID ${duck.pid})`}: only the journal was checked (check a copy, or stop the owner)`);
      break;
    case 'unreadable':
      problems.push(`DuckDB cannot read ${path}: ${duck.error}`);
      break;
    case 'readable': {
      if (duck.duplicated.length > 0) problems.push(`DuckDB holds more than one row for ${duck.duplicated.length} names (${duck.duplicated.slice(0, 5).join(', ')}): the table was written outside duckcat`);
      if (history === undefined || !history.exists) break;
      const applied = duck.appliedSeq ?? 0;
      if (applied > history.lastSeq) {
        problems.push(`DuckDB records batch ${applied}, newer than the journal's newest (${history.lastSeq}): the journal lost batches DuckDB holds`);
        break;
      }
      if (applied < history.lastSeq) notes.push(`DuckDB is at batch ${applied}, the journal at ${history.lastSeq}: open rolls the ${history.lastSeq - applied} newer batches forward (normal after a crash)`);
      if (!isClean(history)) {
        notes.push(
          lostToBoth(history, applied)
            ? `acknowledged writes are unreadable in both the journal and DuckDB (at batch ${applied}): open would fail with ERR_CATALOG_CORRUPT`
            : `DuckDB holds every batch the journal cannot give (it is at batch ${applied}): open would rebuild the journal from DuckDB, setting the damaged files aside`,
        );
        break;
      }
      if (history.base !== undefined && applied < history.base) {
        problems.push(`DuckDB is at batch ${applied}, older than the journal's snapshot (${history.base})`);
        break;
      }
      const rolled = rollForward(duck.rows, history, applied);
      differing = differingNames(rolled, history.state);
      rowsEqual = differing.length === 0;
      if (!rowsEqual) problems.push(`${differing.length} definitions differ between DuckDB (rolled forward) and the journal`);
      break;
    }
  }

  return {
    path,
    ok: problems.length === 0,
    problems,
    notes,
    journal: {
      exists: history?.exists ?? false,
      files: history?.files ?? [],
      base: history?.base ?? null,
      lastSeq: history?.lastSeq ?? 0,
      batches: history?.batches.length ?? 0,
      damage: history?.damage ?? [],
      highestMissing: history?.highestMissing ?? 0,
    },
    snapshot,
    duckdb:
      duck.state === 'readable'
        ? { state: duck.state, appliedSeq: duck.appliedSeq, rows: duck.rows.size }
        : duck.state === 'held'
          ? { state: duck.state, ...(duck.pid === undefined ? {} : { pid: duck.pid }) }
          : duck.state === 'unreadable'
            ? { state: duck.state, error: duck.error }
            : { state: duck.state },
    rowsEqual,
    differing: differing.slice(0, MAX_SHOWN),
  };
}

/** Mirrors open's refusal (open-catalog.ts fromStore): batches neither the journal nor DuckDB holds. */
function lostToBoth(history: JournalHistory, applied: number): boolean {
  const behindSnapshot = (history.base !== undefined && applied < history.base) || (history.snapshotDamaged && applied === 0);
  const gapBeforeFirst = history.base === undefined && history.batches.length > 0 && history.batches[0]!.seq > applied + 1;
  return history.highestMissing > applied || behindSnapshot || gapBeforeFirst;
}

/** DuckDB's rows with the journal's batches after `applied` on top: what open would load. */
function rollForward(rows: ReadonlyMap<string, Stored>, history: JournalHistory, applied: number): Map<string, Stored> {
  const result = new Map(rows);
  for (const batch of history.batches) {
    if (batch.seq <= applied) continue;
    for (const [name, json, version] of batch.rows) {
      if (json === null) result.delete(name);
      else result.set(name, { json, version });
    }
  }
  return result;
}
