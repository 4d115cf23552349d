import { statSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import { CatalogInvalidError, CatalogStorageError } from '../shared/errors.js';
import { resolveOptions, type CatalogOptions, type ConnectOptions, type ResolvedOptions } from '../shared/options.js';
import { PG_CATALOG_OPTION_KEYS, isPostgresUrl, redactUrl, splitPgOptions, type PgCatalogOptions } from '../shared/pg-options.js';
import type { RecoveryReport } from '../shared/protocol.js';
import { CatalogView } from './catalog-view.js';
import { ChangeFeed } from './change-events.js';
import { DefinitionMap } from './definition-map.js';
import { OwnerLock } from './owner-lock.js';
import { RemoteCatalog } from './remote/remote-catalog.js';
import { WriterLink } from './writer-link.js';

const MEMORY = ':memory:';

/**
 * A durable catalog of named JSON definitions, and the owner of its file. Reads come
 * from an in-memory map on the calling thread; every write is committed to DuckDB by one
 * writer worker before the map changes and before the call returns.
 */
export class Catalog extends CatalogView {
  /**
   * Set when `open` found the file damaged or behind its journal and repaired it: why,
   * which damaged files were renamed aside (never deleted), and how many rows were restored.
   */
  readonly recovery: RecoveryReport | undefined;
  readonly #writer: WriterLink;
  readonly #lock: OwnerLock | undefined;

  private constructor(
    path: string,
    options: ResolvedOptions,
    writer: WriterLink,
    lock: OwnerLock | undefined,
    feed: ChangeFeed,
    recovery: RecoveryReport | undefined,
  ) {
    super(path, writer, feed, options, process.pid);
    this.recovery = recovery;
    this.#writer = writer;
    this.#lock = lock;
  }

  /**
   * Opens (creating if needed) the catalog stored in the DuckDB file at `path`, starts its
   * writer worker and loads every definition into memory.
   * @param path A file path, or omitted / ':memory:' for a catalog that persists nothing,
   *   or a `postgres://` / `postgresql://` URL for a catalog stored in PostgreSQL, shared by
   *   every process that opens it (needs the optional peer dependency `pg`).
   * @param options See {@link CatalogOptions}; for a URL, {@link PgCatalogOptions}.
   * @returns The open catalog.
   * @throws {CatalogLockedError} ERR_CATALOG_LOCKED when another process (its `pid`) or
   *   another catalog of this process already owns the file.
   * @throws {CatalogInvalidError} ERR_CATALOG_INVALID for a bad path or option.
   * @throws {CatalogStorageError} ERR_CATALOG_STORAGE when DuckDB cannot open the file and
   *   there is no journal to rebuild it from.
   */
  static async open(path?: string, options?: CatalogOptions | PgCatalogOptions): Promise<Catalog> {
    if (isPostgresUrl(path)) return Catalog.#openPostgres(path as string, options);
    const resolved = resolveOptions(options);
    if (path !== undefined && (typeof path !== 'string' || path.length === 0 || path.includes('\u0000'))) {
      throw new CatalogInvalidError('path', 'must be a non-empty string without NUL characters, or omitted for :memory:');
    }
    const absolute = path === undefined || path === MEMORY ? MEMORY : checkedFilePath(path);
    const lock = absolute === MEMORY ? undefined : OwnerLock.acquire(absolute, resolved.readOnly);
    const feed = new ChangeFeed(new DefinitionMap());
    try {
      const { link, ready } = await WriterLink.start(absolute, resolved, (changes) => feed.apply(changes));
      lock?.confirm();
      feed.map.load(ready.rows);
      // Batches rolled forward after a crash are routine; a damaged or missing file is news.
      if (ready.recovery !== undefined && ready.recovery.kind !== 'rolled-forward' && ready.recovery.kind !== 'file-behind') {
        process.emitWarning(`duckcat recovered ${absolute} from its journal: ${ready.recovery.reason}`, { code: 'DUCKCAT_RECOVERED' });
      }
      return new Catalog(absolute, resolved, link, lock, feed, ready.recovery);
    } catch (error) {
      lock?.release();
      throw error;
    }
  }

  /**
   * A catalog stored in PostgreSQL: one writer thread owns the connections, the map is this
   * process's replica, kept current by the change feed. No owner lock: every process is a peer.
   */
  static async #openPostgres(url: string, options: unknown): Promise<Catalog> {
    const { rest, settings } = splitPgOptions(url, options);
    const resolved: ResolvedOptions = Object.freeze({ ...resolveOptions(rest, PG_CATALOG_OPTION_KEYS), commit: 'postgres' as const });
    const display = redactUrl(url);
    const feed = new ChangeFeed(new DefinitionMap());
    const { link, ready } = await WriterLink.start(display, resolved, (changes) => feed.apply(changes), settings);
    feed.map.load(ready.rows);
    return new Catalog(display, resolved, link, undefined, feed, undefined);
  }

  /**
   * Reaches a catalog owned by another process through the owner's `<file>.sock` (use it
   * when `open` throws ERR_CATALOG_LOCKED). Same reads and writes; the map is a replica
   * kept current by the owner's change stream. If the owner exits, calls fail with
   * ERR_CATALOG_WRITER_EXITED, and the handle emits 'disconnect' at once (with the owner's pid).
   * @throws {CatalogWriterExitedError} when no process serves the file.
   * @throws {CatalogLockedError} ERR_CATALOG_LOCKED with `holder: { pid, readOnly: true }`
   *   when nobody serves it because a process holds it `readOnly`: wait for that process
   *   to close it, or open it `readOnly` too.
   */
  static connect(path: string, options?: ConnectOptions): Promise<RemoteCatalog> {
    if (isPostgresUrl(path)) {
      return Promise.reject(new CatalogInvalidError('path', 'a PostgreSQL catalog has no owner to connect to: every process opens the URL itself with Catalog.open(url)'));
    }
    return RemoteCatalog.connect(path, options);
  }

  /**
   * A MessagePort into this catalog's writer, for another thread of this process:
   * transfer it (e.g. in a piscina task's `transferList`) and call
   * `CatalogClient.fromPort(port)` there. One port per client.
   * @throws {CatalogClosedError} after close.
   */
  port(): MessagePort {
    this.checkOpen();
    return this.#writer.openClientPort();
  }

  /**
   * Lets queued writes finish, brings DuckDB up to date, closes it (checkpointing the file)
   * and ends the writer; then releases the file. Calls already sent finish; later ones
   * throw ERR_CATALOG_CLOSED, here and in every CatalogClient. Bounded: a writer that does
   * not answer within `timeoutMs` is stopped. Idempotent.
   */
  override close(): Promise<void> {
    return super.close();
  }

  protected async shutDown(): Promise<void> {
    try {
      await this.#writer.close();
    } finally {
      // Only once both writer threads are gone: a second open must never meet a live DuckDB.
      this.#lock?.release();
    }
  }
}

/** A URL scheme (`file:`, `s3://`, `md:`): two letters or more, so a Windows drive is not one. */
const URL_SCHEME = /^[a-z][a-z0-9+.-]+:/i;

/**
 * The absolute path of a catalog file whose directory exists.
 * @throws {CatalogInvalidError} for a URL or a path whose directory is missing (not a raw ENOENT).
 */
function checkedFilePath(path: string): string {
  if (URL_SCHEME.test(path)) throw new CatalogInvalidError('path', `must be a file path; URLs (file:, s3://, …) are not supported, got ${JSON.stringify(path.slice(0, 80))}`);
  const absolute = resolvePath(path);
  const directory = dirname(absolute);
  let isDirectory = false;
  try {
    isDirectory = statSync(directory).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Missing is reported below; anything else (EACCES on a parent, ELOOP) is the file system's answer.
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new CatalogStorageError(`cannot reach the directory of ${absolute}: ${(error as Error).message}`, { cause: error });
  }
  if (!isDirectory) throw new CatalogInvalidError('path', `its directory ${directory} does not exist (duckcat creates the file, not its directory)`);
  return absolute;
}
