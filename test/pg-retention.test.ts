// The change log of a PostgreSQL-backed catalog is bounded (`pg.retainChanges`): the writers
// prune its oldest rows from time to time, a replica that fell behind the pruned point
// reloads from a snapshot (map and events as if it had read the log), and a replica that
// did not fall behind never notices. Also: `commit` says 'postgres'.
import { Catalog, type CatalogChange } from 'duckcat';
import { expect, it } from 'vitest';
import { closedAfterEach } from './helpers/closed-after-each.js';
import { adminQuery } from './helpers/pg-cluster.js';
import { readPgCatalog } from './helpers/pg-rows.js';
import { describePg, pgDatabase, pgPasswordUrl } from './helpers/pg-test.js';

const RETAIN = 40;
/** A round starts once the log is a tenth past RETAIN (see src/writer-worker/pg-prune.ts). */
const MOST_ROWS = RETAIN + Math.ceil(RETAIN / 10);

const open = closedAfterEach();
const openPg = (url: string, options: Record<string, unknown> = {}): Promise<Catalog> => open.open(url, options);

async function logRows(url: string): Promise<{ n: number; oldest: number | null; newest: number | null }> {
  const result = await adminQuery(url, 'SELECT count(*)::int AS n, min(seq)::int AS oldest, max(seq)::int AS newest FROM duckcat.changes');
  return result.rows[0] as { n: number; oldest: number | null; newest: number | null };
}

describePg('pg change log retention', () => {
  it('reports commit as postgres', async () => {
    const catalog = await openPg(await pgDatabase('pg_retain'));
    expect(catalog.commit).toBe('postgres');
  });

  it('keeps at most retainChanges (plus a tenth) of the newest changes, the newest always', async () => {
    const url = await pgDatabase('pg_retain');
    const a = await openPg(url, { pg: { retainChanges: RETAIN } });
    for (let i = 0; i < 300; i++) {
      if (i % 3 === 0) a.defineSync(`n${i}`, i);
      else await a.define(`n${i}`, i);
    }
    // An apply far larger than the retention: pruned whole later, never cut on the way in.
    await a.apply(Array.from({ length: 200 }, (_, i) => ({ op: 'define' as const, name: `big${i}`, definition: i })));
    a.defineSync('last', 1);
    const log = await logRows(url);
    expect(log.newest).toBe(501);
    // Pruning runs after the write that made it due; the apply's 200 rows went past it at once.
    expect(log.n).toBeLessThanOrEqual(MOST_ROWS + 200);
    a.defineSync('after-last', 1);
    const settled = await logRows(url);
    expect(settled.n).toBeLessThanOrEqual(MOST_ROWS);
    expect(settled.newest! - settled.oldest! + 1).toBe(settled.n);
    // Nothing but the log shrank.
    const rows = await readPgCatalog(url, 'duckcat');
    expect(rows.entries).toHaveLength(502);
    expect(rows.counter).toBe(502);
  });

  it('keeps every change with retainChanges: Infinity, and refuses a bad value by name', async () => {
    const url = await pgDatabase('pg_retain');
    const a = await openPg(url, { pg: { retainChanges: Number.POSITIVE_INFINITY } });
    for (let i = 0; i < 60; i++) a.defineSync(`n${i}`, i);
    expect((await logRows(url)).n).toBe(60);
    for (const bad of [0, -1, 1.5, '10', null]) {
      await expect(Catalog.open(url, { pg: { retainChanges: bad } } as never), String(bad)).rejects.toMatchObject({ code: 'ERR_CATALOG_INVALID', field: 'options.pg.retainChanges' });
    }
  });

  it('lets a replica cut off past the pruned point converge from a snapshot, twice, and one that kept up read the log', async () => {
    const url = await pgDatabase('pg_retain');
    const a = await openPg(url, { pg: { retainChanges: RETAIN } });
    const keeping = await openPg(url);
    for (let i = 0; i < 10; i++) a.defineSync(`k${i}`, i);
    a.defineSync('dropped-later', 0);
    const role = `retain_reader_${process.pid}`;
    const readerUrl = await pgPasswordUrl(role, 'secret', url);
    await adminQuery(url, `GRANT USAGE ON SCHEMA duckcat TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA duckcat TO ${role}`);
    const b = await openPg(readerUrl, { readOnly: true });
    await b.sync();
    const keptEvents: CatalogChange[] = [];
    keeping.on('change', (change) => keptEvents.push(change));
    for (let round = 0; round < 2; round++) {
      // Cut b off (it cannot log in again) while a writes far more than the log keeps.
      await adminQuery(url, `ALTER ROLE ${role} NOLOGIN`);
      await adminQuery(url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '${role}'`);
      const from = b.list().length;
      for (let i = 0; i < 3 * RETAIN; i++) await a.define(`r${round}-${i}`, i);
      a.replaceSync('k0', { round });
      if (round === 0) a.dropSync('dropped-later');
      a.defineSync(`mark${round}`, 1);
      const log = await logRows(url);
      expect(log.oldest!).toBeGreaterThan(1 + from);
      const events: CatalogChange[] = [];
      const listener = (change: CatalogChange) => events.push(change);
      b.on('change', listener);
      await adminQuery(url, `ALTER ROLE ${role} LOGIN`);
      await b.sync();
      await new Promise((resolve) => setImmediate(resolve));
      b.off('change', listener);
      const truth = await readPgCatalog(url, 'duckcat');
      expect(b.list().sort().map((name) => [name, b.get(name), b.version(name)])).toEqual(truth.entries);
      // The difference as events: defines of the new names, a replace of k0, the drop.
      const kinds = new Map(events.map((change) => [change.name, change.kind]));
      expect(kinds.get('k0')).toBe('replace');
      expect(kinds.get(`mark${round}`)).toBe('define');
      if (round === 0) expect(kinds.get('dropped-later')).toBe('drop');
      expect(events.filter((change) => change.kind === 'define')).toHaveLength(3 * RETAIN + 1);
    }
    // The replica that kept up read every change from the log, in order, none twice.
    await keeping.sync();
    await new Promise((resolve) => setImmediate(resolve));
    expect(keptEvents.map((change) => change.seq)).toEqual([...keptEvents.map((change) => change.seq)].sort((x, y) => x - y));
    expect(keptEvents).toHaveLength(2 * (3 * RETAIN + 2) + 1);
    const truth = await readPgCatalog(url, 'duckcat');
    expect(keeping.list().sort().map((name) => [name, keeping.get(name), keeping.version(name)])).toEqual(truth.entries);
  });
});
