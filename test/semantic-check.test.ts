/**
 * Issue 17: checking a semantic view against a connection's tables (DESCRIBE each table,
 * bind each filter, dimension and metric alone) and reporting per part.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from 'duckcat';
import { validateSemanticView } from '../src/shared/semantic-view.js';

const shop = {
  base_table: 'orders',
  joins: [{ table: 'customers', alias: 'c', on: 'orders.customer_id = c.id', type: 'left', primary_key: 'id' }],
  dimensions: [
    { name: 'region', expr: 'c.region' },
    { name: 'status', expr: 'orders.status' },
  ],
  metrics: [
    { name: 'revenue', expr: 'orders.amount', agg: 'sum' },
    { name: 'credit', expr: 'c.credit', agg: 'sum' },
  ],
  filters: ['orders.amount > 0'],
};

describe('cat.check(connection, name)', () => {
  let cat: Catalog;
  let host: DuckDBInstance;
  let connection: DuckDBConnection;
  const check = (name: string) => cat.check(connection, name);

  beforeAll(async () => {
    cat = await Catalog.open();
    host = await DuckDBInstance.create(':memory:');
    connection = await host.connect();
    cat.defineSync('shop', validateSemanticView(shop));
  });

  afterAll(async () => {
    connection?.closeSync();
    host?.closeSync();
    await cat?.close();
  });

  it('reports every part as failing when no table exists', async () => {
    const report = await check('shop');
    expect(report.ok).toBe(false);
    expect(report.items.map((i) => [i.kind, i.field, i.ok])).toEqual([
      ['table', 'base_table', false],
      ['table', 'joins[0]', false],
      ['filter', 'filters[0]', false],
      ['dimension', 'dimensions[0]', false],
      ['dimension', 'dimensions[1]', false],
      ['metric', 'metrics[0]', false],
      ['metric', 'metrics[1]', false],
    ]);
    expect(report.items[0]!.error).toMatch(/orders/);
  });

  it('names the member whose column is missing, and lists the columns of existing tables', async () => {
    await connection.run(`
      CREATE TABLE orders (id INTEGER, customer_id INTEGER, amount INTEGER, status VARCHAR);
      CREATE TABLE customers (id INTEGER, region VARCHAR);`);
    const report = await check('shop');
    expect(report.ok).toBe(false);
    const failing = report.items.filter((i) => !i.ok);
    expect(failing.map((i) => [i.kind, i.name, i.field])).toEqual([['metric', 'credit', 'metrics[1]']]);
    expect(failing[0]!.error).toMatch(/credit/);
    expect(report.items[1]!.columns).toEqual([
      { name: 'id', type: 'INTEGER' },
      { name: 'region', type: 'VARCHAR' },
    ]);
    expect(report.items[1]!.name).toBe('customers AS c');
  });

  it('is ok once every column exists, and reads no rows', async () => {
    await connection.run(`ALTER TABLE customers ADD COLUMN credit INTEGER; INSERT INTO orders VALUES (1, 1, 10, 'paid');`);
    const report = await check('shop');
    expect(report.items.filter((i) => !i.ok)).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('throws for a view that does not exist', async () => {
    await expect(check('ghost')).rejects.toMatchObject({ code: 'ERR_CATALOG_NOT_FOUND', name: 'CatalogNotFoundError', definitionName: 'ghost' });
  });
});
