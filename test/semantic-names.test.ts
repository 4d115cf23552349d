/**
 * Issue 17 items 3 and 4: in `where` and in member expressions, a dimension or metric name
 * means that member. Dimension conditions apply to rows, metric conditions to groups.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CatalogInvalidError } from '../src/shared/errors.js';
import { validateSemanticView } from '../src/shared/semantic-view.js';
import { semanticViewSql, type SemanticViewQuery } from '../src/shared/semantic-view-sql.js';

let host: DuckDBInstance;
let connection: DuckDBConnection;

beforeAll(async () => {
  host = await DuckDBInstance.create(':memory:');
  connection = await host.connect();
  await connection.run(`
    CREATE TABLE customers (id INTEGER, region VARCHAR);
    INSERT INTO customers VALUES (1, 'EU'), (2, 'US');
    CREATE TABLE orders (id INTEGER, customer_id INTEGER, amount INTEGER, status VARCHAR);
    INSERT INTO orders VALUES (1, 1, 100, 'paid'), (2, 1, 50, 'open'), (3, 2, 70, 'paid'), (4, 9, 30, 'paid'), (5, 2, 20, 'paid');`);
});

afterAll(() => {
  connection?.closeSync();
  host?.closeSync();
});

async function rows(sql: string): Promise<Array<Record<string, unknown>>> {
  const reader = await connection.runAndReadAll(sql);
  return reader.getRowObjectsJS().map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
}

const view = {
  base_table: 'orders',
  alias: 'o',
  joins: [{ table: 'customers', alias: 'c', on: 'o.customer_id = c.id', primary_key: 'id' }],
  dimensions: [
    { name: 'status', expr: 'upper(o.status)' },
    { name: 'region', expr: "coalesce(c.region, 'unknown')" },
    { name: 'region_label', expr: "'Region: ' || region" },
  ],
  metrics: [
    { name: 'amount', expr: 'o.amount', agg: 'sum' },
    { name: 'orders', expr: '*', agg: 'count' },
    { name: 'per_order', expr: 'amount / orders' },
    { name: 'per_order_pct', expr: '100 * per_order / amount' },
  ],
};

async function answer(query: SemanticViewQuery): Promise<Array<Record<string, unknown>>> {
  return rows(semanticViewSql('v', validateSemanticView(view), query));
}

describe('names in where mean members', () => {
  it('compares a dimension, not the column it reads: status = PAID', async () => {
    expect(await answer({ metrics: ['amount'], where: "status = 'PAID'" })).toEqual(
      await rows("SELECT sum(amount)::BIGINT AS amount FROM orders WHERE upper(status) = 'PAID'"),
    );
    expect(await answer({ metrics: ['amount'], where: "status = 'PAID'" })).toEqual([{ amount: 220 }]);
  });

  it('filters on a dimension that is not requested, through its join: region = unknown', async () => {
    expect(await answer({ metrics: ['amount'], where: "region = 'unknown'" })).toEqual([{ amount: 30 }]);
    expect(await answer({ dimensions: ['status'], metrics: ['orders'], where: "region = 'EU'" })).toEqual(
      await rows(`SELECT upper(o.status) AS status, count(*) AS orders FROM orders o JOIN customers c ON o.customer_id = c.id WHERE c.region = 'EU' GROUP BY 1 ORDER BY 1`),
    );
  });

  it('applies a condition on a metric to groups (HAVING), not to rows', async () => {
    expect(await answer({ dimensions: ['region'], metrics: ['orders'], where: 'amount > 60' })).toEqual(
      await rows(`
        SELECT coalesce(c.region, 'unknown') AS region, count(*) AS orders FROM orders o LEFT JOIN customers c ON o.customer_id = c.id
        GROUP BY 1 HAVING sum(o.amount) > 60 ORDER BY 1`),
    );
    // Mixed: the row part and the group part of one where.
    expect(await answer({ dimensions: ['region'], metrics: ['amount'], where: "status = 'PAID' AND amount >= 90" })).toEqual([
      { region: 'EU', amount: 100 },
      { region: 'US', amount: 90 },
    ]);
  });

  it('keeps plain SQL over columns working in where', async () => {
    expect(await answer({ metrics: ['amount'], where: 'o.amount > 60' })).toEqual([{ amount: 170 }]);
  });

  it('refuses a metric condition that reads a column, or a dimension that is not requested', () => {
    const v = validateSemanticView(view);
    expect(() => semanticViewSql('v', v, { metrics: ['amount'], where: 'amount > o.amount' })).toThrow(/only metric names, requested dimension names and constants/);
    expect(() => semanticViewSql('v', v, { metrics: ['amount'], where: "amount > 1 OR region = 'EU'" })).toThrow(/dimension "region", which is not requested/);
  });
});

describe('members that name other members', () => {
  it('derives a dimension from another dimension, not from the column: Region: unknown', async () => {
    expect(await answer({ dimensions: ['region_label'], metrics: ['amount'] })).toEqual([
      { region_label: 'Region: EU', amount: 150 },
      { region_label: 'Region: US', amount: 90 },
      { region_label: 'Region: unknown', amount: 30 },
    ]);
  });

  it('derives metrics from metrics in any request order, including derived from derived', async () => {
    const expected = await rows(`
      SELECT upper(status) AS status, sum(amount) / count(*) AS per_order, 100 * (sum(amount) / count(*)) / sum(amount) AS per_order_pct
      FROM orders GROUP BY 1 ORDER BY 1`);
    expect(await answer({ dimensions: ['status'], metrics: ['per_order', 'per_order_pct'] })).toEqual(expected);
    expect(await answer({ dimensions: ['status'], metrics: ['per_order_pct', 'orders', 'per_order'] })).toEqual(
      expected.map((r) => ({ status: r.status, per_order_pct: r.per_order_pct, orders: r.status === 'OPEN' ? 1 : 4, per_order: r.per_order })),
    );
  });

  it('means the column when a member names itself, and when a name is quoted', async () => {
    const own = { base_table: 'orders', dimensions: [{ name: 'status', expr: 'upper(status)' }], metrics: [{ name: 'n', expr: '"status"', agg: 'count_distinct' }] };
    expect(await rows(semanticViewSql('v', validateSemanticView(own), { dimensions: ['status'], metrics: ['n'] }))).toEqual([
      { status: 'OPEN', n: 1 },
      { status: 'PAID', n: 1 },
    ]);
  });

  it('refuses cycles when the view is defined', () => {
    const cyclic = {
      base_table: 't',
      dimensions: [
        { name: 'a', expr: 'b + 1' },
        { name: 'b', expr: 'a + 1' },
      ],
      metrics: [],
    };
    expect(() => validateSemanticView(cyclic)).toThrow(/members name each other in a cycle: a → b → a/);
    const metrics = { base_table: 't', dimensions: [], metrics: [{ name: 'x', expr: 'y * 2' }, { name: 'y', expr: 'x / 2' }] };
    try {
      validateSemanticView(metrics);
      expect.unreachable();
    } catch (error) {
      expect((error as CatalogInvalidError).code).toBe('ERR_CATALOG_INVALID');
      expect((error as CatalogInvalidError).field).toBe('definition.metrics[0].expr');
    }
  });
});
