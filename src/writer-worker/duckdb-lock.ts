/**
 * Opening the catalog's DuckDB file with the native bindings alone, before the rest of
 * `@duckdb/node-api` loads. The open is what takes DuckDB's file lock (and reports a second
 * owner), so the store thread can say "held" ~100 ms sooner than if it first loaded the
 * API's ~120 modules; it wraps the handle in a `DuckDBInstance` afterwards (store.ts).
 */
import { createRequire } from 'node:module';
import type { Database } from '@duckdb/node-bindings';
import { CatalogLockedError, CatalogStorageError } from '../shared/errors.js';
import { isLockError, parseLockHolder } from '../shared/duckdb-messages.js';

/** DuckDB's WAL size that triggers a checkpoint: why 64 MB, see Store.open's (store.ts). */
const CHECKPOINT_THRESHOLD = '64MB';

type Bindings = typeof import('@duckdb/node-bindings');

let bindings: Bindings | undefined;

/**
 * The bindings `@duckdb/node-api` itself uses: resolved from its own location (they are
 * its dependency, not ours, and may sit nested under it), so the handle opened here is one
 * its `DuckDBInstance` accepts. Resolving does not load the API.
 */
function loadBindings(): Bindings {
  if (bindings !== undefined) return bindings;
  const here = createRequire(import.meta.url);
  const api = createRequire(here.resolve('@duckdb/node-api'));
  bindings = api('@duckdb/node-bindings') as Bindings;
  return bindings;
}

/**
 * Opens (or creates) `path` and holds DuckDB's lock on it.
 * @throws {CatalogLockedError} when another process holds the file (with its pid when DuckDB names it).
 * @throws {CatalogStorageError} for any other failure, the bindings failing to load included.
 */
export async function lockDatabase(path: string, options: { readOnly: boolean; threads: number }): Promise<Database> {
  let duckdb: Bindings;
  try {
    duckdb = loadBindings();
  } catch (error) {
    throw new CatalogStorageError(`could not load DuckDB's native bindings: ${messageOf(error)}`, { cause: error });
  }
  try {
    const config = duckdb.create_config();
    const settings: Record<string, string> = {
      duckdb_api: 'node-neo-api',
      threads: String(options.threads),
      access_mode: options.readOnly ? 'READ_ONLY' : 'READ_WRITE',
      // Only the extensions compiled into the binary may load: nothing reaches the network.
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      checkpoint_threshold: CHECKPOINT_THRESHOLD,
    };
    for (const [name, value] of Object.entries(settings)) duckdb.set_config(config, name, value);
    return await duckdb.open(path, config);
  } catch (error) {
    throw openError(path, error);
  }
}

/** Releases a handle no `DuckDBInstance` took over (the rest of the open failed). */
export function unlockDatabase(database: Database): void {
  loadBindings().close_sync(database);
}

/** DuckDB's open error as the catalog's typed error. */
export function openError(path: string, error: unknown): Error {
  const message = messageOf(error);
  if (isLockError(message)) {
    const holder = parseLockHolder(message);
    return new CatalogLockedError(path, holder?.pid, undefined, { cause: error });
  }
  return new CatalogStorageError(`could not open catalog ${path}: ${message}`, { cause: error });
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
