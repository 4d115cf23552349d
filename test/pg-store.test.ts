// The PostgreSQL-backed store (issue 10), against a real PostgreSQL (the run's throwaway
// cluster, test/helpers/pg-global-setup.ts): the API on a URL, refusals, open errors,
// the SQL functions, a CatalogClient thread, sync() and change events across catalogs and
// processes. Skips loudly when the server binaries are missing.
import { DuckDBInstance } from '@duckdb/node-api';
import { once } from 'node:events';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { expect, it } from 'vitest';
import { closedAfterEach } from './helpers/closed-after-each.js';
import { Catalog, CatalogError, type CatalogChange } from 'duckcat';
import { adminQuery } from './helpers/pg-cluster.js';
import { fixture, runFixture } from './helpers/child.js';
import { describePg, pgCluster, pgDatabase, pgPasswordUrl } from './helpers/pg-test.js';

const open = closedAfterEach();
const openPg = (url: string, options: Record<string, unknown> = {}): Promise<Catalog> => open.open(url, options);

async function openError(url: string, options?: Record<string, unknown>): Promise<CatalogError> {
  try {
    const catalog = await Catalog.open(url, options);
    open.track(catalog);
  } catch (error) {
    return error as CatalogError;
  }
  throw new Error(`expected Catalog.open(${url}) to fail`);
}

function codeOf(write: () => unknown): string | undefined {
  try {
    write();
  } catch (error) {
    return (error as CatalogError).code;
  }
  return undefined;
}

/** Resolves with the first 'change' event for `name` (a ref'd timer keeps the test process waiting for it). */
function changeOf(catalog: Catalog, name: string): Promise<CatalogChange> {
  const keep = setInterval(() => undefined, 1_000);
  return new Promise<CatalogChange>((resolve) => {
    const listener = (change: CatalogChange) => {
      if (change.name !== name) return;
      catalog.off('change', listener);
      clearInterval(keep);
      resolve(change);
    };
    catalog.on('change', listener);
  });
}

describePg('PostgreSQL-backed catalog', () => {
  it('defines, replaces, drops and reads back; a reopen sees the same rows and versions', async () => {
    const url = await pgDatabase('pg_store');
    const first = await openPg(url);
    first.defineSync('sales', { metrics: ['revenue'] });
    await first.define('orders', { n: 1 });
    first.replaceSync('orders', { n: 2 });
    first.defineSync('gone', 1);
    await first.drop('gone');
    expect(first.list()).toEqual(['orders', 'sales']);
    expect(first.get('orders')).toEqual({ n: 2 });
    await first.close();

    const again = await openPg(url);
    expect(Object.fromEntries(again.entries())).toEqual({ orders: { n: 2 }, sales: { metrics: ['revenue'] } });
    const rows = await adminQuery(url, 'SELECT name, json, version::int AS version FROM duckcat.definitions ORDER BY name');
    expect(rows.rows).toEqual([
      { name: 'orders', json: '{"n":2}', version: 3 },
      { name: 'sales', json: '{"metrics":["revenue"]}', version: 1 },
    ]);
    // Gapless, commit-ordered change log with the counter at its end.
    const log = await adminQuery(url, 'SELECT seq::int AS seq, name, json, version::int AS version FROM duckcat.changes ORDER BY seq');
    expect(log.rows.map((row) => row.seq)).toEqual([1, 2, 3, 4, 5]);
    // A version is the seq of the batch (its last change) that wrote it; a drop's row names the version it removed.
    expect(log.rows.map((row) => row.version)).toEqual([1, 2, 3, 4, 4]);
    expect(log.rows.map((row) => [row.name, row.json])).toEqual([
      ['sales', '{"metrics":["revenue"]}'],
      ['orders', '{"n":1}'],
      ['orders', '{"n":2}'],
      ['gone', '1'],
      ['gone', null],
    ]);
    expect((await adminQuery(url, 'SELECT seq::int AS seq FROM duckcat.counter')).rows).toEqual([{ seq: 5 }]);
    // Reopened twice: still the same.
    const third = await openPg(url);
    expect(third.list()).toEqual(['orders', 'sales']);
  });

  it('refuses define of a stored name and drop of a missing one, across processes too, and changes nothing', async () => {
    const url = await pgDatabase('pg_store');
    const a = await openPg(url);
    const b = await openPg(url);
    a.defineSync('taken', 1);
    // b has not seen it yet (or has): PostgreSQL decides, not b's replica.
    expect(codeOf(() => b.defineSync('taken', 2))).toBe('ERR_CATALOG_EXISTS');
    expect(codeOf(() => b.dropSync('never'))).toBe('ERR_CATALOG_NOT_FOUND');
    await expect(b.apply([{ op: 'define', name: 'x', definition: 1 }, { op: 'define', name: 'taken', definition: 3 }])).rejects.toMatchObject({ code: 'ERR_CATALOG_EXISTS' });
    await b.sync();
    expect(b.get('taken')).toBe(1);
    expect(b.has('x')).toBe(false);
    expect((await adminQuery(url, 'SELECT count(*)::int AS n FROM duckcat.definitions')).rows[0].n).toBe(1);

    // Contested: both define the same names at once; each name has exactly one winner.
    const names = Array.from({ length: 20 }, (_, i) => `contested-${i}`);
    const results = await Promise.allSettled(names.flatMap((name) => [a.define(name, 'a'), b.define(name, 'b')]));
    for (let i = 0; i < names.length; i++) {
      const pair = [results[2 * i]!, results[2 * i + 1]!];
      expect(pair.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      const lost = pair.find((result) => result.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason.code).toBe('ERR_CATALOG_EXISTS');
    }
    await a.sync();
    await b.sync();
    expect(Object.fromEntries(a.entries())).toEqual(Object.fromEntries(b.entries()));
  });

  it('applies an apply() as one transaction: all of it or none', async () => {
    const url = await pgDatabase('pg_store');
    const a = await openPg(url);
    await a.apply([
      { op: 'define', name: 'one', definition: 1 },
      { op: 'define', name: 'two', definition: 2 },
      { op: 'replace', name: 'one', definition: 11 },
    ]);
    expect(Object.fromEntries(a.entries())).toEqual({ one: 11, two: 2 });
    const versions = await adminQuery(url, 'SELECT name, version::int AS v FROM duckcat.definitions ORDER BY name');
    // Every op of one apply gets the batch's one version: its last change seq, the seq of its change events.
    expect(versions.rows).toEqual([{ name: 'one', v: 2 }, { name: 'two', v: 2 }]);
    expect(a.version('one')).toBe(2);
    const log = await adminQuery(url, 'SELECT seq::int AS seq, name, version::int AS v FROM duckcat.changes ORDER BY seq');
    expect(log.rows).toEqual([{ seq: 1, name: 'one', v: 2 }, { seq: 2, name: 'two', v: 2 }]);
    // The next batch starts after the apply's last change: its version is new.
    a.replaceSync('two', 22);
    expect(a.version('two')).toBe(3);
  });

  it('refuses a stale ifVersion with ERR_CATALOG_CONFLICT across catalogs; of racing guarded replaces exactly one wins', async () => {
    const url = await pgDatabase('pg_store');
    const a = await openPg(url);
    const b = await openPg(url);
    a.defineSync('doc', 'v1');
    await b.sync();
    expect(b.version('doc')).toBe(1);
    a.replaceSync('doc', 'v2', { ifVersion: 1 });
    // b's replica may still say 1: PostgreSQL's row decides.
    const stale = (() => {
      try {
        b.replaceSync('doc', 'lost', { ifVersion: 1 });
      } catch (error) {
        return error as CatalogError & { expectedVersion: number; currentVersion: number };
      }
      throw new Error('expected a conflict');
    })();
    expect(stale).toMatchObject({ code: 'ERR_CATALOG_CONFLICT', definitionName: 'doc', expectedVersion: 1, currentVersion: 2 });
    await expect(b.drop('doc', { ifVersion: 1 })).rejects.toMatchObject({ code: 'ERR_CATALOG_CONFLICT', currentVersion: 2 });
    await expect(b.drop('absent', { ifVersion: 1 })).rejects.toMatchObject({ code: 'ERR_CATALOG_CONFLICT', currentVersion: 0 });
    await b.sync();
    expect([b.get('doc'), b.version('doc')]).toEqual(['v2', 2]);

    // Rounds of racing guarded replaces from both catalogs: one winner each, versions move by one.
    for (let round = 0; round < 10; round++) {
      await a.sync();
      const version = a.version('doc')!;
      const results = await Promise.allSettled([a.replace('doc', { round, who: 'a' }, { ifVersion: version }), b.replace('doc', { round, who: 'b' }, { ifVersion: version })]);
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).toMatchObject({ code: 'ERR_CATALOG_CONFLICT', expectedVersion: version, currentVersion: version + 1 });
    }
    await a.sync();
    await b.sync();
    expect(a.version('doc')).toBe(12);
    expect(b.get('doc')).toEqual(a.get('doc'));
    const row = await adminQuery(url, "SELECT version::int AS v FROM duckcat.definitions WHERE name = 'doc'");
    expect(row.rows[0].v).toBe(12);
    a.dropSync('doc', { ifVersion: 12 });
    expect(a.has('doc')).toBe(false);
  });

  it('sync() makes another catalog\'s acknowledged writes visible, and change events arrive without it', async () => {
    const url = await pgDatabase('pg_store');
    const a = await openPg(url);
    const b = await openPg(url);
    a.defineSync('fenced', { v: 1 });
    await b.sync();
    expect(b.get('fenced')).toEqual({ v: 1 });

    const seen = changeOf(b, 'pushed');
    a.defineSync('pushed', 1);
    const defined = a.version('pushed');
    expect(await seen).toMatchObject({ name: 'pushed', kind: 'define', version: defined });
    expect(b.get('pushed')).toBe(1);
    expect(b.version('pushed')).toBe(defined);
    const replaced = changeOf(b, 'pushed');
    a.replaceSync('pushed', 2);
    const current = a.version('pushed')!;
    expect(current).toBeGreaterThan(defined!);
    expect(await replaced).toMatchObject({ kind: 'replace', version: current });
    const dropped = changeOf(b, 'pushed');
    a.dropSync('pushed');
    expect(await dropped).toMatchObject({ kind: 'drop', version: current });
    expect(b.has('pushed')).toBe(false);
  });

  it('sees writes of another process; each process exits by itself after close', async () => {
    const url = await pgDatabase('pg_store');
    const here = await openPg(url);
    here.defineSync('mine', 0);
    const seen = changeOf(here, 'from-child-2');
    const child = await runFixture('pg-peer.mjs', [url, 'define:from-child-1:{"n":1}', 'define:mine:2', 'define:from-child-2:{"n":2}', 'drop:nothing']);
    expect(child.code).toBe(0);
    expect(child.stdout.trim().split('\n').map((line) => JSON.parse(line))).toEqual([
      { name: 'from-child-1', ok: true },
      { name: 'mine', ok: false, code: 'ERR_CATALOG_EXISTS' },
      { name: 'from-child-2', ok: true },
      { name: 'nothing', ok: false, code: 'ERR_CATALOG_NOT_FOUND' },
    ]);
    await seen;
    expect(here.list()).toEqual(['from-child-1', 'from-child-2', 'mine']);
  });

  it('converges from a snapshot when the change log was pruned past a replica that was cut off', async () => {
    const url = await pgDatabase('pg_store');
    const a = await openPg(url);
    a.defineSync('kept', 1);
    a.defineSync('dropped-later', 1);
    const role = `pruned_reader_${process.pid}`;
    const readerUrl = await pgPasswordUrl(role, 'secret', url);
    await adminQuery(url, `GRANT USAGE ON SCHEMA duckcat TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA duckcat TO ${role}`);
    const b = await openPg(readerUrl, { readOnly: true });
    expect(b.list()).toEqual(['dropped-later', 'kept']);
    // Cut b off (it cannot log in again), write, and prune the whole log while it is away.
    await adminQuery(url, `ALTER ROLE ${role} NOLOGIN`);
    await adminQuery(url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '${role}'`);
    a.replaceSync('kept', 2);
    a.dropSync('dropped-later');
    a.defineSync('new', 3);
    await adminQuery(url, 'DELETE FROM duckcat.changes');
    const events: CatalogChange[] = [];
    b.on('change', (change) => events.push(change));
    await adminQuery(url, `ALTER ROLE ${role} LOGIN`);
    await b.sync();
    expect(Object.fromEntries(b.entries())).toEqual({ kept: 2, new: 3 });
    expect([b.version('kept'), b.version('new')]).toEqual([a.version('kept'), a.version('new')]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(events.map((change) => [change.name, change.kind]).sort()).toEqual([['dropped-later', 'drop'], ['kept', 'replace'], ['new', 'define']]);
    // And it follows the log again from there.
    const later = changeOf(b, 'after');
    a.defineSync('after', 4);
    await later;
    expect(b.get('after')).toBe(4);
  });

  it('serves a CatalogClient in another thread through port()', async () => {
    const url = await pgDatabase('pg_store');
    const cat = await openPg(url);
    cat.defineSync('from-main', { by: 'main' });
    const port = cat.port();
    const thread = new Worker(fixture('thread-client.mjs'), { workerData: { port }, transferList: [port] });
    const [report] = (await once(thread, 'message')) as [{ seen: { before: unknown; size: number }; duplicate: string; list: string[] }];
    expect(report.seen).toEqual({ before: { by: 'main' }, size: 1 });
    expect(report.duplicate).toBe('ERR_CATALOG_EXISTS');
    expect(report.list).toEqual(['async-from-thread', 'from-main', 'from-thread']);
    // Acknowledged in the other thread, so visible here at once.
    expect(cat.get('from-thread')).toEqual({ by: 'thread' });
    cat.defineSync('from-main-later', 3);
    thread.postMessage('read');
    const [answer] = (await once(thread, 'message')) as [{ value: unknown }];
    expect(answer.value).toBe(3);
    await thread.terminate();
  });

  it('runs the SQL functions on a host DuckDB connection: a view defined in SQL reaches another catalog', async () => {
    const url = await pgDatabase('pg_store');
    const a = await openPg(url);
    const b = await openPg(url);
    const host = await DuckDBInstance.create(':memory:');
    const connection = await host.connect();
    try {
      await a.attach(connection);
      const view = { base_table: 'orders', dimensions: [{ name: 'region', expr: 'region' }], metrics: [{ name: 'revenue', expr: 'amount', agg: 'sum' }] };
      await connection.run('SELECT define_semantic_view($1, $2)', ['sales', JSON.stringify(view)]);
      expect(a.get('sales')).toMatchObject({ base_table: 'orders' });
      await b.sync();
      expect(b.get('sales')).toMatchObject({ base_table: 'orders' });
      await connection.run('CREATE TABLE orders AS SELECT * FROM (VALUES (\'eu\', 2), (\'eu\', 3), (\'us\', 5)) t(region, amount)');
      const rows = (await connection.runAndReadAll("SELECT * FROM semantic_query('sales', dimensions := ['region'], metrics := ['revenue']) ORDER BY region")).getRows();
      expect(rows.map((row) => [row[0], Number(row[1])])).toEqual([['eu', 5], ['us', 5]]);
    } finally {
      connection.closeSync();
      host.closeSync();
    }
  });

  it('refuses a bad URL, a bad password, a missing database and a refused connection with typed errors', async () => {
    const url = await pgDatabase('pg_store');
    expect(await openError('postgres://bad url:x@[::1')).toMatchObject({ code: 'ERR_CATALOG_INVALID', field: 'path' });
    expect(await openError(url, { schema: 'Bad-Schema' })).toMatchObject({ code: 'ERR_CATALOG_INVALID', field: 'options.schema' });
    expect(await openError(url, { journal: false })).toMatchObject({ code: 'ERR_CATALOG_INVALID', field: 'options.journal' });
    expect(await openError(url, { pg: { poolSize: 3 } })).toMatchObject({ code: 'ERR_CATALOG_INVALID', field: 'options.pg.poolSize' });
    await expect(Catalog.connect(url)).rejects.toMatchObject({ code: 'ERR_CATALOG_INVALID' });

    const good = await pgPasswordUrl(`store_role_${process.pid}`, 'right', url);
    const wrong = new URL(good);
    wrong.password = 'wrong';
    const badPassword = await openError(wrong.toString());
    expect(badPassword.code).toBe('ERR_CATALOG_STORAGE');
    expect(badPassword.message).toContain('SQLSTATE 28P01');
    expect(badPassword.message).not.toContain('wrong');
    expect(badPassword.cause).toBeDefined();
    // The right password opens (and may create its schema).
    const allowed = await openPg(good);
    expect(allowed.size).toBe(0);
    expect(allowed.path).not.toContain('right');

    const missing = new URL(url);
    missing.pathname = '/no_such_database';
    const noDatabase = await openError(missing.toString());
    expect(noDatabase.code).toBe('ERR_CATALOG_STORAGE');
    expect(noDatabase.message).toContain('SQLSTATE 3D000');

    // A port nobody listens on: refused at once, within openTimeoutMs.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const refused = await openError(`postgres://postgres@127.0.0.1:${port}/postgres`, { openTimeoutMs: 5_000 });
    expect(refused.code).toBe('ERR_CATALOG_STORAGE');
    expect(refused.message).toContain('ECONNREFUSED');
    expect(pgCluster().port).not.toBe(port);
  });

  it('is reached by the CLI with the URL as the catalog argument', async () => {
    const url = await pgDatabase('pg_store');
    const a = await openPg(url);
    a.defineSync('from-api', { n: 1 });
    const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
    const run = promisify(execFile);
    const listed = await run(process.execPath, [cli, 'ls', url, '--json']);
    expect(JSON.parse(listed.stdout)).toMatchObject([{ name: 'from-api' }]);
    await run(process.execPath, [cli, 'drop', url, 'from-api']);
    await a.sync();
    expect(a.has('from-api')).toBe(false);
  });

  it('keeps catalogs in different schemas apart, and opens read-only without writing', async () => {
    const url = await pgDatabase('pg_store');
    const one = await openPg(url, { schema: 'one' });
    const two = await openPg(url, { schema: 'two' });
    one.defineSync('shared-name', 1);
    two.defineSync('shared-name', 2);
    await one.sync();
    expect(one.get('shared-name')).toBe(1);
    const reader = await openPg(url, { schema: 'one', readOnly: true });
    expect(reader.get('shared-name')).toBe(1);
    expect(codeOf(() => reader.defineSync('nope', 1))).toBe('ERR_CATALOG_READ_ONLY');
    const seen = changeOf(reader, 'later');
    one.defineSync('later', 3);
    await seen;
    expect(reader.get('later')).toBe(3);
  });
});
