/**
 * Entry of the PostgreSQL writer thread: the writer of a catalog opened on a `postgres://`
 * URL. It speaks the journal thread's port protocol (so the owning Catalog, CatalogClient
 * threads, sync() and change events work unchanged) but keeps its event loop free for its
 * two connections: requests arrive as port events, never after an Atomics.wait, and a
 * timer keeps the heartbeat going for the callers' liveness checks.
 */
import type { Client } from 'pg';
import { workerData } from 'node:worker_threads';
import { CatalogWriterExitedError } from '../shared/errors.js';
import { Liveness } from '../shared/liveness.js';
import type { PgThreadConfig } from '../shared/pg-thread-config.js';
import { HEARTBEAT_INTERVAL_MS, WorkerState } from '../shared/slots.js';
import { toWireError } from '../shared/wire-error.js';
import { debug } from '../shared/debug-log.js';
import { EventParty } from './event-party.js';
import { Parties } from './parties.js';
import { connectClient, destroyClient, loadPg, storageError } from './pg-connect.js';
import { ChangeFeed } from './pg-feed.js';
import { Replica } from './pg-replica.js';
import { PgSql } from './pg-schema.js';
import { PgWriter } from './pg-writer.js';

const config = workerData as PgThreadConfig;
const parties = new Parties<EventParty>();
const liveness = new Liveness(config.slots, () => parties.wakeAll());
const heartbeat = setInterval(() => liveness.beat(), HEARTBEAT_INTERVAL_MS / 2);
let writer: PgWriter | undefined;
let pending: Array<[EventParty, unknown]> | undefined = [];
const owner = new EventParty(
  config.port,
  config.reply,
  true,
  (party, message) => (writer === undefined ? pending?.push([party, message]) : writer.accept(party, message)),
  () => undefined,
);

function fail(error: unknown): void {
  const wire = toWireError(new CatalogWriterExitedError(`writer failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
  writer?.failQueued(new CatalogWriterExitedError(wire.message));
  parties.broadcast({ kind: 'fatal', error: wire });
  if (!parties.has(owner)) owner.send({ kind: 'fatal', error: wire });
  liveness.set(WorkerState.FAILED);
  process.exit(1);
}
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

/**
 * Connects, creates the tables if needed (not read-only), reads every row and the counter
 * from one snapshot, and starts the change feed from there. Each step is bounded by
 * `openTimeoutMs` through the connection timeout and the caller's own deadline.
 */
async function start(): Promise<void> {
  const pg = await loadPg();
  const sql = new PgSql(config.settings.schema);
  // Report before the owner's own openTimeoutMs runs out, so open fails with what went
  // wrong (ERR_CATALOG_STORAGE and the pg error), not with a bare timeout.
  const budgetMs = Math.max(1, config.openTimeoutMs - Math.min(1_000, Math.max(100, Math.floor(config.openTimeoutMs / 10))));
  const deadline = performance.now() + budgetMs;
  let client: Client | undefined;
  try {
    client = await connectClient(pg, config.settings, budgetMs, (error) => debug('pg connection error during open: %s', error.message));
  } catch (error) {
    throw storageError(`cannot connect to PostgreSQL at ${config.displayUrl}`, error);
  }
  let feed: ChangeFeed | undefined;
  const opened = client;
  const late = setTimeout(() => {
    destroyClient(opened);
    void feed?.close();
  }, Math.max(0, deadline - performance.now()));
  try {
    if (!config.readOnly) await sql.create(client);
    const snapshot = await sql.snapshot(client);
    const replica = new Replica(parties, liveness);
    replica.load(snapshot.rows, snapshot.seq);
    feed = new ChangeFeed(pg, config.settings, sql, replica, Math.max(1, Math.min(deadline - performance.now(), config.timeoutMs)));
    await feed.start();
    if (performance.now() >= deadline) throw new Error(`PostgreSQL did not answer within ${budgetMs} ms`);
    clearTimeout(late);
    writer = new PgWriter(config, pg, sql, replica, feed, parties, liveness, client, () => clearInterval(heartbeat));
    parties.add(owner);
    owner.send({ kind: 'ready', seq: replica.seq, rows: replica.columns() });
    liveness.set(WorkerState.RUNNING);
    for (const [party, message] of pending ?? []) writer.accept(party, message);
    pending = undefined;
  } catch (error) {
    clearTimeout(late);
    destroyClient(client);
    await feed?.close();
    throw error instanceof Error && 'code' in error && String((error as { code: unknown }).code).startsWith('ERR_CATALOG') ? error : storageError(`cannot open the catalog in PostgreSQL at ${config.displayUrl} (schema ${config.settings.schema})`, error);
  }
}

try {
  await start();
} catch (error) {
  clearInterval(heartbeat);
  liveness.set(WorkerState.CLOSED);
  owner.send({ kind: 'open-failed', error: toWireError(error) });
  owner.wake();
  owner.close();
}
