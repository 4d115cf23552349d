// The PostgreSQL test harness itself, checked with the `pg` package directly: the run's
// cluster (test/helpers/pg-global-setup.ts), a database per file, a password role, and a
// private cluster stopped hard and started again on the same port.
import { existsSync } from 'node:fs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PgCluster, adminQuery } from './helpers/pg-cluster.js';
import { describePg, pgCluster, pgDatabase, pgPasswordUrl } from './helpers/pg-test.js';

describePg('pg harness', () => {
  it('gives a PostgreSQL 15 server on loopback with fsync on', async () => {
    const cluster = pgCluster();
    expect(cluster.host).toBe('127.0.0.1');
    const version = await adminQuery(cluster.adminUrl, 'SHOW server_version_num');
    expect(Number(version.rows[0].server_version_num)).toBeGreaterThanOrEqual(150000);
    const fsync = await adminQuery(cluster.adminUrl, 'SHOW fsync');
    expect(fsync.rows[0].fsync).toBe('on');
  });

  it('creates a fresh database per call that keeps rows between connections', async () => {
    const url = await pgDatabase('pg_harness');
    const other = await pgDatabase('pg_harness');
    expect(other).not.toBe(url);
    await adminQuery(url, 'CREATE TABLE t (k text PRIMARY KEY, v jsonb NOT NULL)');
    await adminQuery(url, 'INSERT INTO t VALUES ($1, $2)', ['a', JSON.stringify({ x: 1 })]);
    const rows = await adminQuery(url, 'SELECT k, v FROM t');
    expect(rows.rows).toEqual([{ k: 'a', v: { x: 1 } }]);
    await expect(adminQuery(other, 'SELECT * FROM t')).rejects.toMatchObject({ code: '42P01' });
  });

  it('makes a role that needs its password: right one connects, wrong one gets 28P01', async () => {
    const url = await pgDatabase('pg_harness');
    const good = await pgPasswordUrl(`harness_role_${process.pid}`, 'right pass', url);
    const who = await adminQuery(good, 'SELECT current_user AS who');
    expect(who.rows[0].who).toBe(`harness_role_${process.pid}`);
    // It may create a schema there (the catalog does).
    await adminQuery(good, 'CREATE SCHEMA mine');
    const bad = new URL(good);
    bad.password = 'wrong';
    await expect(adminQuery(bad.toString(), 'SELECT 1')).rejects.toMatchObject({ code: '28P01' });
    const none = new URL(good);
    none.password = '';
    await expect(adminQuery(none.toString(), 'SELECT 1')).rejects.toThrow();
  });

  it('delivers LISTEN/NOTIFY between two connections', async () => {
    const url = await pgDatabase('pg_harness');
    const listener = new pg.Client({ connectionString: url });
    await listener.connect();
    try {
      const heard = new Promise<string | undefined>((resolve) => listener.once('notification', (n) => resolve(n.payload)));
      await listener.query('LISTEN harness');
      await adminQuery(url, "SELECT pg_notify('harness', 'hello')");
      expect(await heard).toBe('hello');
    } finally {
      await listener.end();
    }
  });

  describe('a private cluster', () => {
    let own: PgCluster | undefined;
    afterAll(async () => {
      const dir = own?.dir;
      await own?.destroy();
      if (dir !== undefined) expect(existsSync(dir)).toBe(false);
    });

    it('keeps committed rows through a hard stop and restarts on the same port', async () => {
      own = await PgCluster.create();
      const url = await own.createDatabase('survive');
      await adminQuery(url, 'CREATE TABLE t (n int)');
      await adminQuery(url, 'INSERT INTO t SELECT generate_series(1, 100)');
      await own.stopHard();
      await expect(adminQuery(url, 'SELECT 1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await own.start();
      const count = await adminQuery(url, 'SELECT count(*)::int AS n FROM t');
      expect(count.rows[0].n).toBe(100);
      await own.stop();
      await own.start();
      expect((await adminQuery(url, 'SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(100);
    });
  });
});
