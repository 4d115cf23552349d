import type { DuckDBConnection } from '@duckdb/node-api';
import { CatalogInvalidError } from '../../shared/errors.js';

/**
 * Checks that `value` is a connection of `@duckdb/node-api` before anything is registered
 * on it or run through it: a JavaScript caller passing `{}`, a DuckDBInstance or an old
 * `duckdb` package connection gets ERR_CATALOG_INVALID, not a TypeError from deep inside.
 * Checked by shape, so a connection from any compatible copy of the package is accepted.
 * @throws {CatalogInvalidError} field `connection`.
 */
export function expectConnection(value: unknown): DuckDBConnection {
  const candidate = value as Partial<Record<'run' | 'runAndReadAll' | 'registerScalarFunction' | 'registerTableFunction' | 'prepare', unknown>> | null;
  const methods = ['run', 'runAndReadAll', 'registerScalarFunction', 'registerTableFunction', 'prepare'] as const;
  if (typeof candidate !== 'object' || candidate === null || methods.some((method) => typeof candidate[method] !== 'function')) {
    const got = value === null ? 'null' : typeof value === 'object' ? (value.constructor?.name ?? 'an object') : typeof value;
    const hint = got === 'DuckDBInstance' ? ' (call instance.connect() and pass the connection)' : '';
    throw new CatalogInvalidError('connection', `must be a DuckDBConnection from @duckdb/node-api, got ${got}${hint}`);
  }
  return value as DuckDBConnection;
}
