import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { CatalogInvalidError } from '../../shared/errors.js';

/** A database the host connection has open, from `PRAGMA database_list`. */
export interface HostDatabase {
  readonly name: string;
  readonly file: string;
}

/**
 * Every file-backed database of the host connection (its main database first, then any
 * ATTACHed ones). Matched on a non-empty `file`, never on the name "main": clients name
 * the main database after the file stem.
 */
export async function hostDatabases(connection: DuckDBConnection): Promise<HostDatabase[]> {
  const reader = await connection.runAndReadAll('PRAGMA database_list');
  return reader
    .getRowObjectsJS()
    .map((row) => ({ name: String(row.name ?? ''), file: typeof row.file === 'string' ? row.file : '' }))
    .filter((database) => database.file.length > 0);
}

/**
 * Refuses a host connection that has the catalog's own file open. Two DuckDB instances on
 * one file in one process do not see each other's writes and corrupt the WAL on close,
 * and a host query waiting on our writer while holding that file would deadlock.
 * @throws {CatalogInvalidError} field `connection`.
 */
export async function assertNotCatalogFile(connection: DuckDBConnection, catalogPath: string): Promise<void> {
  const own = canonical(catalogPath);
  for (const database of await hostDatabases(connection)) {
    if (canonical(database.file) !== own) continue;
    throw new CatalogInvalidError(
      'connection',
      `the host database "${database.name}" is the catalog's own file ${catalogPath}; the catalog's writer must be its only ` +
        'DuckDB instance: keep the catalog in a file of its own and attach it to connections on other databases',
    );
  }
}

function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}
