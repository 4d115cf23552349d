/**
 * Issue 17 items 5 and 6: members that cannot mean anything are refused when the view is
 * defined, and counting several columns skips rows with a NULL in any of them, as in SQL.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogInvalidError } from '../src/shared/errors.js';
import { validateSemanticView } from '../src/shared/semantic-view.js';
import { semanticViewSql } from '../src/shared/semantic-view-sql.js';

function refusal(value: unknown): CatalogInvalidError {
  try {
    validateSemanticView(value);
  } catch (error) {
    expect(error).toBeInstanceOf(CatalogInvalidError);
    return error as CatalogInvalidError;
  }
  throw new Error('expected ERR_CATALOG_INVALID');
}

const base = { base_table: 'orders', alias: 'o', dimensions: [], metrics: [] };

describe('define-time checks', () => {
  it.each([
    ['a metric without agg that is not an aggregate', { ...base, metrics: [{ name: 'm', expr: 'o.amount' }] }, 'definition.metrics[0].expr', /is not an aggregate: give the metric an "agg"/],
    ['a dimension that aggregates', { ...base, dimensions: [{ name: 'd', expr: 'sum(o.amount)' }] }, 'definition.dimensions[0].expr', /is an aggregate; a dimension must be a per-row expression/],
    ['a dimension that names a metric', { ...base, dimensions: [{ name: 'd', expr: 'm + 1' }], metrics: [{ name: 'm', expr: 'count(*)' }] }, 'definition.dimensions[0].expr', /names metric "m"/],
    ['an aggregate inside agg', { ...base, metrics: [{ name: 'm', expr: 'sum(o.amount)', agg: 'sum' }] }, 'definition.metrics[0].expr', /already an aggregate/],
    ['a metric aggregated over another metric', { ...base, metrics: [{ name: 'a', expr: 'count(*)' }, { name: 'b', expr: 'a', agg: 'sum' }] }, 'definition.metrics[1].expr', /cannot be aggregated again/],
    ['a derived metric with columns of its own', { ...base, metrics: [{ name: 'a', expr: 'count(*)' }, { name: 'b', expr: 'a + sum(o.x)' }] }, 'definition.metrics[1].expr', /must use nothing else/],
    ['an unknown source_table', { ...base, metrics: [{ name: 'm', expr: 'x', agg: 'sum', source_table: 'zz' }] }, 'definition.metrics[0].source_table', /names no table of the view/],
    ['a metric over two tables without source_table', { ...base, joins: [{ table: 'c', on: 'o.c = c.id' }], metrics: [{ name: 'm', expr: 'o.a * c.b', agg: 'sum' }] }, 'definition.metrics[0].source_table', /is needed: the metric reads several tables \(o, c\)/],
    ['a reserved word as alias', { ...base, alias: 'order' }, 'definition.alias', /reserved SQL word/],
    ['two tables with one name', { ...base, alias: undefined, joins: [{ table: 'main.orders', on: 'true' }] }, 'definition.joins[0]', /two tables are both named "orders"; give one an alias/],
    ['a join that reads a later join', { ...base, joins: [{ table: 'a', on: 'b.id = o.id' }, { table: 'b', on: 'b.id = o.id' }] }, 'definition.joins[0].on', /joined after it/],
    ['a filter that names a metric', { ...base, metrics: [{ name: 'm', expr: 'count(*)' }], filters: ['m > 1'] }, 'definition.filters[0]', /filters apply before aggregation/],
    ['a primary_key that is not a column name', { ...base, primary_key: ['id', 'a b'] }, 'definition.primary_key[1]', /must be a column name/],
  ])('refuses %s', (_label, value, field, message) => {
    const error = refusal(value);
    expect(error.code).toBe('ERR_CATALOG_INVALID');
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('accepts aggregates written in any case and count(*)-style expressions', () => {
    expect(validateSemanticView({ ...base, metrics: [{ name: 'm', expr: 'SUM(o.a) / COUNT(*)' }, { name: 'n', expr: 'approx_count_distinct(o.id)' }] }).metrics).toHaveLength(2);
  });
});

describe('counting several columns', () => {
  let host: DuckDBInstance;
  let connection: DuckDBConnection;

  beforeAll(async () => {
    host = await DuckDBInstance.create(':memory:');
    connection = await host.connect();
    await connection.run("CREATE TABLE t (u INTEGER, s VARCHAR); INSERT INTO t VALUES (1, 'a'), (1, 'a'), (NULL, 'a'), (2, NULL), (2, 'b')");
  });

  afterAll(() => {
    connection?.closeSync();
    host?.closeSync();
  });

  it('skips rows with a NULL: count_distinct of (u, s) is 2 and count is 3', async () => {
    const view = validateSemanticView({
      base_table: 't',
      dimensions: [],
      metrics: [
        { name: 'pairs', expr: 'u, s', agg: 'count_distinct' },
        { name: 'rows', expr: 'u, s', agg: 'count' },
        { name: 'us', expr: 'u', agg: 'count' },
      ],
    });
    const reader = await connection.runAndReadAll(semanticViewSql('t', view, { metrics: ['pairs', 'rows', 'us'] }));
    expect(reader.getRowObjectsJS()).toEqual([{ pairs: 2n, rows: 3n, us: 4n }]);
  });

  it('computes median, quantile and approx_count_distinct as DuckDB does', async () => {
    const view = validateSemanticView({
      base_table: 't',
      dimensions: [{ name: 's', expr: 's' }],
      metrics: [
        { name: 'median_u', expr: 'u', agg: 'median' },
        { name: 'p90_u', expr: 'u', agg: 'quantile', fraction: 0.9 },
        { name: 'approx_u', expr: 'u', agg: 'approx_count_distinct' },
      ],
    });
    const reader = await connection.runAndReadAll(semanticViewSql('t', view, { dimensions: ['s'], metrics: ['median_u', 'p90_u', 'approx_u'] }));
    const expected = await connection.runAndReadAll('SELECT s, median(u) AS median_u, quantile_cont(u, 0.9) AS p90_u, approx_count_distinct(u) AS approx_u FROM t GROUP BY 1 ORDER BY 1');
    expect(reader.getRowObjectsJS()).toEqual(expected.getRowObjectsJS());
    expect(() => validateSemanticView({ base_table: 't', dimensions: [], metrics: [{ name: 'q', expr: 'u', agg: 'quantile' }] })).toThrow(/fraction: must be a number from 0 to 1/);
    expect(() => validateSemanticView({ base_table: 't', dimensions: [], metrics: [{ name: 'q', expr: 'u', agg: 'sum', fraction: 0.5 }] })).toThrow(/only for agg "quantile"/);
  });
});
