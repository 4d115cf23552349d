import { existsSync, renameSync, rmSync } from 'node:fs';
import { CatalogLockedError } from '../shared/errors.js';
import { emptyColumns, zipColumns, type Columns, type RecoveryReport } from '../shared/protocol.js';
import type { Changes, Row } from './batch-plan.js';
import type { InFlight } from './in-flight.js';
import { Journal } from './journal.js';
import { Store, messageOf } from './store.js';

export interface OpenedCatalog {
  readonly store: Store;
  readonly rows: Columns;
  readonly journal: Journal | undefined;
  readonly recovery: RecoveryReport | undefined;
}

interface OpenOptions {
  readonly readOnly: boolean;
  readonly journal: boolean;
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
  if (path === ':memory:' || options.readOnly || !options.journal) {
    if (!options.journal && !options.readOnly) rmSync(`${path}.journal`, { force: true });
    const store = await Store.open(path, options, inFlight);
    return { store, rows: await loadOrClose(store), journal: undefined, recovery: undefined };
  }
  const journalPath = `${path}.journal`;
  const fileExisted = existsSync(path);
  // DuckDB opens and loads on the libuv pool while this thread reads the journal.
  const opening = (async () => {
    const store = await Store.open(path, options, inFlight);
    return { store, rows: await loadOrClose(store) };
  })();
  opening.catch(() => undefined);
  const journal = Journal.read(journalPath);
  let opened: { store: Store; rows: Columns } | undefined;
  let damage: unknown;
  try {
    opened = await opening;
  } catch (error) {
    if (error instanceof CatalogLockedError || !journal.hasSnapshot) throw error;
    damage = error;
  }

  const rebuild = opened === undefined || (!fileExisted && journal.hasSnapshot);
  let recovery: RecoveryReport | undefined;
  if (opened === undefined) {
    const damagedFiles = setAside(path);
    const store = await Store.open(path, options, inFlight);
    opened = { store, rows: emptyColumns() };
    recovery = { reason: `the catalog file could not be read: ${messageOf(damage)}`, damagedFiles, restoredRows: 0 };
  } else if (rebuild) {
    recovery = { reason: 'the catalog file was missing', damagedFiles: [], restoredRows: 0 };
  }

  const base = rebuild ? fromSnapshot(journal.snapshotRows()) : opened.rows;
  const { rows, changes } = reconcile(base, journal.touched);
  const missing = rebuild ? base : emptyColumns();
  const toWrite: Changes = { ...changes, inserts: [...changes.inserts, ...zipColumns(missing)] };
  const changed = toWrite.inserts.length + toWrite.updates.length + toWrite.deletes.length;
  if (changed > 0) {
    await opened.store.commit(toWrite);
    recovery ??= {
      // Usually the batch that was in flight at a crash (journaled, not yet committed in
      // DuckDB, never acknowledged); after a lost or truncated WAL, acknowledged ones too.
      reason: 'the journal held batches the catalog file lacked (a batch in flight at a crash, or a lost WAL): rolled forward',
      damagedFiles: [],
      restoredRows: 0,
    };
    recovery = { ...recovery, restoredRows: changed };
  }

  let log: Journal;
  if (!journal.hasSnapshot || recovery !== undefined) {
    // The snapshot must be in the main file, not only in DuckDB's WAL: a later WAL loss
    // is then repaired from the batches recorded after it.
    await opened.store.checkpoint();
    log = Journal.create(journalPath, zipColumns(rows), journal.lastSeq);
  } else {
    log = Journal.open(journalPath, journal.validBytes, journal.batchBytes, journal.lastSeq);
  }
  return { store: opened.store, rows, journal: log, recovery };
}

/**
 * Applies the journal's later batches to `base`. Returns the resulting rows and the
 * changes that bring a store holding `base` up to them. Costs one Map over the names,
 * and nothing else when the store already agrees.
 */
function reconcile(base: Columns, touched: ReadonlyMap<string, readonly [string | null, number]>): { rows: Columns; changes: Changes } {
  const changes = { inserts: [] as Row[], updates: [] as Row[], deletes: [] as string[] };
  if (touched.size === 0) return { rows: base, changes };
  const position = new Map(base.names.map((name, i) => [name, i]));
  const removed = new Set<number>();
  const rows: Columns = { names: base.names, jsons: base.jsons, versions: base.versions };
  let copied = false;
  const writable = () => {
    if (!copied) {
      rows.names = [...rows.names];
      rows.jsons = [...rows.jsons];
      rows.versions = [...rows.versions];
      copied = true;
    }
  };
  for (const [name, [json, version]] of touched) {
    const at = position.get(name);
    if (json === null) {
      if (at === undefined) continue;
      removed.add(at);
      changes.deletes.push(name);
    } else if (at === undefined) {
      writable();
      rows.names.push(name);
      rows.jsons.push(json);
      rows.versions.push(version);
      changes.inserts.push([name, json, version]);
    } else if (rows.versions[at] !== version || !sameJson(rows.jsons[at]!, json)) {
      writable();
      rows.jsons[at] = json;
      rows.versions[at] = version;
      changes.updates.push([name, json, version]);
    }
  }
  if (removed.size > 0) {
    const keep = (_: unknown, i: number) => !removed.has(i);
    return { rows: { names: rows.names.filter(keep), jsons: rows.jsons.filter(keep), versions: rows.versions.filter(keep) }, changes };
  }
  return { rows, changes };
}

function fromSnapshot(snapshot: ReadonlyMap<string, readonly [string, number]>): Columns {
  const rows = emptyColumns();
  for (const [name, [json, version]] of snapshot) {
    rows.names.push(name);
    rows.jsons.push(json);
    rows.versions.push(version);
  }
  return rows;
}

async function loadOrClose(store: Store): Promise<Columns> {
  try {
    return await store.loadAll();
  } catch (error) {
    store.close();
    throw error;
  }
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
