import type { DuckDBScalarFunction } from '@duckdb/node-api';
import { semanticViewSql } from '../../shared/semantic-view-sql.js';
import type { CatalogAccess } from './catalog-access.js';
import type { NodeApi } from './node-api.js';
import { sqlQueryOptions } from './semantic-request.js';
import { lookupSemanticView } from './semantic-view-lookup.js';
import { sqlErrorMessage } from './sql-error.js';

/**
 * semantic_view_sql(name, dimensions VARCHAR[], metrics VARCHAR[][, where VARCHAR[, order
 * VARCHAR[][, limit BIGINT[, offset BIGINT]]]]) -> VARCHAR: the expansion as text. DuckDB
 * can run it in the same statement:
 * `SELECT * FROM query(semantic_view_sql('sales', ['region'], ['revenue']))`.
 * The optional arguments (see {@link sqlQueryOptions}) are variadic ANY, so the three
 * fixed ones keep binding `[]` as VARCHAR[]; a NULL among them needs a type (`NULL::BIGINT`).
 */
export function createSqlTextFunction(api: NodeApi, catalog: CatalogAccess): DuckDBScalarFunction {
  const names = api.LIST(api.VARCHAR);
  return api.DuckDBScalarFunction.create({
    name: 'semantic_view_sql',
    returnType: api.VARCHAR,
    parameterTypes: [api.VARCHAR, names, names],
    varArgsType: api.ANY,
    // The answer follows the catalog, which changes between statements: never cache it.
    volatile: true,
    specialHandling: true,
    mainFunction: (_info, input, output) => {
      const [viewNames, dimensions, metrics] = [0, 1, 2].map((i) => input.getColumnVector(i));
      const extras = Array.from({ length: input.columnCount - 3 }, (_, i) => input.getColumnVector(i + 3));
      for (let row = 0; row < input.rowCount; row++) {
        try {
          const name = viewNames!.getItem(row);
          const view = lookupSemanticView(catalog, name);
          const options = sqlQueryOptions(extras.map((vector) => vector.getItem(row)));
          output.setItem(row, semanticViewSql(name as string, view, { ...options, dimensions: namesOf(dimensions!.getItem(row)), metrics: namesOf(metrics!.getItem(row)) }));
        } catch (error) {
          throw new Error(sqlErrorMessage(error));
        }
      }
      output.flush();
    },
  });
}

// A NULL list asks for nothing; items keep their NULLs so expansion can name the bad one.
function namesOf(list: unknown): string[] {
  if (list === null || typeof list !== 'object' || !('items' in list) || !Array.isArray(list.items)) return [];
  return list.items as string[];
}
