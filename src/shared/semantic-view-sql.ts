/**
 * Query expansion: turns "these dimensions and metrics of that view" into one
 * SELECT ... GROUP BY statement. Pure text work; the caller decides where it runs.
 */
import { CatalogInvalidError } from './errors.js';
import type { Aggregation, SemanticView, SemanticViewDimension, SemanticViewMetric } from './semantic-view.js';
import { checkSqlFragment, quoteIdentifier } from './sql-fragment.js';

/** What to ask a semantic view for. */
export interface SemanticViewQuery {
  /** Dimension names to group by, in output order. @default [] */
  readonly dimensions?: readonly string[];
  /** Metric names to compute, in output order (after the dimensions). @default [] */
  readonly metrics?: readonly string[];
  /** Extra SQL condition over the base and joined tables, AND-ed with the view's filters. */
  readonly where?: string;
  /** Maximum number of rows. */
  readonly limit?: number;
}

const AGGREGATE_SQL: Readonly<Record<Aggregation, (expr: string) => string>> = {
  sum: (expr) => `sum(${expr})`,
  count: (expr) => `count(${expr})`,
  count_distinct: (expr) => `count(DISTINCT ${expr})`,
  avg: (expr) => `avg(${expr})`,
  min: (expr) => `min(${expr})`,
  max: (expr) => `max(${expr})`,
};

/**
 * Builds the SQL that answers `query` from the semantic view `view` named `name`:
 * the requested dimensions and metrics, FROM the base table and its joins, WHERE the
 * view's filters and `query.where`, GROUP BY and ORDER BY the dimensions, LIMIT.
 * @param name The view's name, used in error messages.
 * @param view A validated view (see {@link validateSemanticView}).
 * @param query The dimensions and metrics wanted.
 * @returns One SELECT statement, without a trailing semicolon.
 * @throws {CatalogInvalidError} ERR_CATALOG_INVALID for an unknown dimension or metric
 *   (the message lists the valid names), a name asked for twice, nothing asked for, a bad
 *   `where` fragment or a `limit` that is not a positive integer.
 */
export function semanticViewSql(name: string, view: SemanticView, query: SemanticViewQuery): string {
  const dimensions = pick(name, 'dimension', view.dimensions, query.dimensions);
  const metrics = pick(name, 'metric', view.metrics, query.metrics);
  if (dimensions.length === 0 && metrics.length === 0) {
    throw new CatalogInvalidError('query', `ask semantic view "${name}" for at least one dimension or metric`);
  }
  if (query.where !== undefined) checkSqlFragment(query.where, 'where');
  if (query.limit !== undefined && (!Number.isSafeInteger(query.limit) || query.limit <= 0)) {
    throw new CatalogInvalidError('limit', `must be a positive integer, got ${String(query.limit)}`);
  }
  const columns = [
    ...dimensions.map((dimension) => `(${dimension.expr}) AS ${quoteIdentifier(dimension.name)}`),
    ...metrics.map((metric) => `${metricSql(metric)} AS ${quoteIdentifier(metric.name)}`),
  ];
  const lines = [`SELECT ${columns.join(', ')}`, `FROM ${tableSql(view.base_table, view.alias)}`];
  for (const join of view.joins ?? []) {
    lines.push(`${join.type === 'inner' ? 'INNER' : 'LEFT'} JOIN ${tableSql(join.table, join.alias)} ON (${join.on})`);
  }
  const conditions = [...(view.filters ?? []), ...(query.where === undefined ? [] : [query.where])];
  if (conditions.length > 0) lines.push(`WHERE ${conditions.map((condition) => `(${condition})`).join(' AND ')}`);
  if (dimensions.length > 0) {
    // Ordinals, not the expressions again: each dimension is written once, and the order
    // of the rows is stable for callers that compare results.
    const ordinals = dimensions.map((_, i) => String(i + 1)).join(', ');
    if (metrics.length > 0) lines.push(`GROUP BY ${ordinals}`);
    else lines[0] = `SELECT DISTINCT ${columns.join(', ')}`;
    lines.push(`ORDER BY ${ordinals}`);
  }
  if (query.limit !== undefined) lines.push(`LIMIT ${query.limit}`);
  return lines.join('\n');
}

function metricSql(metric: SemanticViewMetric): string {
  if (metric.agg === undefined) return `(${metric.expr})`;
  // Parentheses keep an argument like `a, b` one argument; `*` must stay bare (count(*)).
  const argument = metric.expr.trim() === '*' ? '*' : `(${metric.expr})`;
  return AGGREGATE_SQL[metric.agg](argument);
}

function tableSql(table: string, alias: string | undefined): string {
  return alias === undefined ? table : `${table} AS ${alias}`;
}

// Names match without regard to case, like DuckDB column names; validation already
// made them unique that way.
function pick<T extends SemanticViewDimension | SemanticViewMetric>(
  view: string,
  kind: 'dimension' | 'metric',
  available: readonly T[],
  wanted: readonly string[] | undefined,
): T[] {
  const field = `${kind}s`;
  if (wanted === undefined) return [];
  if (!Array.isArray(wanted)) throw new CatalogInvalidError(field, 'must be an array of names');
  const byName = new Map(available.map((column) => [column.name.toLowerCase(), column]));
  const seen = new Set<string>();
  return wanted.map((wantedName: unknown, i) => {
    if (typeof wantedName !== 'string') throw new CatalogInvalidError(`${field}[${i}]`, `must be a ${kind} name, got ${wantedName === null ? 'NULL' : typeof wantedName}`);
    const key = wantedName.toLowerCase();
    const column = byName.get(key);
    if (column === undefined) {
      const valid = available.length === 0 ? `it has no ${field}` : `valid ${field}: ${available.map((c) => c.name).join(', ')}`;
      throw new CatalogInvalidError(field, `unknown ${kind} "${wantedName}" in semantic view "${view}"; ${valid}`);
    }
    if (seen.has(key)) throw new CatalogInvalidError(`${field}[${i}]`, `${kind} "${wantedName}" is asked for twice`);
    seen.add(key);
    return column;
  });
}
