/**
 * Entry of the store thread: the only code that touches the catalog's DuckDB file. It
 * brings the table up to date behind the journal thread (which acknowledges writes), in
 * transactions as large as the backlog, each recording the journal position it reaches.
 * It also writes the snapshots that let the journal be compacted, and serves other
 * processes on `<file>.sock`, handing each to the journal thread as a party.
 */
import { closeSync, existsSync, rmSync } from 'node:fs';
import { MessageChannel, workerData, type MessagePort, type TransferListItem } from 'node:worker_threads';
import { CatalogLockedError, CatalogStorageError } from '../shared/errors.js';
import type { Columns, JournalToStore, StoreThreadConfig, StoreToJournal } from '../shared/protocol.js';
import { Slot, WorkerState, createReplySlot, ringDoorbell } from '../shared/slots.js';
import { toWireError } from '../shared/wire-error.js';
import { isCheckpointBlocked } from '../shared/duckdb-messages.js';
import { ApplyQueue } from './applier.js';
import type { Row } from './batch-plan.js';
import { assertAccess, isPermissionCode } from './file-access.js';
import { InFlight } from './in-flight.js';
import { MarkWriter } from './journal-mark.js';
import { createExclusive, journalPaths, setAside, zeroFillInBackground } from './journal-files.js';
import { Serial } from './serial.js';
import { SnapshotWriter } from './snapshot-file.js';
import { SocketServer } from './socket-server.js';
import type { Store, StoreChanges } from './store.js';
import type { Database } from '@duckdb/node-bindings';
import { lockDatabase, messageOf, readPosition, unlockDatabase, type DuckdbPosition } from './duckdb-lock.js';
import { debug } from '../shared/debug-log.js';

const config = workerData as StoreThreadConfig;
const { path, slots } = config;
const inFlight = new InFlight(slots);
const serial = new Serial();
const queue = new ApplyQueue();
let store: Store | undefined;
let server: SocketServer | undefined;
let applyTimer: NodeJS.Timeout | NodeJS.Immediate | undefined;
let snapshotting: Promise<void> | undefined;
/** The snapshot's read of DuckDB while it runs: its transaction keeps DuckDB from checkpointing. */
let snapshotRead: Promise<number> | undefined;
let wantedSnapshot = 0;
let stopping = false;
/** The first open of DuckDB; stop() waits for it (see there). */
let opening: Promise<void> = Promise.resolve();
/** Applied seq whose position DuckDB has not recorded yet (small applies defer it). */
let unrecorded: number | undefined;
let positionTimer: NodeJS.Timeout | undefined;
/** The journal's high-water mark, raised each time DuckDB records a position (journal-mark.ts). */
const mark = config.markJournal ? new MarkWriter(path) : undefined;
let markFailed = false;

/** Small applies leave the position for later, written once things go quiet. */
const POSITION_DELAY_MS = 100;
/** An apply this large records its position in its own transaction: the statement is amortized. */
const INLINE_POSITION_ROWS = 64;
/**
 * Apply at once, without waiting out the window, when this many bytes are waiting. The
 * window batches small writes; big definitions make a transaction worth its cost long
 * before `applyAtRows` rows (small ones reach that first: 5,000 rows of 300 B are 1.5 MB) (5,000 rows of 8 KB took DuckDB 2 s, and with the 1 s window
 * before it the oldest row passed `maxLagMs`: every writer stopped). Applied promptly, the
 * oldest row's age stays near one apply's time.
 */
const APPLY_AT_BYTES = 16 * 1024 * 1024;

function toJournal(message: StoreToJournal, transfer?: TransferListItem[]): void {
  config.port.postMessage(message, transfer);
  ringDoorbell(slots);
}

function setState(state: WorkerState): void {
  Atomics.store(slots, Slot.STORE_STATE, state);
  ringDoorbell(slots);
}

process.on('exit', () => {
  if (Atomics.load(slots, Slot.STORE_STATE) !== WorkerState.CLOSED) setState(WorkerState.EXITED);
});
process.on('uncaughtException', (error) => void stop(WorkerState.FAILED, error));
process.on('unhandledRejection', (error) => void stop(WorkerState.FAILED, error));

/**
 * Closes DuckDB in order (in-flight calls first: tearing it down mid-call aborts the process) and ends the thread.
 * @param asked The journal thread asked for this close (the owner closed the catalog): connected processes are told so.
 */
async function stop(state: WorkerState, error?: unknown, discard = false, asked = false): Promise<void> {
  if (stopping) return;
  stopping = true;
  proceedNow();
  cancelTimers();
  if (error !== undefined) setState(WorkerState.FAILED);
  store?.interrupt();
  await inFlight.settled();
  // An open still in flight (process.exit during Catalog.open) must finish and close what
  // it opened before this thread says CLOSED: the exiting process terminates it then, and a
  // DuckDB instance left alive in a terminated thread crashed the process (SIGSEGV, seen in CI).
  await opening;
  await snapshotting?.catch(() => undefined);
  let closeError: unknown = error;
  try {
    server?.close(asked && error === undefined ? { kind: 'owner-closed' } : undefined);
    store?.close();
  } catch (failure) {
    closeError ??= failure;
  }
  store = undefined;
  if (discard) for (const file of [path, `${path}.wal`]) rmSync(file, { force: true });
  if (state === WorkerState.CLOSED) {
    toJournal(closeError === undefined ? { kind: 'closed' } : { kind: 'closed', error: toWireError(closeError) });
  }
  setState(state);
  clearInterval(watch);
  config.port.close();
}

// The journal thread may die or hang; the owner then raises STOP_STORE. Either way DuckDB
// is closed in order here, since nobody else will.
const watch: NodeJS.Timeout = setInterval(() => {
  const journalState = Atomics.load(slots, Slot.WORKER_STATE);
  if (Atomics.load(slots, Slot.STOP_STORE) !== 0 || journalState === WorkerState.FAILED || journalState === WorkerState.EXITED) {
    void stop(WorkerState.CLOSED);
  }
}, 50).unref();

const duckdbOptions = { readOnly: config.readOnly, threads: config.duckdbThreads };

/** This open created the DuckDB file (it did not exist before). */
let createdFile = false;

async function open(): Promise<void> {
  const created = path === ':memory:' || !existsSync(path);
  let opened: Locked;
  try {
    // Before DuckDB creates or opens anything: a permission problem is reported as one.
    assertAccess(path, config.readOnly);
    // Ours to remove on a refused open only once we hold it: a file another process made
    // and locked in the meantime is never touched.
    opened = await lockAndReadPosition(() => (createdFile = created && path !== ':memory:'));
  } catch (error) {
    toJournal({ kind: 'open-failed', error: toWireError(error), damaged: !(error instanceof CatalogLockedError) && !config.readOnly && !isPermissionError(error) });
    return;
  }
  await finishOpen(opened.database, opened.position, created, []);
}

interface Locked {
  readonly database: Database;
  readonly position: DuckdbPosition;
}

/** Takes DuckDB's lock on the file and reads its journal position; the lock is let go if the read fails. */
async function lockAndReadPosition(onLocked?: () => void): Promise<Locked> {
  const database = await inFlight.run(() => lockDatabase(path, duckdbOptions));
  onLocked?.();
  try {
    return { database, position: await inFlight.run(() => readPosition(database, path)) };
  } catch (error) {
    unlockDatabase(database);
    throw error;
  }
}

/**
 * Tells the journal thread DuckDB's position, which is all its open decides on (the owner's
 * open returns then), and only once it says `proceed` loads `@duckdb/node-api` and prepares
 * for writes: ~100 ms of CPU that would otherwise compete with the journal's read and the
 * owner's map on a small machine. It all runs inside `serial`, so every apply, replay or
 * read the journal thread sent meanwhile waits for it.
 */
async function finishOpen(database: Database, { appliedSeq, hasRows }: DuckdbPosition, created: boolean, damagedFiles: string[]): Promise<void> {
  if (stopping) {
    // Told to stop (process exit) while DuckDB was opening: close it, ask nothing more.
    unlockDatabase(database);
    return;
  }
  if (appliedSeq !== null) Atomics.store(slots, Slot.APPLIED_SEQ, appliedSeq);
  setState(WorkerState.RUNNING);
  // Served before 'opened', so that once Catalog.open returns other processes can connect.
  // A process that connects meanwhile waits: its 'client' message queues behind 'opened'.
  await serveProcesses();
  toJournal({ kind: 'opened', appliedSeq, hasRows, created, damagedFiles });
  await proceed;
  if (stopping) {
    // Stopped while waiting (process exit, a failed open): release the file, load nothing.
    unlockDatabase(database);
    return;
  }
  let api: typeof import('./store.js');
  try {
    if (config.apiLoadFault === 'throw') throw new Error('injected fault: @duckdb/node-api did not load');
    if (config.apiLoadFault === 'hang') {
      setInterval(() => undefined, 1_000);
      await new Promise(() => undefined);
    }
    api = await import('./store.js');
  } catch (error) {
    unlockDatabase(database);
    failLate(new CatalogStorageError(`could not load @duckdb/node-api: ${messageOf(error)}`, { cause: error }));
    return;
  }
  if (stopping) {
    unlockDatabase(database);
    return;
  }
  try {
    // The Store owns the handle from here, and closes it if it fails.
    store = await api.Store.open(path, duckdbOptions, inFlight, database);
    // An empty table reflects journal position 0: recorded now, so a crash before the first
    // recorded apply still leaves a position (a roll-forward, not a full reconcile).
    if (appliedSeq === null && !hasRows && !config.readOnly) await store.recordPosition(0);
  } catch (error) {
    failLate(error);
  }
}

/**
 * DuckDB failed after it told its position: the owner's open may have returned already, so
 * this fails the catalog, with this error (typed: ERR_CATALOG_STORAGE), on its next calls.
 * Writes acknowledged meanwhile are journaled; the next open rolls them forward.
 */
function failLate(error: unknown): void {
  toJournal({ kind: 'open-failed', error: toWireError(error), damaged: false });
  void stop(WorkerState.FAILED, error);
}

let proceedNow: () => void = () => undefined;
/** Settles on the journal thread's 'proceed' (see finishOpen); a close or stop settles it too. */
const proceed = new Promise<void>((resolve) => (proceedNow = resolve));

function isPermissionError(error: unknown): boolean {
  return isPermissionCode(error) || /permission denied|read-only file system|EACCES|EPERM|EROFS/i.test(messageOf(error));
}

async function commit(changes: StoreChanges, seq: number, rows: number, inlinePosition = rows >= INLINE_POSITION_ROWS): Promise<void> {
  const started = performance.now();
  await store!.commit(changes, inlinePosition ? seq : undefined);
  unrecorded = inlinePosition ? undefined : seq;
  if (inlinePosition) raiseMark(seq);
  Atomics.store(slots, Slot.APPLIED_SEQ, seq);
  toJournal({ kind: 'applied', seq, rows, ms: performance.now() - started });
  debug('DuckDB applied up to batch %d: %d rows, %d ms', seq, rows, Math.round(performance.now() - started));
  if (unrecorded !== undefined && positionTimer === undefined) {
    positionTimer = setTimeout(() => {
      positionTimer = undefined;
      void serial.run(recordPosition).catch(() => undefined);
    }, POSITION_DELAY_MS).unref();
  }
}

async function recordPosition(): Promise<void> {
  if (unrecorded === undefined || store === undefined) return;
  const seq = unrecorded;
  await store.recordPosition(seq);
  if (unrecorded === seq) unrecorded = undefined;
  raiseMark(seq);
}

/**
 * Raises the journal's mark to the position DuckDB just recorded, capped at the newest
 * acknowledged batch (with `commit: 'duckdb'` DuckDB commits a batch before the journal
 * holds it). Here, not on the journal thread: the fdatasync costs callers nothing, and the
 * mark never claims more than DuckDB holds, so it alone never makes a healthy file refused.
 * During open COMMITTED_SEQ is still 0: the journal thread marks what it rebuilds itself.
 */
function raiseMark(recorded: number): void {
  if (mark === undefined) return;
  try {
    mark.write(Math.min(recorded, Atomics.load(slots, Slot.COMMITTED_SEQ)));
  } catch (error) {
    // Losing the mark loses only the detection of a lost journal end, not any write.
    if (!markFailed) process.emitWarning(`duckcat: cannot write ${path}.journal.mark: ${messageOf(error)}`, { code: 'DUCKCAT_NO_JOURNAL_MARK' });
    markFailed = true;
  }
}

/** Applies every queued batch in one transaction. Runs inside {@link serial}. */
async function applyQueued(): Promise<void> {
  const taken = queue.takeAll();
  if (taken === undefined || store === undefined) return;
  try {
    await commit(taken.changes, taken.seq, taken.rows);
  } catch (error) {
    toJournal({ kind: 'apply-failed', seq: taken.seq, error: toWireError(error) });
  }
}

function scheduleApply(): void {
  if (stopping) return;
  const enough = queue.rows >= config.applyAtRows || (queue.bytes >= APPLY_AT_BYTES && config.applyAtRows < Number.MAX_SAFE_INTEGER);
  if (enough && applyTimer !== undefined) cancelApplyTimer();
  if (applyTimer !== undefined) return;
  const run = () => {
    applyTimer = undefined;
    void serial.run(applyQueued);
  };
  // setImmediate lets every batch that has already arrived join this transaction.
  applyTimer = config.applyWindowMs > 0 && !enough ? setTimeout(run, config.applyWindowMs) : setImmediate(run);
}

function cancelApplyTimer(): void {
  if (applyTimer !== undefined) {
    clearTimeout(applyTimer as NodeJS.Timeout);
    clearImmediate(applyTimer as NodeJS.Immediate);
  }
  applyTimer = undefined;
}

function cancelTimers(): void {
  cancelApplyTimer();
  clearTimeout(positionTimer);
  positionTimer = undefined;
}

async function reconcile(target: Columns, seq: number): Promise<void> {
  const current = await store!.loadAll();
  const stored = new Map<string, readonly [string, number]>();
  // A name with two rows (the table has no key; one edited by hand) is rewritten whole.
  const duplicated = new Set<string>();
  current.names.forEach((name, i) => {
    if (stored.has(name)) duplicated.add(name);
    stored.set(name, [current.jsons[i]!, current.versions[i]!]);
  });
  const versionsBefore = new Map<string, number>();
  const inserts: Row[] = [];
  const updates: Row[] = [];
  target.names.forEach((name, i) => {
    const json = target.jsons[i]!;
    const version = target.versions[i]!;
    const before = stored.get(name);
    stored.delete(name);
    if (before !== undefined) versionsBefore.set(name, before[1]);
    if (before === undefined) inserts.push([name, json, version]);
    else if (duplicated.has(name) || before[1] !== version || !sameJson(before[0], json)) updates.push([name, json, version]);
  });
  const deletes = [...stored.keys()];
  const storedVersions = new Map<string, number>();
  for (const name of deletes) storedVersions.set(name, stored.get(name)![1]);
  for (const [name] of updates) storedVersions.set(name, versionsBefore.get(name)!);
  await commit({ inserts, updates, deletes, storedVersions }, seq, inserts.length + updates.length + deletes.length, true);
  toJournal({ kind: 'reconciled', changed: inserts.length + updates.length + deletes.length });
}

// DuckDB's JSON type may normalise the text it stores; compare values, not bytes.
function sameJson(a: string, b: string): boolean {
  return a === b || JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
}

/**
 * CHECKPOINT, after the read of a running snapshot when DuckDB refuses it for that read's
 * transaction (the read needs no turn of {@link serial}, which the caller holds).
 */
async function checkpointBesideSnapshot(): Promise<void> {
  for (;;) {
    try {
      await store!.checkpoint();
      return;
    } catch (error) {
      const read = snapshotRead;
      if (read === undefined || !isCheckpointBlocked(messageOf(error))) throw error;
      await read.catch(() => undefined);
    }
  }
}

/** Writes `<file>.snapshot` from a consistent read of DuckDB, beside the applies. */
function snapshot(atLeast: number): void {
  wantedSnapshot = Math.max(wantedSnapshot, atLeast);
  if (snapshotting !== undefined) return;
  snapshotting = (async () => {
    while (wantedSnapshot > 0 && !stopping) {
      const wanted = wantedSnapshot;
      wantedSnapshot = 0;
      await serial.run(async () => {
        await applyQueued();
        await recordPosition();
      });
      let writer: SnapshotWriter | undefined;
      try {
        snapshotRead = store!.readConsistent(
          (position) => (writer = SnapshotWriter.begin(path, position, { background: true })),
          (names, jsons, versions) => names.forEach((name, i) => writer!.add(name, jsons[i]!, versions[i]!)),
        );
        const seq = await snapshotRead.finally(() => (snapshotRead = undefined));
        await writer!.finishInBackground();
        if (seq < wanted) throw new CatalogStorageError(`snapshot reached batch ${seq}, not ${wanted}`);
        toJournal({ kind: 'snapshotted', seq });
      } catch (error) {
        writer?.abandon();
        toJournal({ kind: 'snapshotted', seq: 0, error: toWireError(error) });
      }
    }
  })().finally(() => (snapshotting = undefined));
}

/**
 * Zero-fills the journal thread's next log here, off the callers' path, with its writes
 * and fsync on libuv threads: a log of tens of MB (a large catalog's compaction cycle)
 * must not hold the applies behind it.
 */
async function prepareLog(bytes: number): Promise<void> {
  let fd = -1;
  try {
    fd = createExclusive(journalPaths(path).nextLog);
    await zeroFillInBackground(fd, bytes);
    toJournal({ kind: 'log-prepared' });
  } catch (error) {
    toJournal({ kind: 'log-prepared', error: toWireError(error) });
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

async function rebuild(): Promise<void> {
  const damagedFiles = setAside([path, `${path}.wal`]);
  let opened: Locked;
  try {
    opened = await lockAndReadPosition();
  } catch (error) {
    toJournal({ kind: 'open-failed', error: toWireError(error), damaged: false });
    return;
  }
  await finishOpen(opened.database, opened.position, true, damagedFiles);
}

/** Serves `<file>.sock`: each connecting process becomes a party of the journal thread. */
async function serveProcesses(): Promise<void> {
  if (path === ':memory:' || config.readOnly || server !== undefined) return;
  try {
    const bridges = new Map<object, MessagePort>();
    server = await SocketServer.listen(
      `${path}.sock`,
      (remote, onRequest) => {
        const { port1, port2 } = new MessageChannel();
        bridges.set(remote, port1);
        port1.on('message', (message) => remote.send(message));
        onRequest((message) => {
          port1.postMessage(message);
          ringDoorbell(slots);
        });
        toJournal({ kind: 'client', port: port2, reply: createReplySlot() }, [port2]);
      },
      (remote) => {
        bridges.get(remote)?.close();
        bridges.delete(remote);
      },
    );
  } catch (error) {
    process.emitWarning(`duckcat: other processes cannot reach ${path}: ${messageOf(error)}`, { code: 'DUCKCAT_NO_SOCKET' });
  }
}

function onMessage(message: JournalToStore): void {
  switch (message.kind) {
    case 'proceed':
      proceedNow();
      return;
    case 'apply':
      queue.push(message.seq, message.rows);
      scheduleApply();
      return;
    case 'replay': {
      const upserts: Row[] = [];
      const deletes: string[] = [];
      for (const [name, json, version] of message.rows) {
        if (json === null) deletes.push(name);
        else upserts.push([name, json, version]);
      }
      void serial.run(() => commit({ inserts: [], updates: [], deletes, upserts }, message.seq, message.rows.length, true)).catch((error: unknown) => {
        toJournal({ kind: 'apply-failed', seq: message.seq, error: toWireError(error) });
      });
      return;
    }
    case 'reconcile':
      void serial.run(() => reconcile(message.rows, message.seq)).catch((error: unknown) => {
        toJournal({ kind: 'apply-failed', seq: message.seq, error: toWireError(error) });
      });
      return;
    case 'load':
      void serial.run(async () => {
        const rows = await store!.loadAll();
        const { appliedSeq } = await store!.position();
        toJournal({ kind: 'rows', rows, appliedSeq });
      });
      return;
    case 'read-rows':
      // Inside the serial queue no apply runs, so the rows are exactly those of APPLIED_SEQ.
      void serial.run(async () => {
        const rows = await store!.loadAll();
        toJournal({ kind: 'rows-now', rows, seq: Atomics.load(slots, Slot.APPLIED_SEQ) });
      }).catch((error: unknown) => void stop(WorkerState.FAILED, error));
      return;
    case 'rebuild':
      void serial.run(rebuild);
      return;
    case 'checkpoint':
      void serial.run(async () => {
        await applyQueued();
        try {
          await recordPosition();
          await checkpointBesideSnapshot();
          toJournal({ kind: 'checkpointed', id: message.id });
        } catch (error) {
          toJournal({ kind: 'checkpointed', id: message.id, error: toWireError(error) });
        }
      });
      return;
    case 'snapshot':
      snapshot(message.atLeast);
      return;
    case 'prepare-log':
      void prepareLog(message.bytes);
      return;
    case 'close':
      proceedNow();
      void serial
        .run(async () => {
          await applyQueued();
          await recordPosition();
        })
        .then(
          () => stop(WorkerState.CLOSED, undefined, message.discardCreated === true && createdFile, true),
          (error: unknown) => stop(WorkerState.CLOSED, error),
        );
      return;
  }
}

config.port.on('message', onMessage);
// Settles, never rejects (open reports its own failure): stop() waits for it.
opening = serial.run(open).catch(() => undefined);
