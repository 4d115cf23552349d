import type { DuckDBConnection } from '@duckdb/node-api';
import { expectConnection } from './host-connection.js';
import { CatalogClosedError, CatalogInvalidError } from '../../shared/errors.js';
import type { CatalogAccess } from './catalog-access.js';
import { createDdlFunctions } from './ddl-functions.js';
import { assertNotCatalogFile } from './host-database.js';
import { loadNodeApi } from './node-api.js';
import { PoolGuard } from './pool-guard.js';
import { createSemanticQueryFunction } from './semantic-query-function.js';
import { installSemanticQuery } from './semantic-query-macro.js';
import { createSqlTextFunction } from './sql-text-function.js';
import { createTableFunctions } from './table-functions.js';

/** Options of {@link Catalog.attach}. */
export interface AttachOptions {
  /**
   * Longest time, in milliseconds, define/replace/drop_semantic_view wait for a free libuv
   * threadpool thread (which the writer needs to commit) before failing with
   * ERR_CATALOG_TIMEOUT. A healthy pool answers in about 0.1 ms.
   * @default 500
   */
  poolWaitMs?: number;
}

export const DEFAULT_ATTACH_OPTIONS: Readonly<Required<AttachOptions>> = Object.freeze({ poolWaitMs: 500 });

/**
 * Registers the semantic-view SQL functions on the database instance of `connection`
 * (every connection of that instance sees them; a later attach to the same instance
 * replaces them), and creates the semantic_query TEMP macro on `connection` itself (only
 * that connection sees it; attach again for another connection).
 * @throws {CatalogInvalidError} for a bad option, or a host that has the catalog's file open.
 * @throws {CatalogClosedError} after close.
 */
export async function attachSemanticViews(catalog: CatalogAccess, connection: DuckDBConnection, options?: AttachOptions): Promise<void> {
  expectConnection(connection);
  const { poolWaitMs } = resolveAttachOptions(options);
  if (catalog.closed) throw new CatalogClosedError();
  if (catalog.persistent) await assertNotCatalogFile(connection, catalog.path);
  const api = await loadNodeApi();
  const scalars = [...createDdlFunctions(api, catalog, new PoolGuard(poolWaitMs)), createSqlTextFunction(api, catalog), createSemanticQueryFunction(api, catalog)];
  for (const fn of scalars) connection.registerScalarFunction(fn);
  for (const fn of createTableFunctions(api, catalog)) connection.registerTableFunction(fn);
  // After the functions: the macro's body names semantic_query_sql.
  await installSemanticQuery(connection);
}

function resolveAttachOptions(options: unknown): Readonly<Required<AttachOptions>> {
  if (options === undefined) return DEFAULT_ATTACH_OPTIONS;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new CatalogInvalidError('options', 'must be an object');
  const given = options as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(key in DEFAULT_ATTACH_OPTIONS)) throw new CatalogInvalidError(`options.${key}`, 'unknown option');
  }
  const { poolWaitMs = DEFAULT_ATTACH_OPTIONS.poolWaitMs } = given;
  if (typeof poolWaitMs !== 'number' || !Number.isSafeInteger(poolWaitMs) || poolWaitMs <= 0) {
    throw new CatalogInvalidError('options.poolWaitMs', `must be a positive integer, got ${String(poolWaitMs)}`);
  }
  return Object.freeze({ poolWaitMs });
}
