import type { DuckDBConnection, JS } from '@duckdb/node-api';
import { semanticViewSql, type SemanticViewQuery } from '../../shared/semantic-view-sql.js';
import type { CatalogAccess } from './catalog-access.js';
import { lookupSemanticView } from './semantic-view-lookup.js';

/** One result row of {@link Catalog.query}: column name to JS value (BIGINT/HUGEINT as bigint). */
export type SemanticViewRow = Record<string, JS>;

/**
 * Expands `query` against the semantic view `name` and runs it on the host connection.
 * The SQL is built on this thread from the map; DuckDB runs it on the host like any query.
 * @throws {CatalogNotFoundError} / {CatalogInvalidError} as in {@link lookupSemanticView} and {@link semanticViewSql}.
 * @throws the DuckDB error unchanged when the host rejects the SQL (say, a missing table).
 */
export async function querySemanticView(catalog: CatalogAccess, connection: DuckDBConnection, name: string, query: SemanticViewQuery): Promise<SemanticViewRow[]> {
  const sql = semanticViewSql(name, lookupSemanticView(catalog, name), query ?? {});
  const reader = await connection.runAndReadAll(sql);
  return reader.getRowObjectsJS();
}
