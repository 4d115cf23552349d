/**
 * Entry of the journal thread: the writer that acknowledges. It owns `<file>.journal`, and
 * every party (the owning Catalog, CatalogClient threads, processes on the socket) talks to
 * it over a MessagePort and wakes it through the DOORBELL slot. DuckDB lives in the store
 * thread beside it, brought up to date behind the journal.
 */
import { workerData } from 'node:worker_threads';
import type { JournalThreadConfig } from '../shared/protocol.js';
import { WorkerState } from '../shared/slots.js';
import { toWireError } from '../shared/wire-error.js';
import { Liveness } from '../shared/liveness.js';
import { openCatalog, toColumns } from './open-catalog.js';
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
  const opened = openCatalog(config, store);
  const started = new Writer(config, opened, store, liveness, parties);
  parties.add(owner);
  liveness.committed(opened.seq);
  owner.send({ kind: 'ready', seq: opened.seq, rows: toColumns(opened.index), ...(opened.recovery === undefined ? {} : { recovery: opened.recovery }) });
  liveness.set(WorkerState.RUNNING);
  // Only now may the store thread load DuckDB's API: the owner has its answer.
  store.proceed();
  started.prepareNextLog();
  started.compactLeftovers();
  return started;
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
  liveness.set(WorkerState.CLOSED);
  owner.send({ kind: 'open-failed', error: toWireError(error) });
  owner.wake();
  owner.close();
  store.close();
}
await writer?.run();
