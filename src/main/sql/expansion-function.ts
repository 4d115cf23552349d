import type { DuckDBScalarFunction } from '@duckdb/node-api';
import type { NodeApi } from './node-api.js';
import { sqlQueryOptions, type SqlQueryOptions } from './semantic-request.js';
import { sqlErrorMessage } from './sql-error.js';

/** Turns one row's arguments into the expanded SQL text. */
export type Expand = (name: unknown, dimensions: unknown, metrics: unknown, options: SqlQueryOptions) => string;

/**
 * A scalar `fn(name VARCHAR, dimensions VARCHAR[], metrics VARCHAR[][, where, order, limit,
 * offset]) -> VARCHAR` returning a view's expansion. The optional arguments are variadic ANY,
 * so the three fixed ones keep binding `[]` as VARCHAR[]; a NULL among them needs a type.
 */
export function createExpansionFunction(api: NodeApi, name: string, expand: Expand): DuckDBScalarFunction {
  const names = api.LIST(api.VARCHAR);
  return api.DuckDBScalarFunction.create({
    name,
    returnType: api.VARCHAR,
    parameterTypes: [api.VARCHAR, names, names],
    varArgsType: api.ANY,
    // The answer follows the catalog, which changes between statements: never cache it.
    volatile: true,
    specialHandling: true,
    mainFunction: (_info, input, output) => {
      const [views, dimensions, metrics] = [0, 1, 2].map((i) => input.getColumnVector(i));
      const extras = Array.from({ length: input.columnCount - 3 }, (_, i) => input.getColumnVector(i + 3));
      for (let row = 0; row < input.rowCount; row++) {
        try {
          const options = sqlQueryOptions(extras.map((vector) => vector.getItem(row)));
          output.setItem(row, expand(views!.getItem(row), dimensions!.getItem(row), metrics!.getItem(row), options));
        } catch (error) {
          // The binding turns a thrown error into the query's error; the message keeps the code.
          throw new Error(sqlErrorMessage(error));
        }
      }
      output.flush();
    },
  });
}
