import { rmSync } from 'node:fs';
import { CatalogCorruptError } from '../shared/errors.js';
import { emptyColumns, type Columns, type JournalThreadConfig, type RecoveryReport, type StoreToJournal } from '../shared/protocol.js';
import { Slot } from '../shared/slots.js';
import { fromWireError } from '../shared/wire-error.js';
import type { Stored, VersionIndex } from './batch-plan.js';
import type { JournalRow } from './journal-format.js';
import { assertAccess } from './file-access.js';
import { existingJournalFiles, setAside, syncDirectory } from './journal-files.js';
import { dirname } from 'node:path';
import { isClean, readJournalHistory, type BatchRecord, type JournalHistory } from './journal-history.js';
import { JournalLog, logBytes } from './journal-log.js';
import { MarkWriter } from './journal-mark.js';
import { SnapshotWriter } from './snapshot-file.js';
import type { StoreLink } from './store-link.js';
import { debug } from '../shared/debug-log.js';

export interface OpenedCatalog {
  /** The catalog: what every acknowledged write left. */
  readonly index: VersionIndex;
  /** Newest batch seq (journaled, or applied when DuckDB is ahead of a lost journal). */
  readonly seq: number;
  /** What DuckDB holds (its recorded journal position). */
  readonly appliedSeq: number;
  /** The seq DuckDB reaches once the roll-forward sent at open is applied (undefined: none sent). */
  readonly rollingForwardTo?: number;
  readonly log: JournalLog | undefined;
  readonly recovery: RecoveryReport | undefined;
}

type Opened = Extract<StoreToJournal, { kind: 'opened' }>;

/**
 * Makes the journal and DuckDB agree, then says what the catalog holds. The journal is the
 * truth for every batch it can read; DuckDB records, in the same transaction as its rows,
 * the journal position it reflects. So:
 * - journal intact, DuckDB at or behind its newest batch → the journal's state; DuckDB
 *   gets the batches it lacks (rolled forward, or reconciled when it lost more than the log holds);
 * - DuckDB ahead of the journal, or the journal damaged only where DuckDB already holds the
 *   batches → DuckDB's rows plus the journal's later batches; the journal is rewritten from
 *   them and the damaged one kept aside;
 * - otherwise acknowledged writes are unreadable: ERR_CATALOG_CORRUPT, nothing changed.
 * The journal is never rewritten before DuckDB provably holds what it replaces.
 */
export function openCatalog(config: JournalThreadConfig, store: StoreLink): OpenedCatalog {
  const persistent = config.path !== ':memory:';
  // A file this process may not touch is refused before anything is read, changed or set aside.
  assertAccess(config.path, config.readOnly);
  const history = persistent ? readJournalHistory(config.path) : undefined;
  let opened = awaitOpen(store);
  if (opened.kind === 'open-failed') {
    // A file DuckDB cannot open is rebuilt from a clean journal; with acceptDataLoss, from
    // whatever the journal still gives (fromStore then decides what that is).
    if (!opened.damaged || history === undefined || !(isClean(history) || (config.acceptDataLoss && history.exists))) throw fromWireError(opened.error, config.path);
    store.send({ kind: 'rebuild' });
    opened = awaitOpen(store);
    if (opened.kind === 'open-failed') throw fromWireError(opened.error, config.path);
  }
  // An empty table that records no position holds nothing a journal batch could be missing.
  if (opened.appliedSeq === null && !opened.hasRows) opened = { ...opened, appliedSeq: 0 };
  if (history === undefined) return fromStore(config, store, undefined, opened);
  const path = decide(history, opened);
  debug('open %s: journal %s (base %s, last batch %d, damage %j), DuckDB at %s%s → from the %s', config.path, history.exists ? 'present' : 'absent', history.base, history.lastSeq, history.damage, opened.appliedSeq, opened.created ? ' (file created)' : '', path);
  const result = path === 'journal' ? fromJournal(config, store, history, opened) : fromStore(config, store, history, opened);
  if (!config.journal && !config.readOnly) {
    // The journal would go stale: once DuckDB holds everything it has, remove it.
    const target = result.rollingForwardTo;
    store.proceed();
    if (target !== undefined) store.waitWhile(() => Atomics.load(config.slots, Slot.APPLIED_SEQ) < target);
    for (const file of existingJournalFiles(config.path)) rmSync(file, { force: true });
  }
  return result;
}

function awaitOpen(store: StoreLink): Extract<StoreToJournal, { kind: 'opened' | 'open-failed' }> {
  return store.waitFor(['opened', 'open-failed']);
}

function decide(history: JournalHistory, opened: Opened): 'journal' | 'store' {
  const applied = opened.appliedSeq;
  if (!isClean(history)) return 'store';
  if (applied !== null && applied > history.lastSeq) return 'store';
  // Rows the journal knows nothing of (written before it existed, or with journal: false).
  if (opened.hasRows && history.lastSeq === 0 && history.state.size === 0) return 'store';
  return 'journal';
}

function fromJournal(config: JournalThreadConfig, store: StoreLink, history: JournalHistory, opened: Opened): OpenedCatalog {
  const applied = opened.appliedSeq;
  const base = history.base ?? 0;
  let recovery: RecoveryReport | undefined;
  let rollingForwardTo: number | undefined;
  const writable = !config.readOnly;
  // A batch DuckDB refused after the position it recorded may still be in its WAL: only a
  // full comparison makes the table equal the journal then.
  if (applied !== null && applied >= base && history.lastAborted <= applied) {
    const rows = netRows(history.batches.filter((batch) => batch.seq > applied));
    if (rows.length > 0 && writable) {
      store.send({ kind: 'replay', seq: history.lastSeq, rows });
      rollingForwardTo = history.lastSeq;
    }
    if (rows.length > 0 && opened.created) {
      recovery = { kind: 'file-missing', reason: 'the catalog file was missing: rebuilt it from the journal', damagedFiles: opened.damagedFiles, restoredRows: rows.length };
      if (opened.damagedFiles.length > 0) recovery = { ...recovery, kind: 'file-damaged', reason: 'the catalog file could not be read: rebuilt it from the journal' };
    } else if (rows.length > 0) {
      recovery = { kind: 'rolled-forward', reason: 'DuckDB had not recorded the newest journaled batches yet (normal after a crash): rolled them forward', damagedFiles: [], restoredRows: rows.length };
    }
  } else if (writable) {
    const columns = toColumns(history.state);
    // These waits need DuckDB ready for writes, not only its position (see StoreLink.proceed).
    store.proceed();
    store.send({ kind: 'reconcile', seq: history.lastSeq, rows: columns });
    const reconciled = store.waitFor(['reconciled', 'apply-failed']);
    if (reconciled.kind === 'apply-failed') throw fromWireError(reconciled.error, config.path);
    recovery = reconcileReport(opened, reconciled.changed);
  }
  if (writable) dropCoveredSegments(config.path, history);
  const log = !config.journal || config.readOnly ? undefined : history.log.exists ? JournalLog.open(config.path, history.log.validBytes, history.lastSeq, config.slots) : JournalLog.create(config.path, history.lastSeq, logBytes(config.compactAfterBytes), config.slots);
  return {
    index: history.state,
    seq: history.lastSeq,
    appliedSeq: applied ?? 0,
    log,
    recovery: recovery?.restoredRows === 0 && recovery.kind !== 'file-damaged' ? undefined : recovery,
    ...(rollingForwardTo === undefined ? {} : { rollingForwardTo }),
  };
}

function reconcileReport(opened: Opened, changed: number): RecoveryReport {
  if (opened.damagedFiles.length > 0) {
    return { kind: 'file-damaged', reason: 'the catalog file could not be read: rebuilt it from the journal', damagedFiles: opened.damagedFiles, restoredRows: changed };
  }
  if (opened.created) return { kind: 'file-missing', reason: 'the catalog file was missing: rebuilt it from the journal', damagedFiles: [], restoredRows: changed };
  return { kind: 'file-behind', reason: 'the catalog file lacked batches the journal held (a lost or truncated WAL): restored them', damagedFiles: [], restoredRows: changed };
}

function fromStore(config: JournalThreadConfig, store: StoreLink, history: JournalHistory | undefined, opened: Opened): OpenedCatalog {
  const damagedStore = opened.damagedFiles;
  // A file with no rows (new, or emptied) has nothing to load: no need to wait for DuckDB's API.
  const loaded = opened.hasRows ? loadRows(store) : { rows: emptyColumns(), appliedSeq: opened.appliedSeq };
  const applied = loaded.appliedSeq ?? 0;
  const index: VersionIndex = new Map();
  loaded.rows.names.forEach((name, i) => index.set(name, { json: loaded.rows.jsons[i]!, version: loaded.rows.versions[i]! }));
  // A version is the seq of the batch that wrote it, and DuckDB records its position a moment
  // after a small commit: after a crash its rows can carry seqs past that position. The next
  // batch must still get a seq no row ever had, or a version would repeat (ifVersion's ABA).
  const written = Math.max(applied, highestVersion(index));
  if (history === undefined) return { index, seq: written, appliedSeq: applied, log: undefined, recovery: undefined };

  const missing = history.highestMissing;
  // DuckDB older than the journal's snapshot (its file lost or behind): the snapshot's rows
  // are acknowledged writes DuckDB lacks, and this path builds on DuckDB's rows alone.
  // An unreadable snapshot covered batches nobody can name: DuckDB must hold some, or they are lost.
  const behindSnapshot = (history.base !== undefined && applied < history.base) || (history.snapshotDamaged && applied === 0);
  if (history.exists && (missing > applied || behindSnapshot || history.base === undefined && history.batches.length > 0 && history.batches[0]!.seq > applied + 1)) {
    const what =
      `acknowledged writes of ${config.path} are unreadable: the journal lacks batches up to ${behindSnapshot ? (history.base ?? 'its unreadable snapshot') : missing} and DuckDB holds only up to ${applied}` +
      (history.damage.length > 0 ? ` (${history.damage.join('; ')})` : '');
    if (config.acceptDataLoss) return acceptDataLoss(config, store, history, { index, applied }, what, damagedStore);
    throw new CatalogCorruptError(`${what}. Nothing was changed; keep a copy of the files, then open with { acceptDataLoss: true } to open the newest readable state (the damaged files are kept aside)`);
  }
  const later = history.batches.filter((batch) => batch.seq > applied);
  for (const batch of later) applyBatch(index, batch);
  const seq = Math.max(written, history.lastSeq);
  if (config.readOnly) return { index, seq, appliedSeq: applied, log: undefined, recovery: undefined };
  if (later.length > 0) {
    // DuckDB must hold every batch before the journal that alone has some is set aside.
    store.proceed();
    store.send({ kind: 'replay', seq, rows: netRows(later) });
    const replayed = store.waitFor(['applied', 'apply-failed'], (message) => message.seq === seq);
    if (replayed.kind === 'apply-failed') throw fromWireError(replayed.error, config.path);
  }
  let recovery: RecoveryReport | undefined;
  let log: JournalLog | undefined;
  if (config.journal) {
    const damagedFiles = history.exists ? setAside(history.files) : [];
    writeSnapshot(config.path, seq, index);
    log = JournalLog.create(config.path, seq, logBytes(config.compactAfterBytes), config.slots);
    // The old mark went aside with the journal: the new journal reaches `seq` (at least the old mark).
    new MarkWriter(config.path).write(seq);
    if (history.exists) {
      recovery = {
        kind: 'journal-damaged',
        reason: `the journal was damaged or behind the catalog file (${history.damage.join('; ') || `it ends at batch ${history.lastSeq}, DuckDB holds ${applied}`}): rebuilt it from the file`,
        damagedFiles,
        restoredRows: index.size,
      };
    }
  }
  return { index, seq, appliedSeq: later.length > 0 ? seq : applied, log, recovery };
}

/** Every row DuckDB holds, and the position they reflect (waits for DuckDB's API to load). */
function loadRows(store: StoreLink): { rows: Columns; appliedSeq: number | null } {
  store.proceed();
  store.send({ kind: 'load' });
  return store.waitFor(['rows']);
}

/**
 * `acceptDataLoss`: acknowledged writes are unreadable, and the caller chose to open anyway.
 * Opens the newest consistent state the readable files give — the journal's base and its
 * unbroken run of batches, or DuckDB's rows and the unbroken run of batches after its
 * position, whichever reaches further — makes DuckDB equal it, keeps every journal file
 * aside (renamed, never deleted) and starts a fresh journal. Seqs never go backwards: the
 * fresh journal continues past everything ever journaled, so the old mark stays true.
 */
function acceptDataLoss(config: JournalThreadConfig, store: StoreLink, history: JournalHistory, duckdb: { index: VersionIndex; applied: number }, what: string, damagedStore: readonly string[]): OpenedCatalog {
  const fromFile = { seq: duckdb.applied, index: duckdb.index };
  for (const batch of history.batches) {
    if (batch.seq <= fromFile.seq) continue;
    if (batch.seq !== fromFile.seq + 1) break;
    applyBatch(fromFile.index, batch);
    fromFile.seq = batch.seq;
  }
  const readable = history.readable;
  const useJournal = readable !== undefined && readable.seq > fromFile.seq;
  const chosen = useJournal ? { seq: readable.seq, index: new Map(readable.state) } : fromFile;
  const newest = Math.max(history.lastSeq, history.highestMissing, history.mark ?? 0, duckdb.applied, highestVersion(duckdb.index));
  const seq = Math.max(chosen.seq, newest);
  const reason =
    `acknowledged writes were unreadable (${what}); acceptDataLoss opened the catalog as of batch ${chosen.seq}, from ${useJournal ? 'the journal' : 'the catalog file and the journal'}: ` +
    `the writes of ${newest > chosen.seq ? `batches ${chosen.seq + 1}–${newest}` : 'the unreadable batches'} are lost`;
  if (config.readOnly) {
    return { index: chosen.index, seq: chosen.seq, appliedSeq: duckdb.applied, log: undefined, recovery: { kind: 'data-lost', reason, damagedFiles: [], restoredRows: 0 } };
  }
  store.proceed();
  store.send({ kind: 'reconcile', seq, rows: toColumns(chosen.index) });
  const reconciled = store.waitFor(['reconciled', 'apply-failed']);
  if (reconciled.kind === 'apply-failed') throw fromWireError(reconciled.error, config.path);
  // DuckDB holds the chosen state now: only then does the journal go aside.
  const damagedFiles = [...damagedStore, ...setAside(history.files)];
  let log: JournalLog | undefined;
  if (config.journal) {
    writeSnapshot(config.path, seq, chosen.index);
    log = JournalLog.create(config.path, seq, logBytes(config.compactAfterBytes), config.slots);
    new MarkWriter(config.path).write(seq);
  }
  return { index: chosen.index, seq, appliedSeq: seq, log, recovery: { kind: 'data-lost', reason, damagedFiles, restoredRows: reconciled.changed } };
}

/** Sealed logs the snapshot already covers (a crash or a close came before they were removed). */
function dropCoveredSegments(path: string, history: JournalHistory): void {
  const covered = history.segments.filter((segment) => history.base !== undefined && segment.lastSeq <= history.base);
  for (const segment of covered) rmSync(segment.file, { force: true });
  if (covered.length > 0) syncDirectory(dirname(path));
}

/** The highest version of any row: no later batch may get a seq at or below it. */
function highestVersion(index: VersionIndex): number {
  let highest = 0;
  for (const { version } of index.values()) if (version > highest) highest = version;
  return highest;
}

function applyBatch(index: VersionIndex, batch: BatchRecord): void {
  for (const [name, json, version] of batch.rows) {
    if (json === null) index.delete(name);
    else index.set(name, { json, version });
  }
}

/** Each name's final state across `batches`. */
function netRows(batches: readonly BatchRecord[]): JournalRow[] {
  const net = new Map<string, JournalRow>();
  for (const batch of batches) for (const row of batch.rows) net.set(row[0], row);
  return [...net.values()];
}

function writeSnapshot(path: string, seq: number, index: ReadonlyMap<string, Stored>): void {
  const writer = SnapshotWriter.begin(path, seq);
  for (const [name, { json, version }] of index) writer.add(name, json, version);
  writer.finish();
}

export function toColumns(index: ReadonlyMap<string, Stored>): { names: string[]; jsons: string[]; versions: number[] } {
  const names: string[] = [];
  const jsons: string[] = [];
  const versions: number[] = [];
  for (const [name, { json, version }] of index) {
    names.push(name);
    jsons.push(json);
    versions.push(version);
  }
  return { names, jsons, versions };
}
