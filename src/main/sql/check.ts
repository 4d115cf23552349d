/**
 * `checkSemanticView(catalog, connection, name)`: does the view still fit the tables of
 * that connection? DESCRIBEs each table the view names, then binds each filter, dimension
 * and metric alone (its expansion with LIMIT 0, so nothing is read), and reports each
 * part. An ordinary async function: the SQL runs on `connection` from the caller's
 * thread, never inside a DuckDB function callback.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { expectConnection } from './host-connection.js';
import { CatalogError } from '../../shared/errors.js';
import type { SemanticView } from '../../shared/semantic-view.js';
import { modelSemanticView } from '../../shared/semantic-view-model.js';
import { semanticViewSql, type SemanticViewQuery } from '../../shared/semantic-view-sql.js';
import type { CatalogAccess } from './catalog-access.js';
import { lookupSemanticView } from './semantic-view-lookup.js';

/** One checked part of a view. */
export interface SemanticViewCheckItem {
  readonly kind: 'table' | 'filter' | 'dimension' | 'metric';
  /** The table as written (`customers AS c`), the filter text, or the member's name. */
  readonly name: string;
  /** Path of the part in the definition: `base_table`, `joins[0]`, `filters[1]`, `dimensions[2]`, `metrics[0]`. */
  readonly field: string;
  readonly ok: boolean;
  /** For a table that exists: its columns, as DESCRIBE lists them. */
  readonly columns?: ReadonlyArray<{ readonly name: string; readonly type: string }>;
  /** Why the part fails: DuckDB's message (a missing table or column), or the planner's. */
  readonly error?: string;
}

/** The report of {@link checkSemanticView}: `ok` when every item is. */
export interface SemanticViewCheck {
  readonly view: string;
  readonly ok: boolean;
  readonly items: readonly SemanticViewCheckItem[];
}

const PROBE = '__duckcat_check__';

/**
 * Checks the semantic view `name` against the tables visible on `connection`.
 * @returns One item per table (base table, then joins), filter, dimension and metric, in
 *   definition order. A dimension or metric fails when DuckDB cannot bind it (a missing
 *   table or column, a type error) or when the planner refuses it alone (say, a metric that
 *   a join would repeat with no key declared).
 * @throws {CatalogNotFoundError} / {CatalogInvalidError} as `cat.query` for a missing view or
 *   an entry that is not one. Problems of the view itself are reported, not thrown.
 */
export async function checkSemanticView(catalog: CatalogAccess, connection: DuckDBConnection, name: string): Promise<SemanticViewCheck> {
  expectConnection(connection);
  const view = lookupSemanticView(catalog, name);
  const model = modelSemanticView(view);
  const items: SemanticViewCheckItem[] = [];
  for (const table of model.tables) {
    const field = table.position === 0 ? 'base_table' : `joins[${table.position - 1}]`;
    try {
      const columns = await describe(connection, table.sql);
      items.push({ kind: 'table', name: table.sql, field, ok: true, columns });
    } catch (error) {
      items.push({ kind: 'table', name: table.sql, field, ok: false, error: message(error) });
    }
  }
  const count = { name: PROBE, expr: 'count(*)' };
  const bare: SemanticView = { ...view, filters: [], metrics: [...view.metrics, count] };
  const probes: Array<{ kind: SemanticViewCheckItem['kind']; name: string; field: string; view: SemanticView; query: SemanticViewQuery }> = [
    ...(view.filters ?? []).map((filter, i) => ({ kind: 'filter' as const, name: filter, field: `filters[${i}]`, view: { ...bare, filters: [filter] }, query: { metrics: [PROBE] } })),
    ...view.dimensions.map((d, i) => ({ kind: 'dimension' as const, name: d.name, field: `dimensions[${i}]`, view: bare, query: { dimensions: [d.name] } })),
    ...view.metrics.map((m, i) => ({ kind: 'metric' as const, name: m.name, field: `metrics[${i}]`, view: bare, query: { metrics: [m.name] } })),
  ];
  for (const probe of probes) {
    try {
      const sql = semanticViewSql(name, probe.view, probe.query);
      await bindOnly(connection, sql);
      items.push({ kind: probe.kind, name: probe.name, field: probe.field, ok: true });
    } catch (error) {
      items.push({ kind: probe.kind, name: probe.name, field: probe.field, ok: false, error: message(error) });
    }
  }
  return { view: name, ok: items.every((item) => item.ok), items };
}

// DESCRIBE of one table reference, as one prepared statement (DuckDB refuses to prepare several).
async function describe(connection: DuckDBConnection, tableSql: string): Promise<Array<{ name: string; type: string }>> {
  const prepared = await connection.prepare(`DESCRIBE SELECT * FROM ${tableSql}`);
  try {
    const reader = await prepared.runAndReadAll();
    return reader.getRowObjectsJS().map((row) => ({ name: String(row.column_name), type: String(row.column_type) }));
  } finally {
    prepared.destroySync();
  }
}

// Binds a generated SELECT without reading a row: LIMIT 0 around it, one prepared statement.
async function bindOnly(connection: DuckDBConnection, sql: string): Promise<void> {
  const prepared = await connection.prepare(`SELECT * FROM (${sql}) LIMIT 0`);
  try {
    await prepared.runAndReadAll();
  } finally {
    prepared.destroySync();
  }
}

function message(error: unknown): string {
  if (error instanceof CatalogError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
