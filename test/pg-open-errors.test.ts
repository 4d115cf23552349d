// A PostgreSQL URL that cannot be opened is a typed error from Catalog.open (issue 10,
// Faults): a port nobody listens on, a bad password (not shown in the message), a missing
// database. Uses the run's shared cluster.
import { Catalog } from 'duckcat';
import { expect, it } from 'vitest';
import { freePort } from './helpers/pg-cluster.js';
import { describePg, pgCluster, pgDatabase, pgPasswordUrl } from './helpers/pg-test.js';

describePg('pg open errors', () => {
  it('refuses a port nobody listens on with a typed error', async () => {
    const port = await freePort();
    const error = await Catalog.open(`postgres://postgres@127.0.0.1:${port}/postgres`, { openTimeoutMs: 5000 }).then(
      (catalog) => catalog.close().then(() => new Error('opened')),
      (failure: unknown) => failure,
    );
    expectTypedOpenError(error);
  });

  it('refuses a bad password with a typed error that does not show the password', async () => {
    const database = await pgDatabase('pg_outage');
    const good = await pgPasswordUrl(`outage_role_${process.pid}`, 'the-right-one', database);
    const bad = new URL(good);
    bad.password = 'not-the-password';
    const error = await Catalog.open(bad.toString()).then(
      (catalog) => catalog.close().then(() => new Error('opened')),
      (failure: unknown) => failure,
    );
    expectTypedOpenError(error);
    expect(String((error as Error).message)).not.toContain('not-the-password');
    // The right password opens it.
    const catalog = await Catalog.open(good);
    await catalog.close();
  });

  it('refuses a missing database with a typed error', async () => {
    const url = new URL(pgCluster().adminUrl);
    url.pathname = `/no_such_database_${process.pid}`;
    const error = await Catalog.open(url.toString()).then(
      (catalog) => catalog.close().then(() => new Error('opened')),
      (failure: unknown) => failure,
    );
    expectTypedOpenError(error);
  });
});

function expectTypedOpenError(error: unknown): void {
  expect(error).toBeInstanceOf(Error);
  expect((error as { code?: unknown }).code).toMatch(/^ERR_CATALOG_[A-Z_]+$/);
  expect((error as { code?: unknown }).code).not.toBe('ERR_CATALOG_TIMEOUT');
}
