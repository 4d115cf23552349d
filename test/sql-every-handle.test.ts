import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Catalog } from 'duckcat';
import { collect, spawnFixture } from './helpers/child.js';

const SALES = { kind: 'semantic_view', base_table: 'orders', dimensions: [{ name: 'region', expr: 'region' }], metrics: [{ name: 'revenue', expr: 'amount', agg: 'sum' }] };
const ROWS = [
  { region: 'EU', revenue: 17 },
  { region: 'US', revenue: 5 },
];

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'duckcat-sql-handles-'));
  path = join(dir, 'catalog.duckdb');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function party(args: string[]): Promise<Record<string, unknown>> {
  const child = spawnFixture('sql-party.mjs', [path, ...args]);
  const result = await collect(child, 60_000);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

/** The views stored in the file, read by a fresh owner (reopened twice). */
async function reopened(): Promise<unknown[]> {
  const seen: unknown[] = [];
  for (let i = 0; i < 2; i++) {
    const owner = await Catalog.open(path);
    seen.push({ names: owner.list().filter((name) => name !== 'probe'), sales: owner.get('sales') });
    await owner.close();
  }
  return seen;
}

describe('the SQL functions on a CatalogClient (another thread)', () => {
  it.each(['journal', 'duckdb'] as const)("commit '%s': DDL in SQL persists through the owner; semantic_query works there", async (commit) => {
    const result = await party(['thread', 'ddl', '0', commit]);
    expect(result).toMatchObject({ sqlRows: ROWS, apiRows: ROWS, views: ['sales'], commit, remote: false, ownerSees: ['sales'], ownerSales: SALES });
    expect(await reopened()).toEqual([
      { names: ['sales'], sales: SALES },
      { names: ['sales'], sales: SALES },
    ]);
  });

  it("commit 'duckdb', default pool: the SQL issue's deadlock case fails fast with ERR_CATALOG_TIMEOUT instead of hanging", async () => {
    // 8 host queries each call replace_semantic_view in the client thread; the owner's
    // writer (same process) needs a libuv pool thread to commit: the pool guard fails the
    // callers it cannot serve, as on the owner (test/sql-concurrency.test.ts).
    const result = await party(['thread', 'pool', '8', 'duckdb']);
    expect(result).toMatchObject({ commit: 'duckdb', usableAfter: true });
    expect((result.completed as number) + (result.failed as number)).toBe(8);
    expect(result.failed).toBeGreaterThan(0);
    expect(result.codes).toEqual(['ERR_CATALOG_TIMEOUT']);
    expect(result.firstError).toMatch(/libuv threadpool exhausted/);
  });
});

describe('the SQL functions on a RemoteCatalog (another process)', () => {
  it.each(['journal', 'duckdb'] as const)("commit '%s': DDL in SQL persists through the owner; semantic_query works there", async (commit) => {
    const owner = await Catalog.open(path, { commit });
    try {
      const result = await party(['remote', 'ddl']);
      expect(result).toEqual({ sqlRows: ROWS, apiRows: ROWS, views: ['sales'], commit, remote: true });
      await owner.sync();
      expect(owner.list()).toEqual(['sales']);
      expect(owner.get('sales')).toEqual(SALES);
    } finally {
      await owner.close();
    }
    expect(await reopened()).toEqual([
      { names: ['sales'], sales: SALES },
      { names: ['sales'], sales: SALES },
    ]);
  });

  it("commit 'duckdb', default pool: every concurrent DDL call completes (the owner commits with its own process's pool)", async () => {
    const owner = await Catalog.open(path, { commit: 'duckdb', timeoutMs: 10_000 });
    try {
      const result = await party(['remote', 'pool', '8']);
      expect(result).toMatchObject({ completed: 8, failed: 0, usableAfter: true, commit: 'duckdb' });
    } finally {
      await owner.close();
    }
  });
});
