import { existsSync, readFileSync } from 'node:fs';
import type { Stored } from './batch-plan.js';
import { decodeRecords, type JournalRow, type RawRecord } from './journal-format.js';
import { journalPaths, listSegments, type Segment } from './journal-files.js';
import { readMark } from './journal-mark.js';
import { readSnapshot } from './snapshot-file.js';

export interface BatchRecord {
  readonly seq: number;
  readonly rows: readonly JournalRow[];
}

/** Everything the journal files say, read once at open. */
export interface JournalHistory {
  /** Whether any journal file exists. */
  readonly exists: boolean;
  /** The seq the journal is complete from (its snapshot's, or 0 for a journal that starts at batch 1); undefined if unknown. */
  readonly base: number | undefined;
  /** The catalog as of the newest batch: the base plus every later batch (meaningful when `clean`). */
  readonly state: Map<string, Stored>;
  /** Batches after the base (aborted ones left out), in seq order. */
  readonly batches: readonly BatchRecord[];
  /** Newest seq the journal mentions. */
  readonly lastSeq: number;
  /** Newest batch DuckDB refused (`commit: 'duckdb'`): it may have half-landed in DuckDB's WAL. 0 when none. */
  readonly lastAborted: number;
  /** Highest seq that should be in the journal but is not readable (0 when none). */
  readonly highestMissing: number;
  /** What is damaged, in words; empty when nothing is. */
  readonly damage: readonly string[];
  /** The snapshot file exists but cannot be read: what it covered is unknown. */
  readonly snapshotDamaged: boolean;
  /**
   * The newest consistent state the journal alone gives: its base and the unbroken run of
   * batches after it (undefined when the base is unknown). Equals `state` unless batches are missing.
   */
  readonly readable: { readonly seq: number; readonly state: ReadonlyMap<string, Stored> } | undefined;
  /** The journal's high-water mark: a seq it is known to have held (undefined: no readable mark). */
  readonly mark: number | undefined;
  /** The active log's intact length and size of its records, for appending. */
  readonly log: { readonly exists: boolean; readonly validBytes: number };
  readonly segments: readonly Segment[];
  readonly files: readonly string[];
}

/** True when the journal alone gives the catalog as of `lastSeq`. */
export function isClean(history: JournalHistory): boolean {
  return history.exists && history.base !== undefined && history.highestMissing === 0 && history.damage.length === 0;
}

/** Reads the snapshot, the sealed segments and the active log of the catalog at `path`. */
export function readJournalHistory(path: string): JournalHistory {
  const paths = journalPaths(path);
  const damage: string[] = [];
  const files: string[] = [];
  const state = new Map<string, Stored>();
  let base: number | undefined;

  const snapshot = readSnapshot(path);
  if (snapshot.kind !== 'missing') files.push(paths.snapshot);
  if (snapshot.kind === 'damaged') damage.push(`${paths.snapshot}: ${snapshot.why}`);
  if (snapshot.kind === 'valid') {
    base = snapshot.seq;
    for (const { names, jsons, versions } of snapshot.chunks) {
      for (let i = 0; i < names.length; i++) state.set(names[i]!, { json: jsons[i]!, version: versions[i]! });
    }
  }

  const mark = readMark(path);
  if (mark.kind !== 'missing') files.push(paths.mark);

  const segments = listSegments(path);
  const raw: RawRecord[] = [];
  // Newest seq read so far; kept as we go (a spread of every record into Math.max or push
  // would overflow the stack on a long journal).
  let known = base ?? 0;
  const take = (records: readonly RawRecord[]) => {
    for (const record of records) {
      raw.push(record);
      known = Math.max(known, record.seq);
    }
  };
  for (const segment of segments) {
    files.push(segment.file);
    // A sealed log the snapshot covers (a close or crash came before it was removed) holds
    // nothing the catalog needs: damage in it is no damage to the catalog.
    if (base !== undefined && segment.lastSeq <= base) continue;
    const decoded = decodeRecords(readFileSync(segment.file));
    if (decoded.damage !== undefined) damage.push(`${segment.file}: unreadable bytes ${decoded.damage.from}–${decoded.damage.to}`);
    take(decoded.records);
    // A sealed log was complete when sealed, and its name is its last seq: if its records
    // (and everything before it) end earlier, its end was lost (zeroed or cut), not torn.
    if (decoded.damage === undefined && known < segment.lastSeq) damage.push(`${segment.file}: ends at batch ${known}, its name says ${segment.lastSeq}`);
  }
  let log = { exists: false, validBytes: 0 };
  if (existsSync(paths.log)) {
    files.push(paths.log);
    const decoded = decodeRecords(readFileSync(paths.log));
    if (decoded.damage !== undefined) damage.push(`${paths.log}: unreadable bytes ${decoded.damage.from}–${decoded.damage.to}`);
    log = { exists: true, validBytes: decoded.damage === undefined ? decoded.validBytes : decoded.damage.to };
    take(decoded.records);
  }

  const aborted = new Set<number>();
  const bySeq = new Map<number, BatchRecord>();
  let lastSeq = base ?? 0;
  for (const record of raw) {
    lastSeq = Math.max(lastSeq, record.seq);
    // Covered by the snapshot: not even parsed.
    if (base !== undefined && record.seq <= base) continue;
    if (record.isSnapshot) {
      // The older format kept its snapshot at the head of the log.
      const parsed = record.parse();
      if (parsed.t !== 'snapshot') continue;
      base = parsed.seq;
      state.clear();
      for (const [name, json, version] of parsed.rows) state.set(name, { json, version });
      continue;
    }
    const parsed = record.parse();
    if (parsed.t === 'abort') aborted.add(parsed.seq);
    else if (parsed.t === 'batch' && !bySeq.has(parsed.seq)) bySeq.set(parsed.seq, parsed);
  }

  const seqs = [...bySeq.keys()].sort((a, b) => a - b);
  // A journal with no snapshot is complete only if it starts at the first batch ever.
  if (base === undefined && snapshot.kind === 'missing' && segments.length === 0 && (seqs.length === 0 || seqs[0] === 1)) base = 0;
  const batches: BatchRecord[] = [];
  let highestMissing = 0;
  let expected = base === undefined ? (seqs[0] ?? 1) : base + 1;
  if (base === undefined) highestMissing = Math.max(0, expected - 1);
  // The end of the unbroken run of batches after the base: what the journal alone can give.
  let unbrokenTo = base;
  for (const seq of seqs) {
    if (base !== undefined && seq <= base) continue;
    if (seq > expected) highestMissing = seq - 1;
    else if (unbrokenTo !== undefined && unbrokenTo === seq - 1) unbrokenTo = seq;
    expected = seq + 1;
    if (!aborted.has(seq)) batches.push(bySeq.get(seq)!);
  }
  // Seqs consumed by aborted batches whose batch record is unreadable are gaps too, but harmless.
  let readable: { seq: number; state: Map<string, Stored> } | undefined;
  for (const batch of batches) {
    // Past a gap: keep a copy of the state before it (only a damaged journal pays for it).
    if (unbrokenTo !== undefined && readable === undefined && batch.seq > unbrokenTo) readable = { seq: unbrokenTo, state: new Map(state) };
    for (const [name, json, version] of batch.rows) {
      if (json === null) state.delete(name);
      else state.set(name, { json, version });
    }
  }
  if (unbrokenTo !== undefined) readable ??= { seq: unbrokenTo, state };
  // A journal that ends below its mark did not tear: its newest records were lost (zeroed,
  // cut, or a sealed log removed), and nothing else on disk would say so.
  if (mark.kind === 'valid' && mark.seq > lastSeq) {
    damage.push(`the journal ends at batch ${lastSeq}, but batch ${mark.seq} was journaled (${paths.mark})`);
    highestMissing = Math.max(highestMissing, mark.seq);
  }
  let lastAborted = 0;
  for (const seq of aborted) if (base === undefined || seq > base) lastAborted = Math.max(lastAborted, seq);
  return { exists: files.length > 0, base, state, batches, lastSeq, lastAborted, highestMissing, damage, snapshotDamaged: snapshot.kind === 'damaged', mark: mark.kind === 'valid' ? mark.seq : undefined, readable, log, segments, files };
}
