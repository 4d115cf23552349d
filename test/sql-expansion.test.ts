import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog, catalogErrorFromSql, type CatalogError } from 'duckcat';
import { validateSemanticView } from '../src/shared/semantic-view.js';
import { semanticViewSql } from '../src/shared/semantic-view-sql.js';
import { closeMemoryHost, openMemoryHost } from './helpers/memory-host.js';

const salesJson = {
  base_table: 'orders',
  alias: 'o',
  joins: [{ table: 'customers', alias: 'c', on: 'o.customer_id = c.id', primary_key: 'id' }],
  dimensions: [
    { name: 'region', expr: 'c.region' },
    { name: 'month', expr: "strftime(o.ordered_at, '%Y-%m')" },
  ],
  metrics: [
    { name: 'revenue', expr: 'o.amount', agg: 'sum' },
    { name: 'orders', expr: '*', agg: 'count' },
    { name: 'customers', expr: 'o.customer_id', agg: 'count_distinct' },
    { name: 'smallest', expr: 'o.amount', agg: 'min' },
    { name: 'largest', expr: 'o.amount', agg: 'max' },
    { name: 'avg_ticket', expr: 'o.amount', agg: 'avg' },
    { name: 'ticket_ratio', expr: 'sum(o.amount) / count(*)' },
  ],
  filters: ["o.status <> 'cancelled'"],
};

describe('semanticViewSql', () => {
  const view = validateSemanticView(salesJson);

  it('writes one SELECT with joins, filters, GROUP BY and ORDER BY the dimensions', () => {
    expect(semanticViewSql('sales', view, { dimensions: ['region'], metrics: ['revenue', 'customers'], where: 'o.amount > 0', limit: 5 })).toBe(
      [
        'SELECT (c.region) AS "region", sum((o.amount)) AS "revenue", count(DISTINCT (o.customer_id)) AS "customers"',
        'FROM orders AS o',
        'LEFT JOIN customers AS c ON (o.customer_id = c.id)',
        "WHERE (o.status <> 'cancelled') AND (o.amount > 0)",
        'GROUP BY 1',
        'ORDER BY 1',
        'LIMIT 5',
      ].join('\n'),
    );
  });

  it('has no GROUP BY for metrics alone and uses DISTINCT for dimensions alone', () => {
    expect(semanticViewSql('sales', view, { metrics: ['orders'] })).not.toMatch(/GROUP BY|ORDER BY/);
    expect(semanticViewSql('sales', view, { dimensions: ['region'] })).toMatch(/^SELECT DISTINCT \(c.region\) AS "region"\n[\s\S]*ORDER BY 1$/);
  });

  it('keeps * bare so count(*) stays valid SQL', () => {
    expect(semanticViewSql('sales', view, { metrics: ['orders'] })).toMatch(/^SELECT count\(\*\) AS "orders"\n/);
  });

  it('matches names without regard to case and keeps the defined spelling as column name', () => {
    expect(semanticViewSql('sales', view, { dimensions: ['REGION'], metrics: [] })).toContain('AS "region"');
  });

  it.each([
    [{ dimensions: ['country'] }, 'dimensions', /unknown dimension "country" in semantic view "sales"; valid dimensions: region, month/],
    [{ metrics: ['profit'] }, 'metrics', /unknown metric "profit" .* valid metrics: revenue, orders, customers, smallest, largest, avg_ticket, ticket_ratio/],
    [{ metrics: ['revenue', 'Revenue'] }, 'metrics[1]', /asked for twice/],
    [{}, 'query', /at least one dimension or metric/],
    [{ metrics: ['orders'], where: '1 = 1; DELETE FROM orders' }, 'where', /without ";"/],
    [{ metrics: ['orders'], limit: 0 }, 'limit', /positive integer, got 0/],
    [{ metrics: ['orders'], limit: 1.5 }, 'limit', /positive integer/],
  ])('refuses %j with ERR_CATALOG_INVALID on %s', (query, field, message) => {
    try {
      semanticViewSql('sales', view, query);
      expect.unreachable();
    } catch (error) {
      expect((error as CatalogError).code).toBe('ERR_CATALOG_INVALID');
      expect((error as { field: string }).field).toBe(field);
      expect((error as Error).message).toMatch(message);
    }
  });
});

describe('expansion on a real table', () => {
  let cat: Catalog;
  let host: DuckDBInstance;
  let connection: DuckDBConnection;

  beforeAll(async () => {
    ({ cat, host, connection } = await openMemoryHost());
    await connection.run(`
      CREATE TABLE customers (id INTEGER, region VARCHAR);
      INSERT INTO customers VALUES (1, 'EU'), (2, 'US'), (3, 'EU');
      CREATE TABLE orders (id INTEGER, customer_id INTEGER, amount INTEGER, status VARCHAR, ordered_at DATE);
      INSERT INTO orders VALUES
        (1, 1, 100, 'paid', '2024-01-05'),
        (2, 1,  50, 'paid', '2024-02-10'),
        (3, 2,  70, 'paid', '2024-01-20'),
        (4, 3,  30, 'cancelled', '2024-01-21'),
        (5, 3,  20, 'paid', '2024-02-01'),
        (6, 2,  80, 'paid', '2024-02-15');`);
    await cat.attach(connection);
    await connection.run(`SELECT define_semantic_view('sales', $1)`, [JSON.stringify(salesJson)]);
  });

  afterAll(() => closeMemoryHost({ cat, host, connection }));

  it('aggregates every metric per region, leaving out the filtered rows', async () => {
    const rows = await cat.query(connection, 'sales', {
      dimensions: ['region'],
      metrics: ['revenue', 'orders', 'customers', 'smallest', 'largest', 'avg_ticket', 'ticket_ratio'],
    });
    expect(rows).toEqual([
      { region: 'EU', revenue: 170, orders: 3, customers: 2, smallest: 20, largest: 100, avg_ticket: 170 / 3, ticket_ratio: 170 / 3 },
      { region: 'US', revenue: 150, orders: 2, customers: 1, smallest: 70, largest: 80, avg_ticket: 75, ticket_ratio: 75 },
    ]);
  });

  it('groups by two dimensions in the order asked', async () => {
    const rows = await cat.query(connection, 'sales', { dimensions: ['month', 'region'], metrics: ['revenue'] });
    expect(rows).toEqual([
      { month: '2024-01', region: 'EU', revenue: 100 },
      { month: '2024-01', region: 'US', revenue: 70 },
      { month: '2024-02', region: 'EU', revenue: 70 },
      { month: '2024-02', region: 'US', revenue: 80 },
    ]);
  });

  it('computes a grand total without dimensions, and applies where and limit', async () => {
    expect(await cat.query(connection, 'sales', { metrics: ['revenue', 'orders'] })).toEqual([{ revenue: 320, orders: 5 }]);
    expect(await cat.query(connection, 'sales', { dimensions: ['region'], metrics: ['revenue'], where: 'o.amount >= 50' })).toEqual([
      { region: 'EU', revenue: 150 },
      { region: 'US', revenue: 150 },
    ]);
    expect(await cat.query(connection, 'sales', { dimensions: ['region'], metrics: ['revenue'], limit: 1 })).toEqual([{ region: 'EU', revenue: 170 }]);
    expect(await cat.query(connection, 'sales', { dimensions: ['region'] })).toEqual([{ region: 'EU' }, { region: 'US' }]);
  });

  it('runs the same expansion inside SQL through query(semantic_view_sql(...))', async () => {
    const reader = await connection.runAndReadAll(
      "SELECT region, revenue::INTEGER AS revenue FROM query(semantic_view_sql('sales', ['region'], ['revenue']))",
    );
    expect(reader.getRowObjectsJS()).toEqual([
      { region: 'EU', revenue: 170 },
      { region: 'US', revenue: 150 },
    ]);
    // The text, written by hand from the rules in the README ("How numbers are computed"):
    // nothing reads customers, so the join is left out; the filter stays; * stays bare.
    const text = await connection.runAndReadAll("SELECT semantic_view_sql('sales', ['month'], ['orders'])");
    const sql = text.getRows()[0]![0] as string;
    expect(sql).toBe(
      [
        `SELECT (strftime(o.ordered_at, '%Y-%m')) AS "month", count(*) AS "orders"`,
        'FROM orders AS o',
        "WHERE (o.status <> 'cancelled')",
        'GROUP BY 1',
        'ORDER BY 1',
      ].join('\n'),
    );
    // And it counts what the fixture holds: paid orders 1 and 3 in January, 2, 5 and 6 in February.
    const counted = await connection.runAndReadAll(`SELECT "month", "orders"::INTEGER AS "orders" FROM (${sql})`);
    expect(counted.getRowObjectsJS()).toEqual([
      { month: '2024-01', orders: 2 },
      { month: '2024-02', orders: 3 },
    ]);
  });

  it('follows a replaced definition on the next query', async () => {
    await connection.run(`SELECT replace_semantic_view('sales_v2', $1)`, [JSON.stringify({ ...salesJson, filters: [] })]);
    expect(await cat.query(connection, 'sales_v2', { metrics: ['revenue'] })).toEqual([{ revenue: 350 }]);
    await connection.run(`SELECT replace_semantic_view('sales_v2', $1)`, [JSON.stringify({ ...salesJson, filters: ['o.amount > 60'] })]);
    expect(await cat.query(connection, 'sales_v2', { metrics: ['revenue'] })).toEqual([{ revenue: 250 }]);
  });

  it('names the valid dimensions and metrics when asked for unknown ones, in TS and in SQL', async () => {
    await expect(cat.query(connection, 'sales', { dimensions: ['country'] })).rejects.toMatchObject({
      code: 'ERR_CATALOG_INVALID',
      message: expect.stringContaining('valid dimensions: region, month'),
    });
    const error = await connection.run("SELECT semantic_view_sql('sales', [], ['profit'])").catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/ERR_CATALOG_INVALID: invalid metrics: unknown metric "profit" in semantic view "sales"; valid metrics: revenue, /);
    expect(catalogErrorFromSql(error)?.code).toBe('ERR_CATALOG_INVALID');
  });

  it('refuses unknown views and entries that are not semantic views', async () => {
    await expect(cat.query(connection, 'nope', { metrics: ['x'] })).rejects.toMatchObject({ code: 'ERR_CATALOG_NOT_FOUND' });
    cat.defineSync('plain', { hello: 'world' });
    await expect(cat.query(connection, 'plain', { metrics: ['x'] })).rejects.toMatchObject({
      code: 'ERR_CATALOG_INVALID',
      message: expect.stringContaining('"plain" is not a semantic view'),
    });
  });

  it('passes DuckDB errors on the generated SQL through unchanged', async () => {
    cat.defineSync('ghost', validateSemanticView({ base_table: 'no_such_table', dimensions: [], metrics: [{ name: 'n', expr: 'count(*)' }] }));
    await expect(cat.query(connection, 'ghost', { metrics: ['n'] })).rejects.toThrow(/Table with name no_such_table does not exist/);
  });
});
