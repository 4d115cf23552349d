// PostgreSQL goes away under a writing process (issue 10, Faults): `pg_ctl stop -m
// immediate` while a defineSync waits inside the server, calls while it is down, then a
// restart. The waiting call and the new ones get a typed error, never ERR_CATALOG_TIMEOUT
// and never a hang; reads keep serving; once the server is back, writes work again on the
// same handle; every acknowledged write is in PostgreSQL and in a fresh open. Also a frozen
// server (nothing answers) and clean restarts.
//
// These tests stop their server, so each runs a cluster of its own, not the run's shared one.
import { Catalog } from 'duckcat';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonChild } from './helpers/json-child.js';
import { PgCluster, adminQuery } from './helpers/pg-cluster.js';
import { NO_HANG_MS, SCHEMA, TIMEOUT_MS, expectTypedOutageError, type Failure } from './helpers/pg-faults.js';
import { readPgCatalog } from './helpers/pg-rows.js';
import { describePg } from './helpers/pg-test.js';

describePg('pg outage', () => {
  let cluster: PgCluster;
  let url: string;
  let writer: JsonChild;

  beforeAll(async () => {
    cluster = await PgCluster.create();
    url = await cluster.createDatabase('outage');
    writer = new JsonChild('pg-outage-writer.mjs', { url, schema: SCHEMA, timeoutMs: TIMEOUT_MS });
    await writer.answer('ready');
  });

  afterAll(async () => {
    await writer?.close();
    await cluster?.destroy();
  });

  /** Every define the writer acknowledged: name → value. */
  function acknowledged(): Map<string, unknown> {
    const values = new Map(writer.seen.filter((line) => 'i' in line).map((line) => [line.i as string, line.v]));
    return new Map(writer.seen.filter((line) => 'a' in line).map((line) => [line.a as string, values.get(line.a as string)]));
  }

  it('fails the waiting call and new calls with a typed error, keeps reads, and writes again after a restart', async () => {
    writer.send('write 40');
    await writer.answer('wrote');
    expect(acknowledged().size).toBe(40);

    // Park the next write inside the server: the definitions table is locked, so its
    // statement waits there, in flight, when the server dies.
    const holder = new pg.Client({ connectionString: url });
    holder.on('error', () => undefined); // the server will end this session
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE ${SCHEMA}.definitions IN ACCESS EXCLUSIVE MODE`);
    writer.send('one');
    const waiting = await writer.answer<string>('i');
    await waitForLockWaiter(url);
    await cluster.stopHard();

    const failed = await writer.answer<string>('e');
    expect(failed).toBe(waiting);
    const waitingFailure = writer.seen.at(-1) as unknown as Failure;
    expectTypedOutageError(waitingFailure);

    writer.send('down 6');
    const down = await writer.answer<Failure[]>('down');
    const reads = writer.seen.at(-1)!.reads as { size: number; ok: boolean };
    for (const failure of down) expectTypedOutageError(failure);
    expect(reads).toEqual({ size: 40, ok: true });
    console.log(`outage: waiting call ${waitingFailure.code} after ${waitingFailure.ms} ms; new calls ${down.map((f) => `${f.code} ${f.ms} ms`).join(', ')}`);

    await cluster.start();
    writer.send('until-up');
    const attempts = await writer.answer<number>('up');
    console.log(`outage: writes work again after ${attempts} attempt(s) once the server was back`);
    writer.send('write 20');
    await writer.answer('wrote');
    expect(writer.seen.filter((line) => 'e' in line).length).toBe(1 + down.length + (attempts - 1));

    // Every acknowledged write is in PostgreSQL, in the writer's replica and in a fresh open;
    // the write that waited on the lock never committed.
    const acked = acknowledged();
    const rows = await readPgCatalog(url, SCHEMA);
    const stored = new Map(rows.entries.map(([name, value]) => [name, value]));
    for (const [name, value] of acked) expect(stored.get(name), name).toEqual(value);
    expect(stored.has(waiting)).toBe(false);
    writer.send('verify');
    const state = await writer.answer<Array<[string, unknown, number]>>('state');
    expect(writer.seen.at(-1)!.readsOk).toBe(true);
    expect(state).toEqual(rows.entries);
    const fresh = await Catalog.open(url, { schema: SCHEMA });
    try {
      expect(fresh.list().sort().map((name) => [name, fresh.get(name), fresh.version(name)])).toEqual(rows.entries);
    } finally {
      await fresh.close();
    }
  });
});

describePg('pg outage under a stream of writes', () => {
  it('settles every call once (acknowledged or typed error) through a hard stop and restart, and loses nothing acknowledged', async () => {
    const cluster = await PgCluster.create();
    const url = await cluster.createDatabase('stream');
    const writer = new JsonChild('pg-outage-writer.mjs', { url, schema: SCHEMA, timeoutMs: TIMEOUT_MS });
    const count = (key: string): number => writer.seen.filter((line) => key in line).length;
    /** Reads the writer's lines until `done()` holds (every wait bounded by the child's 30 s). */
    const until = async (done: () => boolean): Promise<void> => {
      while (!done()) await writer.next();
    };
    try {
      await writer.answer('ready');
      writer.send('stream 16');
      await until(() => count('a') >= 100);
      await cluster.stopHard();
      const ackedAtStop = count('a');
      await until(() => count('e') >= 32);
      await cluster.start();
      await until(() => count('a') >= ackedAtStop + 100);
      writer.send('halt');
      await writer.answer('halted');

      const called = writer.seen.filter((line) => 'i' in line).map((line) => line.i as string);
      const acked = writer.seen.filter((line) => 'a' in line).map((line) => line.a as string);
      const failed = writer.seen.filter((line) => 'e' in line) as unknown as Array<Failure & { e: string }>;
      // Every call settled exactly once.
      expect([...acked, ...failed.map((failure) => failure.e)].sort()).toEqual([...called].sort());
      for (const failure of failed) expectTypedOutageError(failure);
      const codes = new Map<string, number>();
      for (const failure of failed) codes.set(failure.code, (codes.get(failure.code) ?? 0) + 1);
      console.log(`stream outage: ${acked.length} acknowledged, failed: ${[...codes].map(([code, n]) => `${n} ${code}`).join(', ')}; slowest failure ${Math.max(...failed.map((f) => f.ms))} ms`);

      const values = new Map(writer.seen.filter((line) => 'i' in line).map((line) => [line.i as string, line.v]));
      const rows = await readPgCatalog(url, SCHEMA);
      const stored = new Map(rows.entries.map(([name, value]) => [name, value]));
      for (const name of acked) expect(stored.get(name), name).toEqual(values.get(name));
      // A failed write is either absent or whole (its commit may have landed before the
      // connection died): never something else.
      for (const failure of failed) if (stored.has(failure.e)) expect(stored.get(failure.e)).toEqual(values.get(failure.e));
      writer.send('verify');
      expect(await writer.answer('state')).toEqual(rows.entries);
    } finally {
      await writer.close();
      await cluster.destroy();
    }
  });
});

describePg('pg frozen server', () => {
  let cluster: PgCluster;
  let writer: JsonChild;

  beforeAll(async () => {
    cluster = await PgCluster.create();
    const url = await cluster.createDatabase('frozen');
    writer = new JsonChild('pg-outage-writer.mjs', { url, schema: SCHEMA, timeoutMs: TIMEOUT_MS });
    await writer.answer('ready');
  });

  afterAll(async () => {
    try {
      cluster?.thaw();
    } catch {
      // not running
    }
    await writer?.close();
    await cluster?.destroy();
  });

  it('fails calls with a typed error while nothing answers, and writes again on the same handle once it does', async () => {
    writer.send('write 10');
    await writer.answer('wrote');
    cluster.freeze();
    let down: Failure[];
    try {
      writer.send('down 2');
      down = await writer.answer<Failure[]>('down');
    } finally {
      cluster.thaw();
    }
    console.log(`frozen server: ${down.map((f) => `${f.code} after ${f.ms} ms`).join(', ')} (timeoutMs ${TIMEOUT_MS})`);
    for (const failure of down) {
      expect(failure.code).toMatch(/^ERR_CATALOG_[A-Z_]+$/);
      expect(failure.ms).toBeLessThan(NO_HANG_MS);
    }
    expect(writer.seen.at(-1)!.reads).toEqual({ size: 10, ok: true });
    // No poisoning: the same handle writes again once the server answers.
    writer.send('until-up');
    await writer.answer('up');
    writer.send('write 5');
    await writer.answer('wrote');
  });
});

describePg('pg clean restart', () => {
  it('writes again on the same handle after pg_ctl stop -m fast and start, losing nothing acknowledged', async () => {
    const cluster = await PgCluster.create();
    const url = await cluster.createDatabase('restart');
    const writer = new JsonChild('pg-outage-writer.mjs', { url, schema: SCHEMA, timeoutMs: TIMEOUT_MS });
    try {
      await writer.answer('ready');
      for (let round = 0; round < 2; round++) {
        writer.send('write 10');
        await writer.answer('wrote');
        await cluster.stop();
        await cluster.start();
        writer.send('until-up');
        await writer.answer('up');
      }
      const acked = writer.seen.filter((line) => 'a' in line).map((line) => line.a as string);
      const stored = new Set((await readPgCatalog(url, SCHEMA)).entries.map(([name]) => name));
      expect(acked.filter((name) => !stored.has(name))).toEqual([]);
    } finally {
      await writer.close();
      await cluster.destroy();
    }
  });
});

describe('pg outage helpers', () => {
  it('accepts no untyped error as an outage error', () => {
    expect(() => expectTypedOutageError({ code: 'untyped: Error: boom', ms: 1 })).toThrow();
    expect(() => expectTypedOutageError({ code: 'ERR_CATALOG_TIMEOUT', ms: 1 })).toThrow();
  });
});

/** Until a backend of the database at `url` waits on a lock (the parked write), at most 30 s. */
async function waitForLockWaiter(url: string): Promise<void> {
  const database = decodeURIComponent(new URL(url).pathname.slice(1));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const waiting = await adminQuery(url, `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`, [database]);
    if (waiting.rows[0].n > 0) return;
    if (Date.now() > deadline) throw new Error('the parked write never waited on the lock');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
