/**
 * Query expansion: turns "these dimensions and metrics of that view" into one SELECT
 * statement. Checks the query, plans it ({@link planSemanticView}) and renders the plan
 * ({@link renderSemanticViewPlan}). Pure text work; the caller decides where it runs.
 */
import { CatalogInvalidError } from './errors.js';
import type { SemanticView } from './semantic-view.js';
import { planSemanticView, type CheckedQuery, type SemanticViewOrder } from './semantic-view-plan.js';
import { renderSemanticViewPlan } from './semantic-view-render.js';
import { checkSqlFragment } from './sql-fragment.js';

export type { SemanticViewOrder } from './semantic-view-plan.js';

/** What to ask a semantic view for. Unknown keys are refused. */
export interface SemanticViewQuery {
  /**
   * Dimension names to group by, in output order. A DATE/TIMESTAMP dimension may be asked
   * for at a time grain as `'<dimension>__<grain>'` (`'ordered_at__month'`; grains: day,
   * week, month, quarter, year), rendered `date_trunc('<grain>', …)`. @default []
   */
  readonly dimensions?: readonly string[];
  /** Metric names to compute, in output order (after the dimensions). @default [] */
  readonly metrics?: readonly string[];
  /**
   * A SQL condition. Dimension and metric names in it mean those members (requested or
   * not); its top-level AND-ed parts that name a metric apply to groups (after
   * aggregation), the others to rows (before), AND-ed with the view's filters.
   */
  readonly where?: string;
  /** Sort terms over requested dimensions and metrics: a name (ascending) or `{ name, direction }`. Remaining dimensions follow. */
  readonly order?: ReadonlyArray<string | SemanticViewOrder>;
  /** Maximum number of rows. */
  readonly limit?: number;
  /** Rows to skip before the first one returned. @default 0 */
  readonly offset?: number;
  /**
   * How `cat.query` returns values: `'js'` as `@duckdb/node-api` JS values (DECIMAL as a
   * number, TIMESTAMP as a millisecond `Date`), `'exact'` with DECIMAL and TIMESTAMP values
   * as their exact DuckDB text (`'1234567890123456.79'`, `'2024-01-01 00:00:00.000001'`).
   * Ignored by the SQL text. @default 'js'
   */
  readonly values?: 'js' | 'exact';
  /**
   * How `cat.query` returns 64- and 128-bit integers (BIGINT, HUGEINT, UBIGINT, … — `count`
   * and `sum` of integers are among them): `'number'` (rows survive `JSON.stringify`; a value
   * beyond ±2^53 − 1 is refused with ERR_CATALOG_INVALID, never rounded), `'string'` (exact
   * decimal text) or `'bigint'`. Ignored by the SQL text. @default 'number'
   */
  readonly bigint?: 'number' | 'string' | 'bigint';
}

const QUERY_KEYS = ['dimensions', 'metrics', 'where', 'order', 'limit', 'offset', 'values', 'bigint'] as const;
const QUERY_MISSPELLINGS: Readonly<Record<string, string>> = {
  dimension: 'dimensions',
  dims: 'dimensions',
  group_by: 'dimensions',
  groupBy: 'dimensions',
  metric: 'metrics',
  measures: 'metrics',
  measure: 'metrics',
  filter: 'where',
  filters: 'where',
  having: 'where',
  orderBy: 'order',
  order_by: 'order',
  sort: 'order',
  sortBy: 'order',
  take: 'limit',
  top: 'limit',
  skip: 'offset',
  exact: 'values',
  precision: 'values',
  rowMode: 'values',
};

/**
 * Builds the SQL that answers `query` from the semantic view `view` named `name`.
 * @param name The view's name, used in error messages.
 * @param view A validated view (see {@link validateSemanticView}).
 * @param query The dimensions and metrics wanted, conditions, order, limit, offset.
 * @returns One SELECT statement, without a trailing semicolon.
 * @throws {CatalogInvalidError} ERR_CATALOG_INVALID for an unknown query key (with a
 *   did-you-mean), an unknown dimension or metric (the message lists the valid names), a
 *   name asked for twice, nothing asked for, a bad `where` fragment, a bad `order`, a
 *   `limit` that is not a positive integer or an `offset` that is not a non-negative one,
 *   and a metric that the needed joins would repeat when no key is declared (see the planner).
 */
export function semanticViewSql(name: string, view: SemanticView, query: SemanticViewQuery): string {
  return renderSemanticViewPlan(planSemanticView(name, view, checkQuery(query)));
}

/**
 * Checks the shape of a query object and fills its defaults.
 * @throws {CatalogInvalidError} as described in {@link semanticViewSql}.
 */
export function checkQuery(query: unknown): CheckedQuery {
  if (query === undefined || query === null) return checkQuery({});
  if (typeof query !== 'object' || Array.isArray(query)) throw new CatalogInvalidError('query', `must be an object, got ${Array.isArray(query) ? 'an array' : typeof query}`);
  const q = query as Record<string, unknown>;
  for (const key of Object.keys(q)) {
    if ((QUERY_KEYS as readonly string[]).includes(key)) continue;
    const fix = QUERY_MISSPELLINGS[key];
    throw new CatalogInvalidError(`query.${key}`, `unknown key${fix === undefined ? '' : `, did you mean "${fix}"?`}; allowed keys: ${QUERY_KEYS.join(', ')}`);
  }
  if (q.where !== undefined) checkSqlFragment(q.where, 'where');
  if (q.limit !== undefined && (typeof q.limit !== 'number' || !Number.isSafeInteger(q.limit) || q.limit <= 0)) {
    throw new CatalogInvalidError('limit', `must be a positive integer, got ${String(q.limit)}`);
  }
  if (q.offset !== undefined && (typeof q.offset !== 'number' || !Number.isSafeInteger(q.offset) || q.offset < 0)) {
    throw new CatalogInvalidError('offset', `must be a non-negative integer, got ${String(q.offset)}`);
  }
  if (q.values !== undefined && q.values !== 'js' && q.values !== 'exact') {
    throw new CatalogInvalidError('values', `must be "js" or "exact", got ${String(q.values)}`);
  }
  if (q.bigint !== undefined && q.bigint !== 'number' && q.bigint !== 'string' && q.bigint !== 'bigint') {
    throw new CatalogInvalidError('bigint', `must be "number", "string" or "bigint", got ${String(q.bigint)}`);
  }
  return {
    dimensions: names(q.dimensions, 'dimension'),
    metrics: names(q.metrics, 'metric'),
    where: q.where as string | undefined,
    order: orderTerms(q.order),
    limit: q.limit as number | undefined,
    offset: q.offset as number | undefined,
  };
}

function names(value: unknown, kind: 'dimension' | 'metric'): string[] {
  const field = `${kind}s`;
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new CatalogInvalidError(field, 'must be an array of names');
  return value.map((item: unknown, i) => {
    if (typeof item !== 'string') throw new CatalogInvalidError(`${field}[${i}]`, `must be a ${kind} name, got ${item === null ? 'NULL' : typeof item}`);
    return item;
  });
}

function orderTerms(value: unknown): SemanticViewOrder[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new CatalogInvalidError('order', 'must be an array of names or { name, direction } objects');
  return value.map((term: unknown, i): SemanticViewOrder => {
    if (typeof term === 'string') return { name: term };
    if (typeof term !== 'object' || term === null || Array.isArray(term)) {
      throw new CatalogInvalidError(`order[${i}]`, 'must be a name or { name, direction }');
    }
    const t = term as Record<string, unknown>;
    for (const key of Object.keys(t)) {
      if (key !== 'name' && key !== 'direction') {
        const hint = key === 'by' || key === 'column' || key === 'field' ? ', did you mean "name"?' : key === 'desc' || key === 'dir' || key === 'sort' ? ', did you mean "direction"?' : '';
        throw new CatalogInvalidError(`order[${i}].${key}`, `unknown key${hint}; allowed keys: name, direction`);
      }
    }
    if (typeof t.name !== 'string') throw new CatalogInvalidError(`order[${i}].name`, 'must be a dimension or metric name');
    if (t.direction !== undefined && t.direction !== 'asc' && t.direction !== 'desc') {
      throw new CatalogInvalidError(`order[${i}].direction`, `must be "asc" or "desc", got ${String(t.direction)}`);
    }
    return t.direction === undefined ? { name: t.name } : { name: t.name, direction: t.direction };
  });
}
