import type { DuckDBConnection } from '@duckdb/node-api';
import { expectConnection } from './host-connection.js';
import { CatalogInvalidError } from '../../shared/errors.js';
import type { CatalogOptions } from '../../shared/options.js';
import { Catalog } from '../catalog.js';
import type { AttachOptions } from './attach.js';
import { hostDatabases } from './host-database.js';

/** The suffix {@link hostCatalogPath} appends to the host's database file. */
export const HOST_CATALOG_SUFFIX = '.catalog.duckdb';

/** Options of {@link attachCatalog}. */
export interface AttachCatalogOptions {
  /** Passed to `Catalog.open`. @default {} */
  readonly catalog?: CatalogOptions;
  /** Passed to `catalog.attach`. @default {} */
  readonly attach?: AttachOptions;
}

const OPTION_KEYS: readonly string[] = ['catalog', 'attach'];

/**
 * Where {@link attachCatalog} keeps the catalog of the host behind `connection`: the first
 * database in `PRAGMA database_list` that has a file (the main database, unless it is in
 * memory and a file is ATTACHed), plus `.catalog.duckdb` (`warehouse.duckdb` →
 * `warehouse.duckdb.catalog.duckdb`); `':memory:'` when no database has a file.
 */
export async function hostCatalogPath(connection: DuckDBConnection): Promise<string> {
  expectConnection(connection);
  const [first] = await hostDatabases(connection);
  return first === undefined ? ':memory:' : `${first.file}${HOST_CATALOG_SUFFIX}`;
}

/**
 * Opens the catalog that belongs to the host database of `connection` (at
 * {@link hostCatalogPath}: persistent beside a file-backed host, in memory for an
 * in-memory one) and attaches it to `connection`. The caller closes the returned catalog.
 * @throws {CatalogInvalidError} for bad options, or as `Catalog.open` and `catalog.attach`.
 * @throws {CatalogLockedError} when another catalog already owns that file.
 */
export async function attachCatalog(connection: DuckDBConnection, options?: AttachCatalogOptions): Promise<Catalog> {
  expectConnection(connection);
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new CatalogInvalidError('options', 'must be an object');
  }
  for (const key of Object.keys(options ?? {})) {
    if (!OPTION_KEYS.includes(key)) throw new CatalogInvalidError(`options.${key}`, `unknown option; allowed: ${OPTION_KEYS.join(', ')}`);
  }
  const catalog = await Catalog.open(await hostCatalogPath(connection), options?.catalog);
  try {
    await catalog.attach(connection, options?.attach);
  } catch (error) {
    await catalog.close();
    throw error;
  }
  return catalog;
}
