/**
 * Entry of the writer worker: the only code that touches the catalog's DuckDB file.
 * It answers the main thread in batches: every write queued while a commit runs joins
 * the next commit (group commit).
 */
import { workerData } from 'node:worker_threads';
import { CatalogClosedError, CatalogStorageError, CatalogWriterExitedError } from '../shared/errors.js';
import type { MainToWorker, Reply, WorkerToMain, WriteRequest, WriterConfig } from '../shared/protocol.js';
import { WorkerState } from '../shared/slots.js';
import { zipColumns } from '../shared/protocol.js';
import { toWireError } from '../shared/wire-error.js';
import { planBatch, type VersionIndex } from './batch-plan.js';
import { Faults } from './faults.js';
import { InFlight } from './in-flight.js';
import type { Journal } from './journal.js';
import type { JournalRow } from './journal-format.js';
import { Liveness } from './liveness.js';
import { openCatalog } from './recovery.js';
import { messageOf, type Store } from './store.js';

const config = workerData as WriterConfig;
const { port, slots } = config;
const liveness = new Liveness(slots);
const inFlight = new InFlight(slots);
const faults = new Faults(config.faults);
const queue: MainToWorker[] = [];
const index: VersionIndex = new Map();
let store: Store | undefined;
let journal: Journal | undefined;
let draining = false;
let drainScheduled = false;
let shuttingDown = false;

function send(message: WorkerToMain): void {
  port.postMessage(message);
}

/** Dies cleanly on any uncaught error: tell main first, then close DuckDB, then exit. */
async function die(error: unknown): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  liveness.set(WorkerState.FAILED);
  send({ kind: 'fatal', error: toWireError(new CatalogWriterExitedError(`writer failed: ${messageOf(error)}`, { cause: error })) });
  liveness.wake();
  store?.interrupt();
  await inFlight.settled();
  try {
    journal?.close();
    store?.close();
  } finally {
    process.exit(1);
  }
}
process.on('uncaughtException', (error) => void die(error));
process.on('unhandledRejection', (error) => void die(error));

/**
 * Runs from setImmediate, never from the message handler itself: the port delivers every
 * message that has arrived before the check phase, so they all join one batch, and between
 * batches the loop turns (timers run, so the heartbeat keeps beating under load).
 */
function scheduleDrain(): void {
  if (drainScheduled || draining) return;
  drainScheduled = true;
  setImmediate(() => {
    drainScheduled = false;
    void drain();
  });
}

async function drain(): Promise<void> {
  draining = true;
  try {
    while (queue.length > 0 && !shuttingDown) {
      const first = queue[0]!;
      if (first.kind === 'write') {
        let end = 1;
        while (end < queue.length && queue[end]!.kind === 'write') end++;
        await writeBatch(queue.splice(0, end) as WriteRequest[]);
      } else {
        queue.shift();
        await control(first);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    draining = false;
  }
}

async function writeBatch(requests: WriteRequest[]): Promise<void> {
  const plan = planBatch(index, requests);
  let replies: Reply[] = plan.replies;
  try {
    await faults.maybeTrip('before-commit');
    if (store === undefined) throw new CatalogStorageError('the catalog store is not open');
    // Start DuckDB first: UPDATE and DELETE statements run on the libuv pool while the
    // journal is written and fdatasync'ed here (an insert-only batch has already been
    // flushed by the appender on this thread). The batch is acknowledged once both are durable.
    const committing = store.commit(plan);
    let journaled: number | undefined;
    try {
      journaled = appendToJournal(plan);
    } catch (error) {
      // Without its second copy the recovery promise is broken: fatal, not a batch error.
      await committing.catch(() => undefined);
      await die(error);
      return;
    }
    try {
      await committing;
    } catch (error) {
      if (journaled !== undefined) journal?.appendAbort(journaled);
      throw error;
    }
    plan.commitTo(index);
    faults.committed();
    await faults.maybeTrip('after-commit');
  } catch (error) {
    const wire = toWireError(error);
    replies = requests.map((request) => ({ kind: 'reply', id: request.id, ok: false, error: wire }));
  }
  for (const reply of replies) send(reply);
  liveness.wake();
  if (journal?.needsCompaction) await compactJournal();
}

/** Journals the batch's net effect and returns its sequence number; undefined when nothing changes. */
function appendToJournal(plan: ReturnType<typeof planBatch>): number | undefined {
  if (journal === undefined) return undefined;
  const rows: JournalRow[] = [...plan.inserts, ...plan.updates];
  for (const name of plan.deletes) rows.push([name, null, 0]);
  if (rows.length === 0) return undefined;
  return journal.appendBatch(rows);
}

async function compactJournal(): Promise<void> {
  if (store === undefined || journal === undefined) return;
  await store.checkpoint();
  journal.compact(zipColumns(await store.loadAll()));
}

async function control(request: Exclude<MainToWorker, WriteRequest>): Promise<void> {
  try {
    if (request.kind === 'checkpoint') {
      await store?.checkpoint();
    } else {
      shuttingDown = true;
      for (const pending of queue.splice(0)) {
        send({ kind: 'reply', id: pending.id, ok: false, error: toWireError(new CatalogClosedError()) });
      }
      journal?.close();
      store?.close();
      store = undefined;
    }
    send({ kind: 'reply', id: request.id, ok: true, version: 0 });
  } catch (error) {
    send({ kind: 'reply', id: request.id, ok: false, error: toWireError(error) });
  }
  if (request.kind === 'close') {
    liveness.set(WorkerState.CLOSED);
    liveness.stop();
    port.close();
  } else {
    liveness.wake();
  }
}

async function start(): Promise<void> {
  try {
    const opened = await openCatalog(config.path, { readOnly: config.readOnly, journal: config.journal, threads: config.duckdbThreads }, inFlight);
    ({ store, journal } = opened);
    const { names, versions } = opened.rows;
    for (let i = 0; i < names.length; i++) index.set(names[i]!, versions[i]!);
    liveness.set(WorkerState.RUNNING);
    send({ kind: 'ready', rows: opened.rows, ...(opened.recovery === undefined ? {} : { recovery: opened.recovery }) });
  } catch (error) {
    send({ kind: 'open-failed', error: toWireError(error) });
    liveness.stop();
    liveness.set(WorkerState.CLOSED);
    port.close();
    return;
  }
  port.on('message', (message: MainToWorker) => {
    queue.push(message);
    scheduleDrain();
  });
  liveness.wake();
}

void start();
