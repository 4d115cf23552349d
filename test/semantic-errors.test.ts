/**
 * Issue 17, "errors that name the member": when DuckDB refuses the generated SQL,
 * cat.query throws a CatalogError naming the view and the part at fault, DuckDB's error
 * as `cause`.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog, CatalogError, CatalogInvalidError, validateSemanticView } from 'duckcat';
import { closeMemoryHost, openMemoryHost } from './helpers/memory-host.js';

describe('errors of the generated SQL', () => {
  let cat: Catalog;
  let host: DuckDBInstance;
  let connection: DuckDBConnection;

  beforeAll(async () => {
    ({ cat, host, connection } = await openMemoryHost());
    await connection.run("CREATE TABLE orders (id INTEGER, region VARCHAR, amount INTEGER); INSERT INTO orders VALUES (1, 'EU', 10)");
    cat.defineSync(
      'sales',
      validateSemanticView({
        base_table: 'orders',
        alias: 'o',
        joins: [{ table: 'missing_customers', alias: 'c', on: 'o.id = c.id', primary_key: 'id' }],
        dimensions: [
          { name: 'region', expr: 'o.region' },
          { name: 'country', expr: 'c.country' },
        ],
        metrics: [
          { name: 'revenue', expr: 'o.amount', agg: 'sum' },
          { name: 'profit', expr: 'o.profit', agg: 'sum' },
        ],
        filters: ['o.amount > 0'],
      }),
    );
    cat.defineSync('broken_filter', validateSemanticView({ base_table: 'orders', dimensions: [], metrics: [{ name: 'n', expr: 'count(*)' }], filters: ['nope > 1'] }));
  });

  afterAll(() => closeMemoryHost({ cat, host, connection }));

  async function failure(name: string, query: Parameters<Catalog['query']>[2]): Promise<CatalogError & { field: string }> {
    try {
      await cat.query(connection, name, query);
    } catch (error) {
      expect(error).toBeInstanceOf(CatalogError);
      return error as CatalogError & { field: string };
    }
    throw new Error('expected the query to fail');
  }

  it('names the metric whose column does not exist, with DuckDB error as cause', async () => {
    const error = await failure('sales', { dimensions: ['region'], metrics: ['revenue', 'profit'] });
    expect(error.code).toBe('ERR_CATALOG_INVALID');
    // The class the code stands for, like every other duckcat error.
    expect(error).toBeInstanceOf(CatalogInvalidError);
    expect(error.field).toBe('definition.metrics[1]');
    expect(error.message).toMatch(/^semantic view "sales": metric "profit" fails in DuckDB: .*profit/);
    expect((error.cause as Error).message).toMatch(/profit/);
  });

  it('names the dimension whose join table is missing, and answers queries that do not need it', async () => {
    const error = await failure('sales', { dimensions: ['country'], metrics: ['revenue'] });
    expect(error.field).toBe('definition.dimensions[1]');
    expect(error.message).toMatch(/dimension "country" fails in DuckDB: .*missing_customers/);
    expect((await cat.query(connection, 'sales', { dimensions: ['region'], metrics: ['revenue'] })).map((r) => ({ ...r }))).toEqual([{ region: 'EU', revenue: 10 }]);
  });

  it('names a filter and a where condition', async () => {
    expect((await failure('broken_filter', { metrics: ['n'] })).field).toBe('definition.filters[0]');
    const where = await failure('sales', { metrics: ['revenue'], where: 'o.nothing = 1' });
    expect(where.field).toBe('where');
    expect(where.message).toMatch(/where "o.nothing = 1" fails in DuckDB/);
  });
});
