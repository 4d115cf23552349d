import type { DuckDBConnection, DuckDBValueConverter, JS } from '@duckdb/node-api';
import { convertBigints } from './bigint-values.js';
import { expectConnection } from './host-connection.js';
import { CatalogError, CatalogInvalidError } from '../../shared/errors.js';
import type { SemanticView } from '../../shared/semantic-view.js';
import { parseDimensionName } from '../../shared/semantic-view-plan.js';
import { checkQuery, semanticViewSql, type SemanticViewQuery } from '../../shared/semantic-view-sql.js';
import type { CatalogAccess } from './catalog-access.js';
import { loadNodeApi, type NodeApi } from './node-api.js';
import { lookupSemanticView } from './semantic-view-lookup.js';

/**
 * One result row of {@link Catalog.query}: column name to JS value (BIGINT/HUGEINT as
 * bigint). A null-prototype object, so a column named `__proto__` or `constructor` is an
 * ordinary key. Keys are in requested order, except that JavaScript lists integer-like
 * keys (`2024`) first in any object.
 */
export type SemanticViewRow = Record<string, JS>;

/**
 * A failure of the generated SQL: a {@link CatalogInvalidError} that names the view and the
 * part at fault; `field` is its path (`definition.metrics[1]`, `definition.filters[0]`,
 * `definition.base_table`, `where` or `query`); `cause` is DuckDB's error.
 */
export type SemanticViewQueryError = CatalogInvalidError;

/**
 * Expands `query` against the semantic view `name` and runs it on the host connection.
 * The SQL is built on this thread from the map; DuckDB runs it on the host like any query.
 * @throws {CatalogNotFoundError} / {CatalogInvalidError} as in {@link lookupSemanticView} and {@link semanticViewSql}.
 * @throws {SemanticViewQueryError} ERR_CATALOG_INVALID when DuckDB rejects the generated
 *   SQL (say, a missing table or column): the message names the view and the base table,
 *   filter, dimension, metric or where at fault; `cause` is DuckDB's error.
 */
export async function querySemanticView(catalog: CatalogAccess, connection: DuckDBConnection, name: string, query: SemanticViewQuery): Promise<SemanticViewRow[]> {
  expectConnection(connection);
  const view = lookupSemanticView(catalog, name);
  const sql = semanticViewSql(name, view, query);
  const api = await loadNodeApi();
  let reader;
  try {
    reader = await runSingleSelect(api, connection, sql);
  } catch (error) {
    if (error instanceof CatalogError) throw error;
    throw await explainFailure(connection, name, view, query, error);
  }
  const columns = reader.columnNames();
  const rows = query?.values === 'exact' ? reader.convertRows(exactConverter(api)) : reader.getRowsJS();
  const bigint = query?.bigint ?? 'number';
  return rows.map((values) => {
    const row: SemanticViewRow = Object.create(null) as SemanticViewRow;
    columns.forEach((column, i) => {
      row[column] = convertBigints(values[i] as JS, bigint, column);
    });
    return row;
  });
}

/**
 * Runs the generated text as ONE prepared statement, and only if DuckDB's own parser sees
 * a single SELECT: whatever a definition or a `where` smuggles in (E-strings, dollar
 * quotes, comments) cannot become a second statement. DuckDB refuses to prepare several
 * statements at once.
 */
async function runSingleSelect(api: NodeApi, connection: DuckDBConnection, sql: string) {
  let prepared;
  try {
    prepared = await connection.prepare(sql);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/multiple statements|more than one statement/i.test(message)) {
      throw new CatalogInvalidError('query', `the generated SQL is more than one statement (a definition or where-condition reaches outside its slot): ${message}`);
    }
    throw error;
  }
  try {
    if (prepared.statementType !== api.StatementType.SELECT) {
      throw new CatalogInvalidError('query', 'the generated SQL is not a single SELECT statement');
    }
    return await prepared.runAndReadAll();
  } finally {
    prepared.destroySync();
  }
}

// JS values, except DECIMAL and TIMESTAMP values, which keep their exact DuckDB text.
function exactConverter(api: NodeApi): DuckDBValueConverter<JS> {
  const id = api.DuckDBTypeId;
  const exact = new Set<number>([id.DECIMAL, id.TIMESTAMP, id.TIMESTAMP_S, id.TIMESTAMP_MS, id.TIMESTAMP_NS, id.TIMESTAMP_TZ]);
  return (value, type, converter) => (exact.has(type.typeId) ? (value === null ? null : String(value)) : api.JSDuckDBValueConverter(value, type, converter));
}

const PROBE = '__duckcat_probe__';

interface Probe {
  readonly label: string;
  readonly field: string;
  readonly view: SemanticView;
  readonly query: SemanticViewQuery;
}

// Finds the part of the view that DuckDB refuses by binding (LIMIT 0) one part at a time:
// the base table, each filter, each requested dimension and metric, then the where.
// Runs only after a failure, outside any DuckDB callback.
async function explainFailure(connection: DuckDBConnection, name: string, view: SemanticView, query: SemanticViewQuery, error: unknown): Promise<SemanticViewQueryError> {
  const checked = checkQuery(query);
  const count = { name: PROBE, expr: 'count(*)' };
  const bare: SemanticView = { ...view, filters: [], metrics: [...view.metrics, count] };
  const probes: Probe[] = [
    { label: `base table "${view.base_table}"`, field: 'definition.base_table', view: bare, query: { metrics: [PROBE] } },
    ...(view.filters ?? []).map((filter, i): Probe => ({ label: `filter "${filter}"`, field: `definition.filters[${i}]`, view: { ...bare, filters: [filter] }, query: { metrics: [PROBE] } })),
    ...checked.dimensions.map((d): Probe => ({ label: `dimension "${d}"`, field: memberPath(view, 'dimensions', d), view: bare, query: { dimensions: [d] } })),
    ...checked.metrics.map((m): Probe => ({ label: `metric "${m}"`, field: memberPath(view, 'metrics', m), view: bare, query: { metrics: [m] } })),
    ...(checked.where === undefined ? [] : [{ label: `where "${checked.where}"`, field: 'where', view: bare, query: { metrics: [PROBE], where: checked.where } }]),
  ];
  for (const probe of probes) {
    let probeSql: string;
    try {
      probeSql = semanticViewSql(name, probe.view, probe.query);
    } catch {
      continue; // a where that names a metric cannot be probed alone; the whole query is blamed below
    }
    try {
      await connection.run(`SELECT * FROM (${probeSql}) LIMIT 0`);
    } catch (probeError) {
      return queryError(name, probe.label, probe.field, probeError);
    }
  }
  return queryError(name, 'the query', 'query', error);
}

function memberPath(view: SemanticView, kind: 'dimensions' | 'metrics', name: string): string {
  const find = (wanted: string) => view[kind].findIndex((member) => member.name.toLowerCase() === wanted.toLowerCase());
  // A dimension asked for at a grain (`ordered_at__month`) is that dimension.
  const base = kind === 'dimensions' ? (parseDimensionName(name, (candidate) => find(candidate) >= 0)?.base ?? name) : name;
  const index = find(base);
  return `definition.${kind}[${index}]`;
}

function queryError(view: string, part: string, field: string, cause: unknown): SemanticViewQueryError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new CatalogInvalidError(field, reason, { cause, message: `semantic view "${view}": ${part} fails in DuckDB: ${reason}` });
}
