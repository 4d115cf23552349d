import type { DuckDBScalarFunction } from '@duckdb/node-api';
import type { CatalogAccess } from './catalog-access.js';
import type { NodeApi } from './node-api.js';
import { resolveRequest } from './semantic-request.js';
import { sqlErrorMessage } from './sql-error.js';

/**
 * semantic_query_sql(name, dimensions VARCHAR[], metrics VARCHAR[]) -> VARCHAR: the SQL the
 * semantic_query table macro runs through `query(...)`. The same text as
 * semantic_view_sql, with the request checked and its errors worded as the seeds word
 * them (see {@link resolveRequest}).
 */
export function createSemanticQueryFunction(api: NodeApi, catalog: CatalogAccess): DuckDBScalarFunction {
  const names = api.LIST(api.VARCHAR);
  return api.DuckDBScalarFunction.create({
    name: 'semantic_query_sql',
    returnType: api.VARCHAR,
    parameterTypes: [api.VARCHAR, names, names],
    // The answer follows the catalog, which changes between statements: never cache it.
    volatile: true,
    specialHandling: true,
    mainFunction: (_info, input, output) => {
      const [names, dimensions, metrics] = [0, 1, 2].map((i) => input.getColumnVector(i));
      for (let row = 0; row < input.rowCount; row++) {
        try {
          output.setItem(row, resolveRequest(catalog, names!.getItem(row), dimensions!.getItem(row), metrics!.getItem(row)).sql);
        } catch (error) {
          throw new Error(sqlErrorMessage(error));
        }
      }
      output.flush();
    },
  });
}
