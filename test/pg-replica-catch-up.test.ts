// A replica keeps itself current from PostgreSQL's change log, never from notifications
// alone (issue 10, Change feed): after its sessions are cut (the notifications sent
// meanwhile are lost to it) and through a hard stop and restart, it catches up without
// sync(), and equals PostgreSQL's rows after sync(). Runs a cluster of its own (it stops it).
import { Catalog } from 'duckcat';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JsonChild } from './helpers/json-child.js';
import { PgCluster, adminQuery } from './helpers/pg-cluster.js';
import { NO_HANG_MS, SCHEMA, TIMEOUT_MS, untilReaderHas } from './helpers/pg-faults.js';
import { readPgCatalog } from './helpers/pg-rows.js';
import { describePg } from './helpers/pg-test.js';

describePg('pg replica catch-up', () => {
  let cluster: PgCluster;
  let url: string;
  let writer: JsonChild;
  let reader: Catalog;
  const READER = 'duckcat_reader';

  beforeAll(async () => {
    cluster = await PgCluster.create();
    url = await cluster.createDatabase('catch_up');
    writer = new JsonChild('pg-outage-writer.mjs', { url, schema: SCHEMA, timeoutMs: TIMEOUT_MS });
    await writer.answer('ready');
    // The replica under test, in this process; its sessions are named so the test can cut them.
    reader = await Catalog.open(url, { schema: SCHEMA, timeoutMs: TIMEOUT_MS, pg: { application_name: READER } });
  });

  afterAll(async () => {
    await reader?.close();
    await writer?.close();
    await cluster?.destroy();
  });

  /** Names the writer acknowledged so far. */
  function ackedNames(): string[] {
    return writer.seen.filter((line) => 'a' in line).map((line) => line.a as string);
  }

  it('catches up from the change log after its connections were cut, without sync()', async () => {
    writer.send('write 10');
    await writer.answer('wrote');
    await untilReaderHas(reader, ackedNames());
    // Every session of the reader ends: the notifications sent meanwhile are lost to it.
    const cut = await adminQuery(url, 'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1', [READER]);
    expect(cut.rows[0].n).toBeGreaterThan(0);
    writer.send('write 20');
    await writer.answer('wrote');
    await untilReaderHas(reader, ackedNames());
    await reader.sync();
    const rows = await readPgCatalog(url, SCHEMA);
    expect(reader.list().sort().map((name) => [name, reader.get(name), reader.version(name)])).toEqual(rows.entries);
  });

  it('answers sync() right after its sessions were cut while the server is up (reconnects, no error)', async () => {
    const failures: string[] = [];
    for (let i = 0; i < 50; i++) {
      await adminQuery(url, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [READER]);
      await reader.sync().catch((error: unknown) => failures.push(`${(error as { code?: string }).code}: ${(error as Error).message}`));
    }
    expect(failures).toEqual([]);
  });

  it('keeps serving reads through a hard stop, settles sync() with a typed error or not at all, and catches up after the restart', async () => {
    const before = reader.size;
    await cluster.stopHard();
    const started = Date.now();
    const fence = await reader.sync().then(
      () => 'resolved',
      (error: unknown) => (error as { code?: string }).code ?? `untyped: ${String(error)}`,
    );
    const ms = Date.now() - started;
    console.log(`replica: sync() while the server is down: ${fence} after ${ms} ms`);
    expect(fence === 'resolved' || /^ERR_CATALOG_[A-Z_]+$/.test(fence)).toBe(true);
    expect(fence).not.toBe('ERR_CATALOG_TIMEOUT');
    expect(ms).toBeLessThan(NO_HANG_MS);
    expect(reader.size).toBe(before);
    for (const name of ackedNames()) expect(reader.has(name), name).toBe(true);

    await cluster.start();
    writer.send('until-up');
    await writer.answer('up');
    writer.send('write 10');
    await writer.answer('wrote');
    await untilReaderHas(reader, ackedNames());
    await reader.sync();
    const rows = await readPgCatalog(url, SCHEMA);
    expect(reader.list().sort().map((name) => [name, reader.get(name), reader.version(name)])).toEqual(rows.entries);
    // The reader writes too, on the same handle: nothing was poisoned.
    await reader.define('from_reader', { ok: true });
    expect((await readPgCatalog(url, SCHEMA)).entries.some(([name]) => name === 'from_reader')).toBe(true);
  });
});
