/**
 * Issue 17 items 1 and 7: a query object is checked like a definition (unknown keys are
 * refused with a did-you-mean), `order` and `offset` work, and rows keep every column.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from 'duckcat';
import type { CatalogInvalidError } from '../src/shared/errors.js';
import { validateSemanticView } from '../src/shared/semantic-view.js';
import { semanticViewSql } from '../src/shared/semantic-view-sql.js';
import { closeMemoryHost, openMemoryHost } from './helpers/memory-host.js';

const sales = {
  base_table: 'orders',
  dimensions: [
    { name: 'region', expr: 'region' },
    { name: '__proto__', expr: "'p'" },
    { name: 'constructor', expr: "'c'" },
    { name: '2024', expr: 'amount > 80' },
  ],
  metrics: [
    { name: 'revenue', expr: 'amount', agg: 'sum' },
    { name: 'orders', expr: '*', agg: 'count' },
  ],
};

describe('strict query objects', () => {
  const view = validateSemanticView(sales);

  it.each([
    [{ dimensions: ['region'], metrics: ['revenue'], filter: 'amount > 60' }, 'query.filter', /unknown key, did you mean "where"\?/],
    [{ dimension: ['region'], metrics: ['revenue'] }, 'query.dimension', /did you mean "dimensions"\?/],
    [{ measures: ['revenue'] }, 'query.measures', /did you mean "metrics"\?/],
    [{ metrics: ['revenue'], orderBy: ['revenue'] }, 'query.orderBy', /did you mean "order"\?/],
    [{ metrics: ['revenue'], order_by: ['revenue'] }, 'query.order_by', /did you mean "order"\?/],
    [{ metrics: ['revenue'], bogus: 1 }, 'query.bogus', /unknown key; allowed keys: dimensions, metrics, where, order, limit, offset/],
    [{ dimensions: ['region'], order: ['revenue'] }, 'order[0]', /"revenue" is not a requested dimension or metric; requested: region/],
    [{ dimensions: ['region'], order: [{ name: 'region', direction: 'down' }] }, 'order[0].direction', /must be "asc" or "desc"/],
    [{ dimensions: ['region'], order: [{ by: 'region' }] }, 'order[0].by', /did you mean "name"\?/],
    [{ dimensions: ['region'], offset: -1 }, 'offset', /non-negative integer/],
    [{ dimensions: ['revenue'] }, 'dimensions', /unknown dimension "revenue" .*\("revenue" is a metric\)/],
  ])('refuses %j on %s', (query, field, message) => {
    try {
      semanticViewSql('sales', view, query as never);
      expect.unreachable();
    } catch (error) {
      expect((error as CatalogInvalidError).code).toBe('ERR_CATALOG_INVALID');
      expect((error as CatalogInvalidError).field).toBe(field);
      expect((error as Error).message).toMatch(message);
    }
  });
});

describe('order, offset and row objects through cat.query', () => {
  let cat: Catalog;
  let host: DuckDBInstance;
  let connection: DuckDBConnection;

  beforeAll(async () => {
    ({ cat, host, connection } = await openMemoryHost());
    await connection.run(`
      CREATE TABLE orders (region VARCHAR, amount INTEGER);
      INSERT INTO orders VALUES ('EU', 100), ('EU', 70), ('US', 150), ('APAC', 10), (NULL, 5);`);
    cat.defineSync('sales', validateSemanticView(sales));
  });

  afterAll(() => closeMemoryHost({ cat, host, connection }));

  it('orders by a metric descending, then skips and limits', async () => {
    const all = await cat.query(connection, 'sales', { dimensions: ['region'], metrics: ['revenue'], order: [{ name: 'revenue', direction: 'desc' }] });
    expect(all.map((r) => r.region)).toEqual(['EU', 'US', 'APAC', null]);
    const page = await cat.query(connection, 'sales', { dimensions: ['region'], metrics: ['revenue'], order: [{ name: 'revenue', direction: 'desc' }], limit: 2, offset: 1 });
    expect(page.map((r) => ({ ...r }))).toEqual([
      { region: 'US', revenue: 150 },
      { region: 'APAC', revenue: 10 },
    ]);
    const byName = await cat.query(connection, 'sales', { dimensions: ['region'], order: ['region'] });
    expect(byName.map((r) => r.region)).toEqual(['APAC', 'EU', 'US', null]);
  });

  it('keeps a column named __proto__ or constructor, in requested order', async () => {
    const [row] = await cat.query(connection, 'sales', { dimensions: ['constructor', '__proto__'], metrics: ['orders'] });
    expect(Object.getPrototypeOf(row)).toBeNull();
    expect(Object.keys(row!)).toEqual(['constructor', '__proto__', 'orders']);
    expect(row!['__proto__']).toBe('p');
    expect(row!.constructor).toBe('c');
  });

  it('keeps an integer-like column (JavaScript lists such keys first in any object)', async () => {
    const rows = await cat.query(connection, 'sales', { dimensions: ['region', '2024'], metrics: ['orders'], where: "region = 'EU'" });
    expect(rows.map((r) => ({ ...r }))).toEqual([
      { region: 'EU', 2024: false, orders: 1 },
      { region: 'EU', 2024: true, orders: 1 },
    ]);
  });
});
