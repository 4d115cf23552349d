/**
 * Checks a semantic_query / explain_semantic_view request against the catalog and words
 * its errors as the seeds' extension does (`Semantic view 'x' not found.`, `unknown
 * dimension 'x'`, `specify at least dimensions := [...] or metrics := [...]`), then
 * expands it with {@link semanticViewSql}. Pure: it reads the main thread's map only.
 */
import { CatalogInvalidError, CatalogNotFoundError, preview } from '../../shared/errors.js';
import { isSemanticViewEntry, type SemanticView } from '../../shared/semantic-view.js';
import { parseDimensionName } from '../../shared/semantic-view-plan.js';
import { semanticViewSql, type SemanticViewOrder, type SemanticViewQuery } from '../../shared/semantic-view-sql.js';
import type { CatalogAccess } from './catalog-access.js';
import { lookupSemanticView } from './semantic-view-lookup.js';

/** A request that names an existing view and only its dimensions and metrics. */
export interface SemanticRequest {
  readonly name: string;
  readonly view: SemanticView;
  readonly dimensions: readonly string[];
  readonly metrics: readonly string[];
  /** The expansion, as `semantic_view_sql` would return it. */
  readonly sql: string;
}

/**
 * @param name The view name (a SQL value: may be NULL).
 * @param dimensions A SQL `VARCHAR[]` value (NULL or absent = none).
 * @param metrics A SQL `VARCHAR[]` value (NULL or absent = none).
 * @throws {CatalogError} ERR_CATALOG_NOT_FOUND `Semantic view 'x' not found.` with a
 *   did-you-mean and the available names.
 * @throws {CatalogInvalidError} ERR_CATALOG_INVALID for an unknown dimension or metric
 *   (with the valid names), an empty request, a NULL name or list item.
 */
export function resolveRequest(catalog: CatalogAccess, name: unknown, dimensions: unknown, metrics: unknown, options: SqlQueryOptions = {}): SemanticRequest {
  if (typeof name !== 'string') throw new CatalogInvalidError('name', `must be a semantic view name, got ${name === null ? 'NULL' : typeof name}`);
  if (!catalog.has(name)) throw viewNotFound(catalog, name);
  const view = lookupSemanticView(catalog, name);
  const request = {
    name,
    view,
    dimensions: checkNames(name, 'dimension', view.dimensions, namesOf(dimensions, 'dimensions'), true),
    metrics: checkNames(name, 'metric', view.metrics, namesOf(metrics, 'metrics')),
  };
  if (request.dimensions.length === 0 && request.metrics.length === 0) {
    throw new CatalogInvalidError('query', 'specify at least dimensions := [...] or metrics := [...]');
  }
  return { ...request, sql: semanticViewSql(name, view, { ...options, dimensions: request.dimensions, metrics: request.metrics }) };
}

/** The options of a query beyond its names, as the SQL functions take them. */
export type SqlQueryOptions = Pick<SemanticViewQuery, 'where' | 'order' | 'limit' | 'offset'>;

/** The optional arguments after `metrics`, in this order. */
export const SQL_OPTION_NAMES = ['where', 'order', 'limit', 'offset'] as const;

/**
 * Reads the optional arguments after `metrics` — `where VARCHAR`, `order VARCHAR[]`,
 * `limit BIGINT`, `offset BIGINT` — as SQL values (a NULL = not given). Each `order` item is
 * a requested name, optionally followed by `ASC` or `DESC`. The values are only data: the
 * query checks and plans them like `cat.query`'s options.
 * @throws {CatalogInvalidError} ERR_CATALOG_INVALID for too many arguments or a value of the wrong type.
 */
export function sqlQueryOptions(values: readonly unknown[]): SqlQueryOptions {
  if (values.length > SQL_OPTION_NAMES.length) {
    throw new CatalogInvalidError('query', `takes at most ${3 + SQL_OPTION_NAMES.length} arguments: name, dimensions, metrics, ${SQL_OPTION_NAMES.join(', ')}; got ${3 + values.length}`);
  }
  const [where, order, limit, offset] = values;
  const options: { where?: string; order?: SemanticViewOrder[]; limit?: number; offset?: number } = {};
  if (where !== null && where !== undefined) {
    if (typeof where !== 'string') throw new CatalogInvalidError('where', `must be a VARCHAR condition, got ${typeof where}`);
    options.where = where;
  }
  if (order !== null && order !== undefined) {
    options.order = namesOf(order, 'order').map((term, i) => orderTerm(term, i));
  }
  const count = (value: unknown, field: 'limit' | 'offset'): number | undefined => {
    if (value === null || value === undefined) return undefined;
    if (typeof value === 'bigint' && value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
    if (typeof value === 'number') return value;
    throw new CatalogInvalidError(field, `must be an integer, got ${typeof value === 'bigint' ? String(value) : typeof value}`);
  };
  const limitValue = count(limit, 'limit');
  const offsetValue = count(offset, 'offset');
  if (limitValue !== undefined) options.limit = limitValue;
  if (offsetValue !== undefined) options.offset = offsetValue;
  return options;
}

// `revenue`, `revenue DESC`, `"net revenue" asc`: a name, then an optional direction.
function orderTerm(term: string, index: number): SemanticViewOrder {
  const match = /^\s*(.*?)(?:\s+(asc|desc))?\s*$/is.exec(term)!;
  let name = match[1]!;
  if (name.length >= 2 && name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1).replace(/""/g, '"');
  if (name === '') throw new CatalogInvalidError(`order[${index}]`, 'must be a dimension or metric name, optionally followed by ASC or DESC');
  const direction = match[2]?.toLowerCase() as 'asc' | 'desc' | undefined;
  return direction === undefined ? { name } : { name, direction };
}

function viewNotFound(catalog: CatalogAccess, name: string): CatalogNotFoundError {
  const available = catalog
    .entries()
    .filter(([, value]) => isSemanticViewEntry(value))
    .map(([viewName]) => viewName);
  const hint = available.length === 0 ? ' No semantic views are defined.' : `${didYouMean(name, available)} Available semantic views: ${quoted(available)}.`;
  return new CatalogNotFoundError(name, `Semantic view '${preview(name)}' not found.${hint}`);
}

function checkNames(view: string, kind: 'dimension' | 'metric', available: ReadonlyArray<{ readonly name: string }>, wanted: string[], grains = false): string[] {
  const names = available.map((column) => column.name);
  const known = new Set(names.map((column) => column.toLowerCase()));
  const isKnown = (candidate: string) => known.has(candidate.toLowerCase());
  for (const wantedName of wanted) {
    // A dimension may be asked for at a time grain: `ordered_at__month`.
    if (grains ? parseDimensionName(wantedName, isKnown) !== undefined : isKnown(wantedName)) continue;
    const valid = names.length === 0 ? ` Semantic view '${preview(view)}' has no ${kind}s.` : `${didYouMean(wantedName, names)} Valid ${kind}s: ${quoted(names)}.`;
    throw new CatalogInvalidError(`${kind}s`, `unknown ${kind} '${preview(wantedName)}' in semantic view '${preview(view)}'.${valid}`);
  }
  return wanted;
}

// A NULL or absent list asks for nothing; a NULL item is refused.
function namesOf(list: unknown, field: string): string[] {
  if (list === null || list === undefined) return [];
  const items = typeof list === 'object' && 'items' in list && Array.isArray(list.items) ? (list.items as unknown[]) : undefined;
  if (items === undefined) throw new CatalogInvalidError(field, 'must be a list of names');
  return items.map((item, i) => {
    if (typeof item !== 'string') throw new CatalogInvalidError(`${field}[${i}]`, `must be a name, got ${item === null ? 'NULL' : typeof item}`);
    return item;
  });
}

/** ` Did you mean 'x'?` for the closest candidate within a few edits, or ''. */
export function didYouMean(wanted: string, candidates: readonly string[]): string {
  const target = wanted.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(target.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(target, candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best === undefined ? '' : ` Did you mean '${preview(best)}'?`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function quoted(names: readonly string[]): string {
  return names.map((name) => `'${preview(name)}'`).join(', ');
}
