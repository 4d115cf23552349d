/**
 * Entry of the writer worker: the only code that touches the catalog's DuckDB file.
 * It answers every party (the owning Catalog and any CatalogClient) in batches: every
 * write queued while a commit runs joins the next commit (group commit), and the net
 * effect of each batch goes to every party as a change stream.
 */
import { workerData } from 'node:worker_threads';
import { CatalogClosedError, CatalogInvalidError, CatalogStorageError, CatalogWriterExitedError } from '../shared/errors.js';
import type { MainToWorker, Reply, RequestBundle, SubscribeRequest, WriteRequest, WriterConfig } from '../shared/protocol.js';
import { zipColumns, type Columns } from '../shared/protocol.js';
import { WorkerState } from '../shared/slots.js';
import { toWireError } from '../shared/wire-error.js';
import { planBatch, type VersionIndex } from './batch-plan.js';
import { Faults } from './faults.js';
import { InFlight } from './in-flight.js';
import type { Journal } from './journal.js';
import type { JournalRow } from './journal-format.js';
import { Liveness } from './liveness.js';
import { Parties, portParty, type Party } from './parties.js';
import { SocketServer } from './socket-server.js';
import { StatsRecorder } from './writer-stats.js';
import { openCatalog } from './recovery.js';
import { messageOf, type Store } from './store.js';

interface Queued {
  readonly party: Party;
  readonly message: MainToWorker;
}

const config = workerData as WriterConfig;
const parties = new Parties();
const owner: Party = portParty(
  config.port,
  config.reply,
  (message) => enqueue(owner, message as MainToWorker | RequestBundle),
  () => undefined,
);
const liveness = new Liveness(config.slots, () => {
  owner.wake();
  parties.wakeAll();
});
const inFlight = new InFlight(config.slots);
const faults = new Faults(config.faults);
const stats = new StatsRecorder();
const queue: Queued[] = [];
const index: VersionIndex = new Map();
let store: Store | undefined;
let journal: Journal | undefined;
let server: SocketServer | undefined;
let seq = 0;
let draining = false;
let drainScheduled = false;
let shuttingDown = false;

/** Dies cleanly on any uncaught error: tell every party first, then close DuckDB, then exit. */
async function die(error: unknown): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  parties.broadcast({ kind: 'fatal', error: toWireError(new CatalogWriterExitedError(`writer failed: ${messageOf(error)}`, { cause: error })) });
  liveness.set(WorkerState.FAILED);
  store?.interrupt();
  await inFlight.settled();
  try {
    server?.close();
    journal?.close();
    store?.close();
  } finally {
    process.exit(1);
  }
}
process.on('uncaughtException', (error) => void die(error));
process.on('unhandledRejection', (error) => void die(error));

function enqueue(party: Party, message: MainToWorker | RequestBundle): void {
  if (message.kind === 'bundle') for (const request of message.requests) queue.push({ party, message: request });
  else queue.push({ party, message });
  scheduleDrain();
}

/**
 * Runs from setImmediate, never from the message handler itself: the ports deliver every
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
      let end = 0;
      while (end < queue.length && queue[end]!.message.kind === 'write') end++;
      if (end > 0) await writeBatch(queue.splice(0, end));
      else await control(queue.shift()!);
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    draining = false;
  }
}

async function writeBatch(batch: Queued[]): Promise<void> {
  const requests = batch.map((queued) => queued.message as WriteRequest);
  const plan = planBatch(index, requests);
  let replies: Reply[] = plan.replies;
  let committed = false;
  const started = performance.now();
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
    committed = true;
    faults.committed();
    await faults.maybeTrip('after-commit');
  } catch (error) {
    if (!committed && batch.length > 1 && error instanceof CatalogStorageError && store !== undefined) {
      // One op's row failed DuckDB's checks and rolled the whole batch back: give every op
      // its own commit, so the others still land and each gets its own answer.
      stats.recordBatch(requests.length, 0, false, performance.now() - started);
      for (const one of batch) await writeBatch([one]);
      return;
    }
    const wire = toWireError(error);
    if (!committed) replies = requests.map((request) => ({ kind: 'reply', id: request.id, ok: false, error: wire }));
  }
  stats.recordBatch(requests.length, plan.replies.filter((reply) => !reply.ok).length, committed, performance.now() - started);
  if (committed && plan.changes.names.length > 0) {
    seq++;
    parties.broadcast({ kind: 'changes', seq, ...plan.changes });
    liveness.committed(seq);
  }
  // One message per party: after the changes above (and the COMMITTED_SEQ store), so no
  // thread can see its reply before every thread can find the changes.
  const byParty = new Map<Party, Reply[]>();
  batch.forEach(({ party }, i) => {
    const list = byParty.get(party);
    if (list === undefined) byParty.set(party, [replies[i]!]);
    else list.push(replies[i]!);
  });
  for (const [party, list] of byParty) {
    party.send({ kind: 'replies', replies: list });
    party.wake();
  }
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


async function control({ party, message }: Queued): Promise<void> {
  try {
    if (message.kind === 'stats') {
      party.send({ kind: 'reply', id: message.id, ok: true, version: 0, stats: stats.snapshot(queue.length, parties.size) });
      party.wake();
      return;
    }
    if (message.kind === 'checkpoint') {
      await store?.checkpoint();
    } else if (message.kind === 'subscribe') {
      subscribe(message);
    } else if (message.kind === 'close') {
      await closeStore();
    }
    party.send({ kind: 'reply', id: message.id, ok: true, version: 0 });
  } catch (error) {
    party.send({ kind: 'reply', id: message.id, ok: false, error: toWireError(error) });
  }
  party.wake();
  if (message.kind === 'close') {
    liveness.set(WorkerState.CLOSED);
    liveness.stop();
    parties.closeAll();
  }
}

/** A new client thread gets every row as of the last batch, then every later batch's changes. */
function subscribe(request: SubscribeRequest): void {
  const client: Party = portParty(
    request.port,
    request.reply,
    (message) => acceptFromClient(client, message),
    () => parties.delete(client),
  );
  welcome(client);
}

function welcome(party: Party): void {
  const rows: Columns = { names: [], jsons: [], versions: [] };
  for (const [name, stored] of index) {
    rows.names.push(name);
    rows.jsons.push(stored.json);
    rows.versions.push(stored.version);
  }
  parties.add(party);
  party.send({ kind: 'hello', seq, rows });
  party.wake();
}

/** Serves other processes on `<file>.sock`; the catalog works without it if that fails. */
async function serveProcesses(): Promise<void> {
  if (config.path === ':memory:' || config.readOnly) return;
  try {
    server = await SocketServer.listen(
      `${config.path}.sock`,
      (remote, onRequest) => {
        onRequest((message) => acceptFromClient(remote, message));
        welcome(remote);
      },
      (remote) => parties.delete(remote),
    );
  } catch (error) {
    process.emitWarning(`duckcat: other processes cannot reach ${config.path}: ${messageOf(error)}`, { code: 'DUCKCAT_NO_SOCKET' });
  }
}

// Clients may write, checkpoint and ask for stats; closing the catalog and adding
// parties is the owner's alone.
function acceptFromClient(client: Party, message: unknown): void {
  const incoming = message as MainToWorker | RequestBundle;
  if (incoming.kind === 'bundle') {
    for (const request of incoming.requests) acceptFromClient(client, request);
    return;
  }
  const request = incoming;
  if (request.kind === 'write' || request.kind === 'checkpoint' || request.kind === 'stats') {
    enqueue(client, request);
    return;
  }
  client.send({ kind: 'reply', id: request.id, ok: false, error: toWireError(new CatalogInvalidError('request', `${String(request.kind)} is for the owner only`)) });
  client.wake();
}

async function closeStore(): Promise<void> {
  shuttingDown = true;
  for (const { party, message } of queue.splice(0)) {
    party.send({ kind: 'reply', id: message.id, ok: false, error: toWireError(new CatalogClosedError()) });
  }
  server?.close();
  journal?.close();
  store?.close();
  store = undefined;
}

async function start(): Promise<void> {
  try {
    const opened = await openCatalog(config.path, { readOnly: config.readOnly, journal: config.journal, threads: config.duckdbThreads }, inFlight);
    ({ store, journal } = opened);
    const { names, jsons, versions } = opened.rows;
    for (let i = 0; i < names.length; i++) index.set(names[i]!, { json: jsons[i]!, version: versions[i]! });
    await serveProcesses();
    parties.add(owner);
    owner.send({ kind: 'ready', rows: opened.rows, ...(opened.recovery === undefined ? {} : { recovery: opened.recovery }) });
    liveness.set(WorkerState.RUNNING);
  } catch (error) {
    owner.send({ kind: 'open-failed', error: toWireError(error) });
    liveness.stop();
    liveness.set(WorkerState.CLOSED);
    owner.close();
  }
}

void start();
