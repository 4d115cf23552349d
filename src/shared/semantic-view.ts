/**
 * The semantic-view definition: the first typed kind of catalog entry. A semantic view
 * names the dimensions (group-by expressions) and metrics (aggregates) of one base table
 * plus optional joins, so callers ask for "revenue by region" instead of writing SQL.
 * Stored as plain JSON with `kind: "semantic_view"`; other definitions stay untyped.
 */
import { CatalogInvalidError } from './errors.js';
import { modelSemanticView } from './semantic-view-model.js';
import { checkSqlFragment } from './sql-fragment.js';

/** The `kind` value that marks a catalog entry as a semantic view. */
export const SEMANTIC_VIEW_KIND = 'semantic_view';

/** How a metric's `expr` is aggregated. Without `agg`, `expr` must itself be an aggregate. */
export const Aggregation = {
  SUM: 'sum',
  COUNT: 'count',
  COUNT_DISTINCT: 'count_distinct',
  AVG: 'avg',
  MIN: 'min',
  MAX: 'max',
  MEDIAN: 'median',
  /** The `fraction` quantile, interpolated (`quantile_cont`). */
  QUANTILE: 'quantile',
  APPROX_COUNT_DISTINCT: 'approx_count_distinct',
} as const;
export type Aggregation = (typeof Aggregation)[keyof typeof Aggregation];

/** How a join attaches its table. */
export const JoinType = {
  INNER: 'inner',
  LEFT: 'left',
} as const;
export type JoinType = (typeof JoinType)[keyof typeof JoinType];

/** A table joined to the base table. */
export interface SemanticViewJoin {
  /** SQL table reference, e.g. `customers` or `main.customers`. */
  readonly table: string;
  /** Identifier the expressions use for this table. */
  readonly alias?: string;
  /** SQL join condition, e.g. `o.customer_id = c.id`. */
  readonly on: string;
  /** @default 'left' */
  readonly type?: JoinType;
  /**
   * Column(s) of this table whose values identify one of its rows. Lets the planner prove
   * the join does not repeat rows (`on` equates every key column) and compute metrics of
   * this table at its own grain.
   */
  readonly primary_key?: string | readonly string[];
}

/** A group-by column of the view. */
export interface SemanticViewDimension {
  /** Output column name; unique among dimensions and metrics, ignoring case. */
  readonly name: string;
  /** SQL expression over the base and joined tables; bare names of other dimensions mean those dimensions. */
  readonly expr: string;
  /** Alias (or table name) of the table the expression reads; absent = found from `alias.column` references. */
  readonly source_table?: string;
  readonly comment?: string;
}

/** An aggregate column of the view. */
export interface SemanticViewMetric {
  /** Output column name; unique among dimensions and metrics, ignoring case. */
  readonly name: string;
  /** SQL expression: aggregated with `agg`, or an aggregate expression itself when `agg` is absent. */
  readonly expr: string;
  readonly agg?: Aggregation;
  /** For `agg: 'quantile'`: the fraction, from 0 to 1 (0.5 is the median). */
  readonly fraction?: number;
  /** The table whose rows the metric aggregates (its grain); absent = found from `alias.column` references, else the base table. */
  readonly source_table?: string;
  readonly comment?: string;
}

/** A validated semantic view, as stored in the catalog. */
export interface SemanticView {
  readonly kind: typeof SEMANTIC_VIEW_KIND;
  /** SQL reference of the base table, e.g. `orders` (snake_case like every key SQL users write). */
  readonly base_table: string;
  /** Identifier the expressions use for the base table. */
  readonly alias?: string;
  /** Column(s) identifying one row of the base table (see {@link SemanticViewJoin.primary_key}). */
  readonly primary_key?: string | readonly string[];
  readonly joins?: readonly SemanticViewJoin[];
  readonly dimensions: readonly SemanticViewDimension[];
  readonly metrics: readonly SemanticViewMetric[];
  /** SQL conditions always applied (AND-ed) before aggregation. */
  readonly filters?: readonly string[];
  readonly comment?: string;
}

/** What a caller may pass: a {@link SemanticView} whose `kind` may be omitted. */
export type SemanticViewInput = Omit<SemanticView, 'kind'> & { readonly kind?: typeof SEMANTIC_VIEW_KIND };

const VIEW_KEYS = ['kind', 'base_table', 'alias', 'primary_key', 'joins', 'dimensions', 'metrics', 'filters', 'comment'] as const;
const JOIN_KEYS = ['table', 'alias', 'on', 'type', 'primary_key'] as const;
const DIMENSION_KEYS = ['name', 'expr', 'source_table', 'comment'] as const;
const METRIC_KEYS = ['name', 'expr', 'agg', 'fraction', 'source_table', 'comment'] as const;

// Spellings people reach for first; the error names the key we expect instead.
const MISSPELLINGS: Readonly<Record<string, string>> = {
  table: 'base_table',
  baseTable: 'base_table',
  from: 'base_table',
  base_table: 'table',
  expression: 'expr',
  sql: 'expr',
  aggregation: 'agg',
  aggregate: 'agg',
  filter: 'filters',
  where: 'filters',
  join: 'joins',
  dimension: 'dimensions',
  metric: 'metrics',
  measures: 'metrics',
  description: 'comment',
  condition: 'on',
  primaryKey: 'primary_key',
  primary_keys: 'primary_key',
  pk: 'primary_key',
  key: 'primary_key',
  sourceTable: 'source_table',
  source: 'source_table',
  table_alias: 'source_table',
};

const MAX_COLUMN_NAME_CHARS = 255;
// Words DuckDB will not take as a bare table alias; refused rather than quoted, so every
// expression can write `alias.column` unquoted.
const RESERVED_WORDS: ReadonlySet<string> = new Set(
  ('all analyse analyze and any array as asc asymmetric both case cast check collate column constraint create default deferrable desc ' +
    'distinct do else end except false fetch for foreign from grant group having in initially intersect into lateral leading limit ' +
    'not null offset on only or order placing primary references returning select some symmetric table then to trailing true ' +
    'union unique using variadic when where window with join left right inner outer full cross natural qualify pivot unpivot').split(' '),
);
const ALIAS = /^[A-Za-z_][A-Za-z0-9_]*$/;
const AGGREGATIONS: ReadonlySet<string> = new Set(Object.values(Aggregation));
const JOIN_TYPES: ReadonlySet<string> = new Set(Object.values(JoinType));

/** True when a stored definition is marked as a semantic view (it may still be invalid). */
export function isSemanticViewEntry(value: unknown): boolean {
  return isPlainObject(value) && value.kind === SEMANTIC_VIEW_KIND;
}

/**
 * Parses JSON text (as received from SQL) and validates it as a semantic view.
 * @throws {CatalogInvalidError} field `definition` for text that is not JSON, or see {@link validateSemanticView}.
 */
export function parseSemanticView(text: unknown): SemanticView {
  if (typeof text !== 'string') throw new CatalogInvalidError('definition', `must be JSON text, got ${text === null ? 'NULL' : typeof text}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CatalogInvalidError('definition', `is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  return validateSemanticView(value);
}

/**
 * The typed way to write a semantic view in TypeScript: the input is a
 * {@link SemanticViewInput}, so a misspelled key or an unknown `agg` does not compile; then
 * it is validated like {@link validateSemanticView} (which takes `unknown`, for views read
 * from JSON or SQL) and returned normalized, with `kind` set.
 * @throws {CatalogInvalidError} as {@link validateSemanticView}.
 */
export function semanticView(input: SemanticViewInput): SemanticView {
  return validateSemanticView(input);
}

/**
 * Validates a semantic-view definition and returns a normalized copy (with `kind` set,
 * keys in a fixed order) that is safe to store with `cat.defineSync(name, view)`.
 * @param value The candidate definition.
 * @returns A new, validated {@link SemanticView}.
 * @throws {CatalogInvalidError} ERR_CATALOG_INVALID whose `field` is the path of the bad
 *   value (`definition.dimensions[1].name`): unknown or misspelled keys, missing or empty
 *   base_table/expr/name, duplicate names, bad alias, unknown agg or join type, SQL fragments
 *   with `;`, comments, open quotes or unbalanced parentheses, a view with no columns.
 */
export function validateSemanticView(value: unknown): SemanticView {
  const path = 'definition';
  const view = expectObject(value, path, VIEW_KEYS);
  if (view.kind !== undefined && view.kind !== SEMANTIC_VIEW_KIND) {
    throw new CatalogInvalidError(`${path}.kind`, `must be "${SEMANTIC_VIEW_KIND}" or omitted, got ${describe(view.kind)}`);
  }
  checkSqlFragment(view.base_table, `${path}.base_table`);
  const aliases = new Map<string, string>();
  const alias = optionalAlias(view.alias, `${path}.alias`, aliases);
  const primaryKey = optionalPrimaryKey(view.primary_key, `${path}.primary_key`);
  const joins = optionalArray(view.joins, `${path}.joins`)?.map((join, i) => validateJoin(join, `${path}.joins[${i}]`, aliases));
  const columns = new Map<string, string>();
  const dimensions = requiredArray(view.dimensions, `${path}.dimensions`).map((dimension, i) =>
    validateDimension(dimension, `${path}.dimensions[${i}]`, columns),
  );
  // A view with neither is accepted (the seeds' extension does too); a query that asks
  // for neither is refused when it is expanded.
  const metrics = requiredArray(view.metrics, `${path}.metrics`).map((metric, i) => validateMetric(metric, `${path}.metrics[${i}]`, columns));
  const filters = optionalArray(view.filters, `${path}.filters`)?.map((filter, i) => {
    checkSqlFragment(filter, `${path}.filters[${i}]`);
    return filter;
  });
  const comment = optionalComment(view.comment, `${path}.comment`);
  const result: SemanticView = {
    kind: SEMANTIC_VIEW_KIND,
    base_table: view.base_table,
    ...(alias === undefined ? {} : { alias }),
    ...(primaryKey === undefined ? {} : { primary_key: primaryKey }),
    ...(joins === undefined ? {} : { joins }),
    dimensions,
    metrics,
    ...(filters === undefined ? {} : { filters }),
    ...(comment === undefined ? {} : { comment }),
  };
  // Cross-member rules (tables, references, cycles, aggregates) need the whole view.
  modelSemanticView(result);
  return result;
}

function validateJoin(value: unknown, path: string, aliases: Map<string, string>): SemanticViewJoin {
  const join = expectObject(value, path, JOIN_KEYS);
  checkSqlFragment(join.table, `${path}.table`);
  const alias = optionalAlias(join.alias, `${path}.alias`, aliases);
  checkSqlFragment(join.on, `${path}.on`);
  const primaryKey = optionalPrimaryKey(join.primary_key, `${path}.primary_key`);
  if (join.type !== undefined && (typeof join.type !== 'string' || !JOIN_TYPES.has(join.type))) {
    throw new CatalogInvalidError(`${path}.type`, `must be one of ${[...JOIN_TYPES].join(', ')}, got ${describe(join.type)}`);
  }
  return {
    table: join.table,
    ...(alias === undefined ? {} : { alias }),
    on: join.on,
    ...(join.type === undefined ? {} : { type: join.type as JoinType }),
    ...(primaryKey === undefined ? {} : { primary_key: primaryKey }),
  };
}

function validateDimension(value: unknown, path: string, columns: Map<string, string>): SemanticViewDimension {
  const dimension = expectObject(value, path, DIMENSION_KEYS);
  const name = columnName(dimension.name, `${path}.name`, columns);
  checkSqlFragment(dimension.expr, `${path}.expr`);
  const source = optionalSourceTable(dimension.source_table, `${path}.source_table`);
  const comment = optionalComment(dimension.comment, `${path}.comment`);
  return { name, expr: dimension.expr, ...(source === undefined ? {} : { source_table: source }), ...(comment === undefined ? {} : { comment }) };
}

function validateMetric(value: unknown, path: string, columns: Map<string, string>): SemanticViewMetric {
  const metric = expectObject(value, path, METRIC_KEYS);
  const name = columnName(metric.name, `${path}.name`, columns);
  checkSqlFragment(metric.expr, `${path}.expr`);
  if (metric.agg !== undefined && (typeof metric.agg !== 'string' || !AGGREGATIONS.has(metric.agg))) {
    throw new CatalogInvalidError(`${path}.agg`, `must be one of ${[...AGGREGATIONS].join(', ')}, got ${describe(metric.agg)}`);
  }
  if (metric.agg === 'quantile' && (typeof metric.fraction !== 'number' || !(metric.fraction >= 0 && metric.fraction <= 1))) {
    throw new CatalogInvalidError(`${path}.fraction`, `must be a number from 0 to 1 for agg "quantile", got ${describe(metric.fraction)}`);
  }
  if (metric.agg !== 'quantile' && metric.fraction !== undefined) throw new CatalogInvalidError(`${path}.fraction`, 'is only for agg "quantile"');
  const source = optionalSourceTable(metric.source_table, `${path}.source_table`);
  const comment = optionalComment(metric.comment, `${path}.comment`);
  return {
    name,
    expr: metric.expr,
    ...(metric.agg === undefined ? {} : { agg: metric.agg as Aggregation }),
    ...(metric.fraction === undefined ? {} : { fraction: metric.fraction as number }),
    ...(source === undefined ? {} : { source_table: source }),
    ...(comment === undefined ? {} : { comment }),
  };
}

// Dimension and metric names share one namespace because both become output columns,
// and DuckDB compares column names without regard to case.
function columnName(value: unknown, path: string, columns: Map<string, string>): string {
  if (typeof value !== 'string') throw new CatalogInvalidError(path, `must be a string, got ${describe(value)}`);
  if (value.trim().length === 0) throw new CatalogInvalidError(path, 'must not be empty');
  if (value !== value.trim()) throw new CatalogInvalidError(path, 'must not start or end with whitespace');
  if (value.includes('\u0000')) throw new CatalogInvalidError(path, 'must not contain NUL characters');
  if (value.length > MAX_COLUMN_NAME_CHARS) throw new CatalogInvalidError(path, `is longer than ${MAX_COLUMN_NAME_CHARS} characters`);
  const key = value.toLowerCase();
  const first = columns.get(key);
  if (first !== undefined) throw new CatalogInvalidError(path, `duplicate name "${value}" (already used by ${first})`);
  columns.set(key, path);
  return value;
}

function optionalAlias(value: unknown, path: string, aliases: Map<string, string>): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !ALIAS.test(value)) {
    throw new CatalogInvalidError(path, `must be a plain identifier (letters, digits, _), got ${describe(value)}`);
  }
  const key = value.toLowerCase();
  if (RESERVED_WORDS.has(key)) throw new CatalogInvalidError(path, `"${value}" is a reserved SQL word; choose another alias`);
  const first = aliases.get(key);
  if (first !== undefined) throw new CatalogInvalidError(path, `duplicate alias "${value}" (already used by ${first})`);
  aliases.set(key, path);
  return value;
}

function optionalPrimaryKey(value: unknown, path: string): string | string[] | undefined {
  if (value === undefined) return undefined;
  const columns = Array.isArray(value) ? value : [value];
  if (columns.length === 0) throw new CatalogInvalidError(path, 'must name at least one column');
  columns.forEach((column: unknown, i) => {
    if (typeof column !== 'string' || !ALIAS.test(column)) {
      throw new CatalogInvalidError(Array.isArray(value) ? `${path}[${i}]` : path, `must be a column name (letters, digits, _), got ${describe(column)}`);
    }
  });
  return Array.isArray(value) ? [...(value as string[])] : (value as string);
}

function optionalSourceTable(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim().length === 0) throw new CatalogInvalidError(path, `must be a table alias or name, got ${describe(value)}`);
  return value;
}

function optionalComment(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new CatalogInvalidError(path, `must be a string, got ${describe(value)}`);
  return value;
}

function requiredArray(value: unknown, path: string): unknown[] {
  if (value === undefined) throw new CatalogInvalidError(path, 'is required (use [] for none)');
  if (!Array.isArray(value)) throw new CatalogInvalidError(path, `must be an array, got ${describe(value)}`);
  return value;
}

function optionalArray(value: unknown, path: string): unknown[] | undefined {
  return value === undefined ? undefined : requiredArray(value, path);
}

function expectObject(value: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  if (!isPlainObject(value)) throw new CatalogInvalidError(path, `must be an object, got ${describe(value)}`);
  for (const key of Object.keys(value)) {
    if (keys.includes(key)) continue;
    const fix = MISSPELLINGS[key];
    const hint = fix !== undefined && keys.includes(fix) ? `, did you mean "${fix}"?` : `; allowed keys: ${keys.join(', ')}`;
    throw new CatalogInvalidError(`${path}.${key}`, `unknown key${hint}`);
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value === 'object' ? 'an object' : String(value);
}
