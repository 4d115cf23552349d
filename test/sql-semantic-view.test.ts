import { describe, expect, it } from 'vitest';
import { CatalogInvalidError } from '../src/shared/errors.js';
import { parseSemanticView, validateSemanticView, isSemanticViewEntry } from '../src/shared/semantic-view.js';
import { checkSqlFragment } from '../src/shared/sql-fragment.js';

const valid = {
  base_table: 'orders',
  alias: 'o',
  joins: [{ table: 'customers', alias: 'c', on: 'o.customer_id = c.id', type: 'left' }],
  dimensions: [
    { name: 'region', expr: 'c.region', comment: 'sales region' },
    { name: 'month', expr: "date_trunc('month', o.ordered_at)" },
  ],
  metrics: [
    { name: 'revenue', expr: 'o.amount', agg: 'sum' },
    { name: 'orders', expr: '*', agg: 'count' },
    { name: 'avg_ticket', expr: 'sum(o.amount) / count(*)' },
  ],
  filters: ["o.status <> 'cancelled'"],
  comment: 'orders by customer region',
};

/** Replaces the value at a dotted path ("dimensions.0.name") in a copy of `valid`; undefined deletes it. */
function withValue(path: string, value: unknown): unknown {
  const copy = structuredClone(valid) as Record<string, unknown>;
  const keys = path.split('.');
  let node: Record<string, unknown> = copy;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  if (value === undefined) delete node[keys.at(-1)!];
  else node[keys.at(-1)!] = value;
  return copy;
}

function refusal(value: unknown): CatalogInvalidError {
  try {
    validateSemanticView(value);
  } catch (error) {
    expect(error).toBeInstanceOf(CatalogInvalidError);
    return error as CatalogInvalidError;
  }
  throw new Error('expected ERR_CATALOG_INVALID');
}

describe('validateSemanticView', () => {
  it('accepts a full definition and returns a normalized copy marked as a semantic view', () => {
    const view = validateSemanticView(valid);
    expect(view.kind).toBe('semantic_view');
    expect(Object.keys(view)).toEqual(['kind', 'base_table', 'alias', 'joins', 'dimensions', 'metrics', 'filters', 'comment']);
    expect(view.dimensions[0]).toEqual({ name: 'region', expr: 'c.region', comment: 'sales region' });
    expect(view).not.toBe(valid);
    expect(isSemanticViewEntry(view)).toBe(true);
  });

  it('accepts the minimal form: a table and one dimension or one metric', () => {
    expect(validateSemanticView({ base_table: 't', dimensions: [], metrics: [{ name: 'n', expr: 'count(*)' }] }).metrics).toHaveLength(1);
    expect(validateSemanticView({ kind: 'semantic_view', base_table: 't', dimensions: [{ name: 'd', expr: 'x' }], metrics: [] }).dimensions).toHaveLength(1);
  });

  // Every refusal names the exact field; the table is the contract for error messages.
  const cases: ReadonlyArray<readonly [string, unknown, string, RegExp]> = [
    ['a non-object', [], 'definition', /must be an object/],
    ['null', null, 'definition', /must be an object, got null/],
    ['an unknown top-level key', withValue('owner', 'me'), 'definition.owner', /unknown key; allowed keys: kind, base_table/],
    ['a misspelled key', withValue('table', 'orders'), 'definition.table', /did you mean "base_table"\?/],
    ['a camelCase key', withValue('baseTable', 'orders'), 'definition.baseTable', /did you mean "base_table"\?/],
    ['base_table inside a join', withValue('joins.0.base_table', 'x'), 'definition.joins[0].base_table', /did you mean "table"\?/],
    ['a wrong kind', withValue('kind', 'view'), 'definition.kind', /must be "semantic_view" or omitted/],
    ['a missing base_table', withValue('base_table', undefined), 'definition.base_table', /must be a string of SQL/],
    ['an empty base_table', withValue('base_table', '  '), 'definition.base_table', /must not be empty/],
    ['a base_table with a statement break', withValue('base_table', 'orders; DROP TABLE x'), 'definition.base_table', /without ";"/],
    ['an alias that is not an identifier', withValue('alias', 'o o'), 'definition.alias', /plain identifier/],
    ['a duplicate alias', withValue('joins.0.alias', 'O'), 'definition.joins[0].alias', /duplicate alias "O" \(already used by definition.alias\)/],
    ['joins that are not an array', withValue('joins', {}), 'definition.joins', /must be an array/],
    ['a join without on', withValue('joins.0.on', undefined), 'definition.joins[0].on', /must be a string of SQL/],
    ['an unknown join type', withValue('joins.0.type', 'outer'), 'definition.joins[0].type', /one of inner, left, got "outer"/],
    ['an unknown join key', withValue('joins.0.condition', 'x'), 'definition.joins[0].condition', /did you mean "on"\?/],
    ['missing dimensions', withValue('dimensions', undefined), 'definition.dimensions', /is required \(use \[\] for none\)/],
    ['missing metrics', withValue('metrics', undefined), 'definition.metrics', /is required/],
    ['a dimension that is not an object', withValue('dimensions.1', 'month'), 'definition.dimensions[1]', /must be an object/],
    ['an empty dimension name', withValue('dimensions.0.name', ''), 'definition.dimensions[0].name', /must not be empty/],
    ['a padded dimension name', withValue('dimensions.0.name', ' region'), 'definition.dimensions[0].name', /whitespace/],
    ['a non-string dimension name', withValue('dimensions.0.name', 7), 'definition.dimensions[0].name', /must be a string, got 7/],
    ['a too long name', withValue('dimensions.0.name', 'x'.repeat(256)), 'definition.dimensions[0].name', /longer than 255/],
    ['a duplicate dimension name', withValue('dimensions.1.name', 'Region'), 'definition.dimensions[1].name', /duplicate name "Region" \(already used by definition.dimensions\[0\].name\)/],
    ['a metric named like a dimension', withValue('metrics.0.name', 'month'), 'definition.metrics[0].name', /duplicate name "month"/],
    ['a duplicate metric name', withValue('metrics.2.name', 'revenue'), 'definition.metrics[2].name', /duplicate name/],
    ['an empty dimension expr', withValue('dimensions.0.expr', ''), 'definition.dimensions[0].expr', /must not be empty/],
    ['a missing metric expr', withValue('metrics.1.expr', undefined), 'definition.metrics[1].expr', /must be a string of SQL/],
    ['an unknown agg', withValue('metrics.0.agg', 'mode'), 'definition.metrics[0].agg', /one of sum, count, count_distinct, avg, min, max, median, quantile, approx_count_distinct, got "mode"/],
    ['a misspelled metric key', withValue('metrics.0.aggregation', 'sum'), 'definition.metrics[0].aggregation', /did you mean "agg"\?/],
    ['an unknown dimension key', withValue('dimensions.0.type', 'text'), 'definition.dimensions[0].type', /unknown key; allowed keys: name, expr, source_table, comment/],
    ['an expr with a comment', withValue('metrics.0.expr', 'amount -- net'), 'definition.metrics[0].expr', /SQL comments/],
    ['an expr that closes a parenthesis it did not open', withValue('dimensions.0.expr', 'x) FROM y --'), 'definition.dimensions[0].expr', /did not open/],
    ['filters that are not an array', withValue('filters', "status = 'x'"), 'definition.filters', /must be an array/],
    ['a filter with an open string', withValue('filters.0', "status = 'x"), 'definition.filters[0]', /unterminated string literal/],
    ['a non-string comment', withValue('comment', 42), 'definition.comment', /must be a string/],
  ];

  it.each(cases)('refuses %s with ERR_CATALOG_INVALID naming the field', (_label, value, field, message) => {
    const error = refusal(value);
    expect(error.code).toBe('ERR_CATALOG_INVALID');
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });
});

describe('a view with neither dimensions nor metrics', () => {
  it('is accepted, as the seeds accept it; a query that asks for neither is refused when expanded', () => {
    expect(validateSemanticView({ base_table: 't', dimensions: [], metrics: [] })).toMatchObject({ base_table: 't', dimensions: [], metrics: [] });
  });
});

describe('parseSemanticView', () => {
  it('parses JSON text received from SQL', () => {
    expect(parseSemanticView(JSON.stringify(valid)).base_table).toBe('orders');
  });

  it('refuses text that is not JSON, and NULL', () => {
    expect(() => parseSemanticView('{base_table:')).toThrow(/invalid definition: is not valid JSON/);
    expect(() => parseSemanticView(null)).toThrow(/invalid definition: must be JSON text, got NULL/);
  });
});

describe('checkSqlFragment', () => {
  it('accepts quoted text that contains the forbidden characters', () => {
    expect(() => checkSqlFragment(`name = 'a;b--c/*d' AND "odd;col" > 0 AND x = 'it''s'`, 'f')).not.toThrow();
    expect(() => checkSqlFragment('count(DISTINCT (a + (b)))', 'f')).not.toThrow();
  });

  it.each([
    ['(a', /1 parenthesis open/],
    ['a /* x */', /comments/],
    ['"col', /unterminated quoted identifier/],
    ['a;', /without ";"/],
    ['a\u0000', /NUL/],
  ])('refuses %j', (text, message) => {
    expect(() => checkSqlFragment(text, 'f')).toThrow(message);
  });
});
