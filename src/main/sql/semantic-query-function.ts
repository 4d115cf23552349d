import type { DuckDBScalarFunction } from '@duckdb/node-api';
import type { CatalogAccess } from './catalog-access.js';
import { createExpansionFunction } from './expansion-function.js';
import type { NodeApi } from './node-api.js';
import { resolveRequest } from './semantic-request.js';

/**
 * semantic_query_sql(name, dimensions VARCHAR[], metrics VARCHAR[][, where VARCHAR[, order
 * VARCHAR[][, limit BIGINT[, offset BIGINT]]]]) -> VARCHAR: the SQL the semantic_query
 * table macro runs through `query(...)`. The same text as semantic_view_sql, with the
 * request checked and its errors worded as the seeds word them (see {@link resolveRequest}).
 */
export function createSemanticQueryFunction(api: NodeApi, catalog: CatalogAccess): DuckDBScalarFunction {
  return createExpansionFunction(api, 'semantic_query_sql', (name, dimensions, metrics, options) => resolveRequest(catalog, name, dimensions, metrics, options).sql);
}
