import type { DuckDBScalarFunction } from '@duckdb/node-api';
import type { CatalogAccess } from './catalog-access.js';
import type { NodeApi } from './node-api.js';
import { resolveRequest, sqlQueryOptions } from './semantic-request.js';
import { sqlErrorMessage } from './sql-error.js';

/**
 * semantic_query_sql(name, dimensions VARCHAR[], metrics VARCHAR[][, where VARCHAR[, order
 * VARCHAR[][, limit BIGINT[, offset BIGINT]]]]) -> VARCHAR: the SQL the semantic_query
 * table macro runs through `query(...)`. The same text as
 * semantic_view_sql, with the request checked and its errors worded as the seeds word
 * them (see {@link resolveRequest}).
 */
export function createSemanticQueryFunction(api: NodeApi, catalog: CatalogAccess): DuckDBScalarFunction {
  const names = api.LIST(api.VARCHAR);
  return api.DuckDBScalarFunction.create({
    name: 'semantic_query_sql',
    returnType: api.VARCHAR,
    parameterTypes: [api.VARCHAR, names, names],
    varArgsType: api.ANY,
    // The answer follows the catalog, which changes between statements: never cache it.
    volatile: true,
    specialHandling: true,
    mainFunction: (_info, input, output) => {
      const [names, dimensions, metrics] = [0, 1, 2].map((i) => input.getColumnVector(i));
      const extras = Array.from({ length: input.columnCount - 3 }, (_, i) => input.getColumnVector(i + 3));
      for (let row = 0; row < input.rowCount; row++) {
        try {
          const options = sqlQueryOptions(extras.map((vector) => vector.getItem(row)));
          output.setItem(row, resolveRequest(catalog, names!.getItem(row), dimensions!.getItem(row), metrics!.getItem(row), options).sql);
        } catch (error) {
          throw new Error(sqlErrorMessage(error));
        }
      }
      output.flush();
    },
  });
}
