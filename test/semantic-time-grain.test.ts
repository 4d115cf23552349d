/**
 * Issue 17: a DATE/TIMESTAMP dimension asked for at a time granularity,
 * `'<dimension>__<grain>'` (day, week, month, quarter, year), rendered with date_trunc.
 * Each answer is compared with hand-written SQL over the same small tables.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from 'duckcat';
import type { CatalogInvalidError } from '../src/shared/errors.js';
import { validateSemanticView } from '../src/shared/semantic-view.js';
import { parseDimensionName, TIME_GRAINS } from '../src/shared/semantic-view-plan.js';
import { semanticViewSql } from '../src/shared/semantic-view-sql.js';
import { closeMemoryHost, openMemoryHost } from './helpers/memory-host.js';

const shop = {
  base_table: 'orders',
  primary_key: 'id',
  joins: [
    { table: 'customers', alias: 'c', on: 'orders.customer_id = c.id', type: 'left', primary_key: 'id' },
    { table: 'lines', alias: 'l', on: 'l.order_id = orders.id', type: 'left', primary_key: 'line_id' },
  ],
  dimensions: [
    { name: 'ordered_at', expr: 'orders.ordered_at' },
    { name: 'ordered_on', expr: 'orders.ordered_on' },
    { name: 'signed_up', expr: 'c.signed_up' },
    { name: 'region', expr: 'c.region' },
    // An exact name wins over the grain syntax.
    { name: 'region__day', expr: "'literal'" },
  ],
  metrics: [
    { name: 'revenue', expr: 'orders.amount', agg: 'sum' },
    { name: 'orders', expr: 'orders.id', agg: 'count' },
    { name: 'quantity', expr: 'l.qty', agg: 'sum' },
  ],
};

function refusal(query: object): CatalogInvalidError {
  try {
    semanticViewSql('shop', validateSemanticView(shop), query);
  } catch (error) {
    return error as CatalogInvalidError;
  }
  throw new Error('expected a refusal');
}

describe('time granularity, planned without DuckDB', () => {
  const view = validateSemanticView(shop);

  it('renders date_trunc and names the column <dimension>__<grain>', () => {
    const sql = semanticViewSql('shop', view, { dimensions: ['ordered_at__MONTH'], metrics: ['revenue'] });
    expect(sql).toContain(`(date_trunc('month', orders.ordered_at)) AS "ordered_at__month"`);
    expect(sql).not.toContain('JOIN');
  });

  it('resolves names: exact first, then a known grain, else unknown', () => {
    const isDimension = (name: string) => ['ordered_at', 'a__b'].includes(name.toLowerCase());
    expect(parseDimensionName('ordered_at', isDimension)).toEqual({ base: 'ordered_at' });
    expect(parseDimensionName('A__B', isDimension)).toEqual({ base: 'A__B' });
    for (const grain of TIME_GRAINS) expect(parseDimensionName(`ordered_at__${grain.toUpperCase()}`, isDimension)).toEqual({ base: 'ordered_at', grain });
    expect(parseDimensionName('nope__month', isDimension)).toBeUndefined();
    expect(parseDimensionName('__month', isDimension)).toBeUndefined();
    expect(() => parseDimensionName('ordered_at__hour', isDimension)).toThrow(/unknown time granularity "hour" for dimension "ordered_at"; use one of: day, week, month, quarter, year/);
  });

  it('refuses an unknown granularity, an unknown dimension and the same grain twice', () => {
    const unknownGrain = refusal({ dimensions: ['ordered_at__fortnight'] });
    expect(unknownGrain.code).toBe('ERR_CATALOG_INVALID');
    expect(unknownGrain.field).toBe('dimensions');
    expect(unknownGrain.message).toMatch(/unknown time granularity "fortnight" for dimension "ordered_at"/);
    expect(refusal({ dimensions: ['shipped_at__month'] }).message).toMatch(/unknown dimension "shipped_at__month".*valid dimensions: ordered_at/);
    expect(refusal({ dimensions: ['ordered_at__month', 'ORDERED_AT__Month'] }).message).toMatch(/asked for twice/);
    // A metric condition may not name a dimension requested only at a grain.
    expect(refusal({ dimensions: ['ordered_at__month'], metrics: ['revenue'], where: 'revenue > ordered_at' }).message).toMatch(/dimension "ordered_at", which is not requested/);
  });

  it('keeps an exact dimension name that looks like a grain', () => {
    const sql = semanticViewSql('shop', view, { dimensions: ['region__day'] });
    expect(sql).toContain(`('literal') AS "region__day"`);
    expect(sql).not.toContain('date_trunc');
  });
});

describe('time granularity through cat.query, against hand-written SQL', () => {
  let cat: Catalog;
  let host: DuckDBInstance;
  let connection: DuckDBConnection;

  beforeAll(async () => {
    ({ cat, host, connection } = await openMemoryHost());
    await connection.run(`
      CREATE TABLE customers (id INTEGER, region VARCHAR, signed_up DATE);
      INSERT INTO customers VALUES (1, 'EU', DATE '2023-12-31'), (2, 'US', DATE '2024-03-01'), (3, 'EU', NULL);
      CREATE TABLE orders (id INTEGER, customer_id INTEGER, amount INTEGER, ordered_on DATE, ordered_at TIMESTAMP);
      INSERT INTO orders VALUES
        (1, 1, 100, DATE '2024-01-01', TIMESTAMP '2024-01-01 00:00:00'),
        (2, 1, 40, DATE '2024-01-31', TIMESTAMP '2024-01-31 23:59:59.999999'),
        (3, 2, 70, DATE '2024-02-01', TIMESTAMP '2024-02-01 00:00:00.000001'),
        (4, 3, 30, DATE '2024-06-30', TIMESTAMP '2024-06-30 12:00:00'),
        (5, 2, 25, DATE '2024-12-30', TIMESTAMP '2024-12-30 08:00:00'),
        (6, NULL, 5, NULL, NULL);
      CREATE TABLE lines (line_id INTEGER, order_id INTEGER, qty INTEGER);
      INSERT INTO lines VALUES (1, 1, 2), (2, 1, 3), (3, 3, 1), (4, 5, 4), (5, 5, 1), (6, 5, 1);`);
    cat.defineSync('shop', validateSemanticView(shop));
  });

  afterAll(() => closeMemoryHost({ cat, host, connection }));

  // cat.query returns counts and integer sums as numbers (its `bigint` default); DuckDB's reader gives bigint.
  const rows = async (sql: string) =>
    (await connection.runAndReadAll(sql)).getRowObjectsJS().map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, typeof value === 'bigint' ? Number(value) : value])));
  const plain = (list: readonly object[]) => list.map((row) => ({ ...row }));

  it.each(TIME_GRAINS)('revenue by ordered_at__%s and by ordered_on at that grain', async (grain) => {
    for (const column of ['ordered_at', 'ordered_on']) {
      const got = await cat.query(connection, 'shop', { dimensions: [`${column}__${grain}`], metrics: ['revenue', 'orders'] });
      const want = await rows(`
        SELECT date_trunc('${grain}', ${column}) AS "${column}__${grain}", sum(amount) AS revenue, count(id) AS orders
        FROM orders GROUP BY 1 ORDER BY 1 NULLS LAST`);
      expect(plain(got)).toEqual(want);
    }
  });

  it('puts week on Monday, quarter and year on their first day', async () => {
    const got = await cat.query(connection, 'shop', { dimensions: ['ordered_on__week', 'ordered_on__quarter', 'ordered_on__year', 'ordered_on'], where: 'ordered_on IS NOT NULL', values: 'exact' });
    const text = (value: unknown) => (value instanceof Date ? value.toISOString().slice(0, 10) : String(value));
    expect(plain(got).map((r) => Object.values(r).map(text))).toEqual([
      ['2024-01-01 00:00:00', '2024-01-01 00:00:00', '2024-01-01 00:00:00', '2024-01-01'],
      ['2024-01-29 00:00:00', '2024-01-01 00:00:00', '2024-01-01 00:00:00', '2024-01-31'],
      ['2024-01-29 00:00:00', '2024-01-01 00:00:00', '2024-01-01 00:00:00', '2024-02-01'],
      ['2024-06-24 00:00:00', '2024-04-01 00:00:00', '2024-01-01 00:00:00', '2024-06-30'],
      ['2024-12-30 00:00:00', '2024-10-01 00:00:00', '2024-01-01 00:00:00', '2024-12-30'],
    ]);
  });

  it('a joined dimension at a grain, with a fan-out metric computed at its own grain, filtered and ordered', async () => {
    const got = await cat.query(connection, 'shop', {
      dimensions: ['signed_up__year', 'ordered_at__quarter'],
      metrics: ['revenue', 'quantity'],
      where: "region = 'EU' OR region = 'US'",
      order: [{ name: 'revenue', direction: 'desc' }],
    });
    const want = await rows(`
      WITH o AS (
        SELECT date_trunc('year', c.signed_up) AS y, date_trunc('quarter', o.ordered_at) AS q, o.id, o.amount
        FROM orders o LEFT JOIN customers c ON o.customer_id = c.id WHERE c.region IN ('EU', 'US'))
      SELECT y AS signed_up__year, q AS ordered_at__quarter, sum(amount) AS revenue,
             (SELECT sum(l.qty) FROM lines l JOIN o o2 ON l.order_id = o2.id WHERE o2.y IS NOT DISTINCT FROM o.y AND o2.q IS NOT DISTINCT FROM o.q) AS quantity
      FROM o GROUP BY y, q ORDER BY revenue DESC, y NULLS LAST, q NULLS LAST`);
    expect(plain(got)).toEqual(want);
    expect(got.length).toBeGreaterThan(2);
  });

  it('a metric condition and a limit/offset with a grain', async () => {
    const got = await cat.query(connection, 'shop', { dimensions: ['ordered_at__month'], metrics: ['revenue'], where: 'revenue >= 30', order: ['ordered_at__month'], limit: 2, offset: 1 });
    const want = await rows(`
      SELECT date_trunc('month', ordered_at) AS ordered_at__month, sum(amount) AS revenue
      FROM orders GROUP BY 1 HAVING sum(amount) >= 30 ORDER BY 1 NULLS LAST LIMIT 2 OFFSET 1`);
    expect(plain(got)).toEqual(want);
  });

  it('fails in DuckDB for a dimension that is not a date, naming the dimension', async () => {
    const error = await cat.query(connection, 'shop', { dimensions: ['signed_up__month', 'region__month'] }).then(
      () => expect.unreachable(),
      (e: unknown) => e as CatalogInvalidError,
    );
    expect(error.code).toBe('ERR_CATALOG_INVALID');
    expect(error.message).toMatch(/semantic view "shop": dimension "region__month" fails in DuckDB: .*date_trunc/s);
    expect(error.field).toBe('definition.dimensions[3]');
  });
});
