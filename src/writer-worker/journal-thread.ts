/**
 * Entry of the journal thread: the writer that acknowledges. It owns `<file>.journal`, and
 * every party (the owning Catalog, CatalogClient threads, processes on the socket) talks to
 * it over a MessagePort and wakes it through the DOORBELL slot. DuckDB lives in the store
 * thread beside it, brought up to date behind the journal.
 */
import { workerData } from 'node:worker_threads';
import type { JournalThreadConfig, RecoveryReport } from '../shared/protocol.js';
import { WorkerState } from '../shared/slots.js';
import { toWireError } from '../shared/wire-error.js';
import { Liveness } from '../shared/liveness.js';
import { openCatalog, toColumns, type OpenedCatalog } from './open-catalog.js';
import { Parties, PortParty } from './parties.js';
import { StoreLink } from './store-link.js';
import { Writer } from './writer.js';

const config = workerData as JournalThreadConfig;
const parties = new Parties<PortParty>();
const owner = new PortParty(config.port, config.reply, true);
const liveness = new Liveness(config.slots, () => {
  owner.wake();
  parties.wakeAll();
});
const store = new StoreLink(config.storePort, config.slots, () => liveness.beat());
let writer: Writer | undefined;
/** The owner has its 'ready': a failure from now on is its catalog's, not its open's. */
let greeted = false;

function fail(error: unknown): void {
  if (writer !== undefined) writer.die(error);
  liveness.set(WorkerState.FAILED);
  process.exit(1);
}
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

/**
 * Opens the catalog and greets the owner. A function of its own so that what open read
 * (every row's JSON text: the Writer keeps only versions) is garbage once it returns; a
 * local of this module's top level would live on in its frame, suspended at `run()`.
 */
function start(): Writer {
  // The owner's requests wait in its port until the Writer runs; its open may return before
  // (openCatalog's early answer), with DuckDB still loading in the store thread.
  const opened = openCatalog(config, store, (index, seq) => greet(index, seq, undefined));
  const started = new Writer(config, opened, store, liveness, parties);
  if (!greeted) greet(opened.index, opened.seq, opened.recovery);
  started.prepareNextLog();
  started.compactLeftovers();
  return started;
}

function greet(index: OpenedCatalog['index'], seq: number, recovery: RecoveryReport | undefined): void {
  parties.add(owner);
  liveness.committed(seq);
  owner.send({ kind: 'ready', seq, rows: toColumns(index), ...(recovery === undefined ? {} : { recovery }) });
  liveness.set(WorkerState.RUNNING);
  greeted = true;
}

try {
  writer = start();
} catch (error) {
  // DuckDB may be open: the store thread closes it before this thread reports the failure.
  store.send({ kind: 'close', upTo: 0, discardCreated: true });
  try {
    store.waitFor(['closed']);
  } catch {
    // it stopped on its own
  }
  if (greeted) {
    // Open returned already: the catalog fails with this error (a typed one), like a writer that died.
    owner.send({ kind: 'fatal', error: toWireError(error) });
    liveness.set(WorkerState.FAILED);
  } else {
    liveness.set(WorkerState.CLOSED);
    owner.send({ kind: 'open-failed', error: toWireError(error) });
  }
  owner.wake();
  owner.close();
  store.close();
}
await writer?.run();
