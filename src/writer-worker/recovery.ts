import { existsSync, renameSync } from 'node:fs';
import { CatalogLockedError } from '../shared/errors.js';
import type { RecoveryReport } from '../shared/protocol.js';
import type { Changes, Row } from './batch-plan.js';
import type { InFlight } from './in-flight.js';
import { Journal, type JournalState } from './journal.js';
import { Store, messageOf } from './store.js';

export interface OpenedCatalog {
  readonly store: Store;
  readonly rows: Array<[string, string, number]>;
  readonly journal: Journal | undefined;
  readonly recovery: RecoveryReport | undefined;
}

interface OpenOptions {
  readonly readOnly: boolean;
  readonly threads: number;
}

/**
 * Opens the DuckDB file and makes it agree with the journal:
 * - a file that will not open or read (corrupt blocks, truncation) is renamed aside,
 *   never deleted, and the catalog is rebuilt from the journal;
 * - a file that lost committed batches (a deleted or truncated WAL) gets them back;
 * - a catalog without a journal gets one, starting from a snapshot.
 */
export async function openCatalog(path: string, options: OpenOptions, inFlight: InFlight): Promise<OpenedCatalog> {
  if (path === ':memory:' || options.readOnly) {
    const store = await Store.open(path, options, inFlight);
    return { store, rows: await loadOrClose(store), journal: undefined, recovery: undefined };
  }
  const journalPath = `${path}.journal`;
  const journal = Journal.read(journalPath);
  const fileExisted = existsSync(path);
  let opened: { store: Store; rows: Array<[string, string, number]> } | undefined;
  let damage: unknown;
  try {
    const store = await Store.open(path, options, inFlight);
    opened = { store, rows: await loadOrClose(store) };
  } catch (error) {
    if (error instanceof CatalogLockedError || journal.rows === undefined) throw error;
    damage = error;
  }

  const rebuild = opened === undefined || (!fileExisted && journal.rows !== undefined);
  let recovery: RecoveryReport | undefined;
  if (opened === undefined) {
    const damagedFiles = setAside(path);
    const store = await Store.open(path, options, inFlight);
    opened = { store, rows: [] };
    recovery = { reason: `the catalog file could not be read: ${messageOf(damage)}`, damagedFiles, restoredRows: 0 };
  } else if (rebuild) {
    recovery = { reason: 'the catalog file was missing', damagedFiles: [], restoredRows: 0 };
  }

  const target = targetState(rebuild ? undefined : opened.rows, journal);
  const changes = diff(opened.rows, target);
  const changed = changes.inserts.length + changes.updates.length + changes.deletes.length;
  if (changed > 0) {
    await opened.store.commit(changes);
    recovery ??= { reason: 'the catalog file had lost committed writes (WAL lost or truncated)', damagedFiles: [], restoredRows: 0 };
    recovery = { ...recovery, restoredRows: changed };
  }
  const rows = [...target].map(([name, [json, version]]): [string, string, number] => [name, json, version]);

  let log: Journal;
  if (journal.rows === undefined || recovery !== undefined) {
    // The snapshot must be in the main file, not only in DuckDB's WAL: a later WAL loss
    // is then repaired from the batches recorded after it.
    await opened.store.checkpoint();
    log = Journal.create(journalPath, rows, journal.lastSeq);
  } else {
    log = Journal.open(journalPath, journal.validBytes, journal.batchBytes, journal.lastSeq);
  }
  return { store: opened.store, rows, journal: log, recovery };
}

async function loadOrClose(store: Store): Promise<Array<[string, string, number]>> {
  try {
    return await store.loadAll();
  } catch (error) {
    store.close();
    throw error;
  }
}

/** The catalog the journal describes: the stored rows (or its snapshot) plus every later batch. */
function targetState(stored: ReadonlyArray<readonly [string, string, number]> | undefined, journal: JournalState): Map<string, readonly [string, number]> {
  const target = new Map<string, readonly [string, number]>(
    stored === undefined ? journal.rows : stored.map(([name, json, version]) => [name, [json, version] as const]),
  );
  for (const [name, [json, version]] of journal.touched) {
    if (json === null) target.delete(name);
    else target.set(name, [json, version]);
  }
  return target;
}

function diff(stored: ReadonlyArray<readonly [string, string, number]>, target: ReadonlyMap<string, readonly [string, number]>): Changes {
  const current = new Map(stored.map(([name, json, version]) => [name, [json, version] as const]));
  const inserts: Row[] = [];
  const updates: Row[] = [];
  const deletes: string[] = [];
  for (const [name, [json, version]] of target) {
    const have = current.get(name);
    if (have === undefined) inserts.push([name, json, version]);
    else if (have[1] !== version || !sameJson(have[0], json)) updates.push([name, json, version]);
  }
  for (const name of current.keys()) if (!target.has(name)) deletes.push(name);
  return { inserts, updates, deletes };
}

// DuckDB's JSON type may normalise the text it stores; compare values, not bytes.
function sameJson(a: string, b: string): boolean {
  return a === b || JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
}

/** Renames the damaged file and its WAL aside (never deletes them); returns the new names. */
function setAside(path: string): string[] {
  const suffix = `.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const moved: string[] = [];
  for (const file of [path, `${path}.wal`]) {
    if (!existsSync(file)) continue;
    renameSync(file, `${file}${suffix}`);
    moved.push(`${file}${suffix}`);
  }
  return moved;
}
