/**
 * Opening the catalog's DuckDB file with the native bindings alone, before the rest of
 * `@duckdb/node-api` loads (~120 modules, ~100 ms): the open takes DuckDB's file lock (and
 * reports a second owner), and the journal position read here is all the journal thread
 * needs to decide the open. The store thread wraps the handle in a `DuckDBInstance` after
 * the owner has its answer (store.ts), before any write reaches DuckDB.
 */
import { createRequire } from 'node:module';
import type { Connection, Database } from '@duckdb/node-bindings';
import * as sql from './sql.js';
import { CatalogLockedError, CatalogStorageError } from '../shared/errors.js';
import { isLockError, parseLockHolder } from '../shared/duckdb-messages.js';

/**
 * DuckDB checkpoints when its WAL passes this (its default is 16 MB). Each checkpoint is a
 * burst of writes and syncs that the journal's fdatasync queues behind: in the 500 MB soak
 * (test/soak/big-catalog.mjs, unkeyed table) replaceSync's p99.9 during compaction was
 * 21 ms at 64 MB and 85 ms at 16 MB. A longer WAL costs replay time after a crash (a
 * clean close checkpoints) and at most as much memory.
 */
const CHECKPOINT_THRESHOLD = '64MB';

/** The name the catalog's file is attached under. */
const FILE_DATABASE = 'duckcat_file';

/**
 * Rows per DuckDB row group (DuckDB's default: 122,880). Without an index, a checkpoint
 * vacuums adjacent row groups once enough of their rows are deleted, rewriting them whole:
 * 64,000 definitions of 8 KB fit one default row group (500 MB), and such checkpoints took
 * up to 2.7–3.2 s; at 8,192 rows each stayed at 100–560 ms (probe of DuckDB 1.5.6 alone,
 * 48 applies of 1,400 replaced rows, a checkpoint every 6).
 */
const ROW_GROUP_ROWS = 8_192;

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
    if (path === ':memory:') {
      for (const [name, value] of Object.entries(settings)) duckdb.set_config(config, name, value);
      return await duckdb.open(path, config);
    }
    // The file is attached to an in-memory instance, which is how DuckDB takes a row group
    // size (see ROW_GROUP_ROWS); the attach takes the file's lock as an open would.
    // Spills go beside the file, where DuckDB puts them for a file it opens itself (an
    // in-memory instance's default is `.tmp` in the process's working directory).
    const attaching = { ...settings, access_mode: 'READ_WRITE', temp_directory: `${path}.tmp` };
    for (const [name, value] of Object.entries(attaching)) duckdb.set_config(config, name, value);
    const database = await duckdb.open(':memory:', config);
    try {
      const connection = await duckdb.connect(database);
      try {
        await duckdb.query(connection, `ATTACH ${sqlString(path)} AS ${FILE_DATABASE} (${options.readOnly ? 'READ_ONLY, ' : ''}ROW_GROUP_SIZE ${ROW_GROUP_ROWS})`);
      } finally {
        duckdb.disconnect_sync(connection);
      }
    } catch (error) {
      duckdb.close_sync(database);
      throw error;
    }
    return database;
  } catch (error) {
    throw openError(path, error);
  }
}

/**
 * What every connection to the catalog runs first: the attached file is its default database.
 * @param path The catalog's path (':memory:' has nothing attached).
 */
export function useCatalogFile(path: string): string | undefined {
  return path === ':memory:' ? undefined : `USE ${FILE_DATABASE}`;
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** What the journal thread needs of DuckDB to decide an open (Store.position reads the same). */
export interface DuckdbPosition {
  /** The journal position the table reflects; null when the file records none. */
  readonly appliedSeq: number | null;
  readonly hasRows: boolean;
}

/**
 * DuckDB's journal position, read through the bindings alone (a connection of its own,
 * closed before returning): the API that the writes need is still loading meanwhile.
 */
export async function readPosition(database: Database, path: string): Promise<DuckdbPosition> {
  const duckdb = loadBindings();
  const connection = await duckdb.connect(database);
  try {
    const use = useCatalogFile(path);
    if (use !== undefined) await duckdb.query(connection, use);
    if ((await scalar(duckdb, connection, sql.TABLE_EXISTS)) === 0n) return { appliedSeq: null, hasRows: false };
    const hasRows = (await scalar(duckdb, connection, sql.HAS_ROWS)) !== 0n;
    let applied: bigint;
    try {
      applied = await scalar(duckdb, connection, `SELECT coalesce((${sql.SELECT_APPLIED_SEQ}), -1)`);
    } catch {
      // A read-only open of a file from before positions were kept has no such table.
      return { appliedSeq: null, hasRows };
    }
    return { appliedSeq: applied < 0n ? null : Number(applied), hasRows };
  } finally {
    duckdb.disconnect_sync(connection);
  }
}

/** The one value of a one-row query, as a BIGINT (every query here gives exactly one row). */
async function scalar(duckdb: Bindings, connection: Connection, query: string): Promise<bigint> {
  const result = await duckdb.query(connection, `SELECT (${query})::BIGINT`);
  const chunk = await duckdb.fetch_chunk(result);
  if (chunk === null || duckdb.data_chunk_get_size(chunk) !== 1) throw new CatalogStorageError(`DuckDB gave no row for ${query}`);
  const data = duckdb.vector_get_data(duckdb.data_chunk_get_vector(chunk, 0), 8);
  // DuckDB's vectors are in the machine's byte order: little-endian on every platform it ships for.
  return new DataView(data.buffer, data.byteOffset, 8).getBigInt64(0, true);
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
