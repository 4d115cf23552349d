import type { DuckDBScalarFunction } from '@duckdb/node-api';
import { semanticViewSql } from '../../shared/semantic-view-sql.js';
import type { CatalogAccess } from './catalog-access.js';
import { createExpansionFunction } from './expansion-function.js';
import type { NodeApi } from './node-api.js';
import { lookupSemanticView } from './semantic-view-lookup.js';

/**
 * semantic_view_sql(name, dimensions VARCHAR[], metrics VARCHAR[][, where VARCHAR[, order
 * VARCHAR[][, limit BIGINT[, offset BIGINT]]]]) -> VARCHAR: the expansion as text. DuckDB
 * can run it in the same statement:
 * `SELECT * FROM query(semantic_view_sql('sales', ['region'], ['revenue']))`.
 */
export function createSqlTextFunction(api: NodeApi, catalog: CatalogAccess): DuckDBScalarFunction {
  return createExpansionFunction(api, 'semantic_view_sql', (name, dimensions, metrics, options) => {
    const view = lookupSemanticView(catalog, name);
    return semanticViewSql(name as string, view, { ...options, dimensions: namesOf(dimensions), metrics: namesOf(metrics) });
  });
}

// A NULL list asks for nothing; items keep their NULLs so expansion can name the bad one.
function namesOf(list: unknown): string[] {
  if (list === null || typeof list !== 'object' || !('items' in list) || !Array.isArray(list.items)) return [];
  return list.items as string[];
}
