/**
 * Issue 16 item 5 and issue 17 item 2: joins are emitted only when needed, and a metric
 * is never multiplied by the rows a join repeats. Each answer is compared with SQL written
 * by hand on the same data, where the naive single-SELECT expansion would be wrong.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateSemanticView } from '../src/shared/semantic-view.js';
import { semanticViewSql, type SemanticViewQuery } from '../src/shared/semantic-view-sql.js';

let host: DuckDBInstance;
let connection: DuckDBConnection;

beforeAll(async () => {
  host = await DuckDBInstance.create(':memory:');
  connection = await host.connect();
  await connection.run(`
    CREATE TABLE orders (id INTEGER, amount INTEGER, region VARCHAR, customer_id INTEGER);
    INSERT INTO orders VALUES (1, 100, 'EU', 1), (2, 50, 'US', 2);
    CREATE TABLE items (id INTEGER, order_id INTEGER, sku VARCHAR);
    INSERT INTO items VALUES (1, 1, 'a'), (2, 1, 'a'), (3, 1, 'b');
    CREATE TABLE customers (id INTEGER, region VARCHAR, credit_limit INTEGER, age INTEGER);
    INSERT INTO customers VALUES (1, 'EU', 1000, 20), (2, 'EU', 500, 60), (3, 'US', 700, 40);
    CREATE TABLE sales (id INTEGER, customer_id INTEGER, amount INTEGER);
    INSERT INTO sales VALUES (1, 1, 10), (2, 1, 20), (3, 1, 30), (4, 2, 40), (5, 3, 50), (6, 9, 60);
    CREATE TABLE lines (id INTEGER, sale_id INTEGER, qty INTEGER);
    INSERT INTO lines VALUES (1, 1, 1), (2, 1, 2), (3, 2, 1), (4, 3, 1), (5, 4, 1), (6, 5, 1), (7, 6, 1);
    CREATE TABLE returns (sale_id INTEGER);
    INSERT INTO returns VALUES (1);`);
});

afterAll(() => {
  connection?.closeSync();
  host?.closeSync();
});

/** Rows as plain objects with numbers (bigint and DECIMAL become number) for comparison. */
async function rows(sql: string): Promise<Array<Record<string, unknown>>> {
  const reader = await connection.runAndReadAll(sql);
  return reader.getRowObjectsJS().map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
}

async function answer(view: unknown, query: SemanticViewQuery): Promise<Array<Record<string, unknown>>> {
  return rows(semanticViewSql('v', validateSemanticView(view), query));
}

const ordersView = {
  base_table: 'orders',
  alias: 'o',
  primary_key: 'id',
  joins: [{ table: 'items', alias: 'i', on: 'i.order_id = o.id', primary_key: 'id' }],
  dimensions: [
    { name: 'region', expr: 'o.region' },
    { name: 'sku', expr: 'i.sku' },
  ],
  metrics: [
    { name: 'revenue', expr: 'o.amount', agg: 'sum' },
    { name: 'items', expr: '*', agg: 'count', source_table: 'i' },
  ],
};

describe("issue 16's orders and items (three items for order 1)", () => {
  it('answers revenue by region as EU 100, US 50 and does not join items', async () => {
    const view = validateSemanticView(ordersView);
    expect(semanticViewSql('v', view, { dimensions: ['region'], metrics: ['revenue'] })).not.toMatch(/items/);
    expect(await answer(ordersView, { dimensions: ['region'], metrics: ['revenue'] })).toEqual(
      await rows('SELECT region, sum(amount)::BIGINT AS revenue FROM orders GROUP BY 1 ORDER BY 1'),
    );
    expect(await answer(ordersView, { dimensions: ['region'], metrics: ['revenue'] })).toEqual([
      { region: 'EU', revenue: 100 },
      { region: 'US', revenue: 50 },
    ]);
    expect(await answer(ordersView, { metrics: ['revenue'] })).toEqual([{ revenue: 150 }]);
  });

  it('counts each order once when the query does need the items (revenue and items by region)', async () => {
    expect(await answer(ordersView, { dimensions: ['region'], metrics: ['revenue', 'items'] })).toEqual(
      await rows(`
        SELECT o.region, sum(o.amount)::BIGINT AS revenue, (SELECT count(*) FROM items i JOIN orders x ON i.order_id = x.id WHERE x.region IS NOT DISTINCT FROM o.region) AS items
        FROM orders o GROUP BY 1 ORDER BY 1`),
    );
    expect(await answer(ordersView, { metrics: ['revenue', 'items'] })).toEqual([{ revenue: 150, items: 3 }]);
  });

  it('gives revenue by a dimension of the many side: each order once per sku it has', async () => {
    expect(await answer(ordersView, { dimensions: ['sku'], metrics: ['revenue', 'items'] })).toEqual(
      await rows(`
        WITH pairs AS (SELECT DISTINCT i.sku, o.id FROM orders o LEFT JOIN items i ON i.order_id = o.id)
        SELECT p.sku, sum(o.amount)::BIGINT AS revenue, (SELECT count(*) FROM items i WHERE i.sku IS NOT DISTINCT FROM p.sku) AS items
        FROM pairs p JOIN orders o ON o.id = p.id GROUP BY 1 ORDER BY 1 NULLS LAST`),
    );
    expect(await answer(ordersView, { dimensions: ['sku'], metrics: ['revenue'] })).toEqual([
      { sku: 'a', revenue: 100 },
      { sku: 'b', revenue: 100 },
      { sku: null, revenue: 50 },
    ]);
  });

  it('filters on a column of the many side without inflating: orders having an item of sku a', async () => {
    expect(await answer(ordersView, { dimensions: ['region'], metrics: ['revenue'], where: "i.sku = 'a'" })).toEqual(
      await rows("SELECT region, sum(amount)::BIGINT AS revenue FROM orders WHERE id IN (SELECT order_id FROM items WHERE sku = 'a') GROUP BY 1 ORDER BY 1"),
    );
  });

  it('refuses, naming the key to declare, when the grain table has no primary_key', async () => {
    const { primary_key: _unused, ...withoutKey } = ordersView;
    const view = validateSemanticView(withoutKey);
    expect(() => semanticViewSql('v', view, { dimensions: ['sku'], metrics: ['revenue'] })).toThrow(
      /metric "revenue" of semantic view "v" could be counted more than once: join "i" may match several rows per row of the base table "o"; declare primary_key on join "i" if each row .* otherwise on the base table/,
    );
    // A query that needs no join is still answered.
    expect(semanticViewSql('v', view, { dimensions: ['region'], metrics: ['revenue'] })).not.toMatch(/JOIN/);
    const noItemKey = { ...ordersView, joins: [{ table: 'items', alias: 'i', on: 'i.order_id = o.id' }] };
    expect(() => semanticViewSql('v', validateSemanticView(noItemKey), { metrics: ['items'] })).toThrow(/declare primary_key on join "i"/);
  });
});

const salesView = {
  base_table: 'sales',
  alias: 's',
  primary_key: 'id',
  joins: [
    { table: 'customers', alias: 'c', on: 's.customer_id = c.id', primary_key: 'id' },
    { table: 'lines', alias: 'l', on: 'l.sale_id = s.id', primary_key: 'id' },
    { table: 'returns', alias: 'r', on: 'r.sale_id = s.id', type: 'inner', primary_key: 'sale_id' },
    { table: 'no_such_table', alias: 'ghost', on: 'ghost.id = s.id' },
  ],
  dimensions: [
    { name: 'region', expr: 'c.region' },
    { name: 'qty', expr: 'l.qty' },
  ],
  metrics: [
    { name: 'revenue', expr: 's.amount', agg: 'sum' },
    { name: 'sales', expr: '*', agg: 'count' },
    { name: 'avg_sale', expr: 's.amount', agg: 'avg' },
    { name: 'credit', expr: 'c.credit_limit', agg: 'sum' },
    { name: 'avg_age', expr: 'c.age', agg: 'avg' },
    { name: 'returned', expr: 'r.sale_id', agg: 'count' },
  ],
};

describe("issue 17 item 2: sales (customer 1 has 3) joined to customers and lines", () => {
  it('sums a joined table at its own grain: credit by region is EU 1500, avg age 40', async () => {
    expect(await answer(salesView, { dimensions: ['region'], metrics: ['credit', 'avg_age'] })).toEqual(
      await rows(`
        SELECT c.region, sum(c.credit_limit)::BIGINT AS credit, avg(c.age) AS avg_age
        FROM customers c WHERE c.id IN (SELECT customer_id FROM sales) GROUP BY 1
        UNION ALL SELECT NULL, NULL, NULL WHERE EXISTS (SELECT 1 FROM sales s WHERE s.customer_id NOT IN (SELECT id FROM customers))
        ORDER BY 1 NULLS LAST`),
    );
    expect((await answer(salesView, { dimensions: ['region'], metrics: ['credit', 'avg_age'] }))[0]).toEqual({ region: 'EU', credit: 1500, avg_age: 40 });
  });

  it('counts and averages sales once each through the one-to-many join to lines', async () => {
    const expected = await rows('SELECT count(*) AS sales, avg(amount) AS avg_sale FROM sales WHERE id IN (SELECT sale_id FROM lines WHERE qty >= 1)');
    expect(await answer(salesView, { metrics: ['sales', 'avg_sale'], where: 'l.qty >= 1' })).toEqual(expected);
    expect(expected).toEqual([{ sales: 6, avg_sale: 35 }]);
    expect(await answer(salesView, { dimensions: ['qty'], metrics: ['sales', 'revenue'] })).toEqual(
      await rows(`
        SELECT l.qty, count(DISTINCT s.id) AS sales, (SELECT sum(amount) FROM sales x WHERE x.id IN (SELECT sale_id FROM lines y WHERE y.qty = l.qty))::BIGINT AS revenue
        FROM sales s JOIN lines l ON l.sale_id = s.id GROUP BY 1 ORDER BY 1`),
    );
  });

  it('emits no unused join: an unused inner join drops no rows and a missing joined table is not read', async () => {
    const sql = semanticViewSql('v', validateSemanticView(salesView), { metrics: ['revenue', 'sales'] });
    expect(sql).not.toMatch(/JOIN/);
    expect(await answer(salesView, { metrics: ['revenue', 'sales'] })).toEqual(await rows('SELECT sum(amount)::BIGINT AS revenue, count(*) AS sales FROM sales'));
    // Asked for, the inner join applies.
    expect(await answer(salesView, { metrics: ['revenue', 'returned'] })).toEqual([{ revenue: 10, returned: 1 }]);
  });
});
