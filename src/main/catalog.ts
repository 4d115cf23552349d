import { resolve as resolvePath } from 'node:path';
import {
  CatalogClosedError,
  CatalogInvalidError,
  CatalogReadOnlyError,
  CatalogError,
} from '../shared/errors.js';
import { resolveOptions, type CatalogOptions, type ResolvedOptions } from '../shared/options.js';
import { WriteOp, type RecoveryReport, type Reply, type WriteRequest } from '../shared/protocol.js';
import { fromWireError } from '../shared/wire-error.js';
import { serializeDefinition, validateName } from '../shared/validate-input.js';
import { DefinitionMap } from './definition-map.js';
import type { ReadonlyJson } from './frozen-json.js';
import { OwnerLock } from './owner-lock.js';
import { WriterLink } from './writer-link.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { SemanticViewQuery } from '../shared/semantic-view-sql.js';
import { attachSemanticViews, type AttachOptions } from './sql/attach.js';
import { querySemanticView, type SemanticViewRow } from './sql/query.js';

const MEMORY = ':memory:';

type State = 'open' | 'closing' | 'closed';
type WriteOutgoing = Omit<WriteRequest, 'id'>;

/**
 * A durable catalog of named JSON definitions. Reads come from an in-memory map on the
 * calling thread; every write is committed to DuckDB by one writer worker before the map
 * changes and before the call returns.
 */
export class Catalog {
  /** Absolute path of the catalog file, or ':memory:'. */
  readonly path: string;
  /** False for ':memory:': nothing outlives `close()`. */
  readonly persistent: boolean;
  /** True when opened with `readOnly: true`. */
  readonly readOnly: boolean;
  /**
   * Set when `open` found the file damaged or behind its journal and repaired it: why,
   * which damaged files were renamed aside (never deleted), and how many rows were restored.
   */
  readonly recovery: RecoveryReport | undefined;
  readonly #options: ResolvedOptions;
  readonly #link: WriterLink;
  readonly #lock: OwnerLock | undefined;
  readonly #map: DefinitionMap;
  #state: State = 'open';
  #closed: Promise<void> | undefined;

  private constructor(
    path: string,
    options: ResolvedOptions,
    link: WriterLink,
    lock: OwnerLock | undefined,
    map: DefinitionMap,
    recovery: RecoveryReport | undefined,
  ) {
    this.path = path;
    this.recovery = recovery;
    this.persistent = path !== MEMORY;
    this.readOnly = options.readOnly;
    this.#options = options;
    this.#link = link;
    this.#lock = lock;
    this.#map = map;
  }

  /**
   * Opens (creating if needed) the catalog stored in the DuckDB file at `path`, starts its
   * writer worker and loads every definition into memory.
   * @param path A file path, or omitted / ':memory:' for a catalog that persists nothing.
   * @param options See {@link CatalogOptions}.
   * @returns The open catalog.
   * @throws {CatalogLockedError} ERR_CATALOG_LOCKED when another process (its `pid`) or
   *   another catalog of this process already owns the file.
   * @throws {CatalogInvalidError} ERR_CATALOG_INVALID for a bad path or option.
   * @throws {CatalogStorageError} ERR_CATALOG_STORAGE when DuckDB cannot open the file.
   */
  static async open(path?: string, options?: CatalogOptions): Promise<Catalog> {
    const resolved = resolveOptions(options);
    if (path !== undefined && (typeof path !== 'string' || path.length === 0 || path.includes('\u0000'))) {
      throw new CatalogInvalidError('path', 'must be a non-empty string without NUL characters, or omitted for :memory:');
    }
    const absolute = path === undefined || path === MEMORY ? MEMORY : resolvePath(path);
    const lock = absolute === MEMORY ? undefined : OwnerLock.acquire(absolute, resolved.readOnly);
    try {
      const { link, ready } = await WriterLink.start(absolute, resolved);
      lock?.confirm();
      if (ready.recovery !== undefined) {
        process.emitWarning(`duckcat recovered ${absolute} from its journal: ${ready.recovery.reason}`, { code: 'DUCKCAT_RECOVERED' });
      }
      return new Catalog(absolute, resolved, link, lock, DefinitionMap.fromColumns(ready.rows), ready.recovery);
    } catch (error) {
      lock?.release();
      throw error;
    }
  }

  /** Number of definitions. */
  get size(): number {
    return this.#map.size;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#state !== 'open';
  }

  /**
   * The stored definition, deeply frozen (share it freely; it cannot change), or undefined.
   * @throws {CatalogClosedError} after close.
   */
  get(name: string): ReadonlyJson | undefined {
    this.#checkOpen();
    return this.#map.get(name);
  }

  /** @throws {CatalogClosedError} after close. */
  has(name: string): boolean {
    this.#checkOpen();
    return this.#map.has(name);
  }

  /** All names, sorted by code unit. @throws {CatalogClosedError} after close. */
  list(): string[] {
    this.#checkOpen();
    return this.#map.names();
  }

  /** [name, definition] pairs, sorted by name. @throws {CatalogClosedError} after close. */
  entries(): Array<[string, ReadonlyJson]> {
    this.#checkOpen();
    return this.#map.entries();
  }

  /**
   * Stores a new definition and returns once it is durably committed (WAL fsynced).
   * Blocks the calling thread for the commit, at most `timeoutMs`.
   * @param name Non-empty string, at most `maxNameBytes` UTF-8 bytes, no NUL.
   * @param definition Any JSON value (plain objects, arrays, strings, finite numbers, booleans, null).
   * @throws {CatalogExistsError} ERR_CATALOG_EXISTS if `name` is already defined.
   * @throws {CatalogInvalidError} ERR_CATALOG_INVALID for a bad name or definition (nothing changes).
   * @throws {CatalogTimeoutError} ERR_CATALOG_TIMEOUT when the writer does not answer in time.
   * @throws {CatalogWriterExitedError} ERR_CATALOG_WRITER_EXITED when the writer died.
   * @throws {CatalogStorageError} ERR_CATALOG_STORAGE when DuckDB refused the write (nothing changes).
   * @throws {CatalogClosedError} ERR_CATALOG_CLOSED after close.
   */
  defineSync(name: string, definition: unknown): void {
    this.#writeSync(WriteOp.DEFINE, name, definition);
  }

  /** Like {@link defineSync} but overwrites an existing definition (upsert). Never ERR_CATALOG_EXISTS. */
  replaceSync(name: string, definition: unknown): void {
    this.#writeSync(WriteOp.REPLACE, name, definition);
  }

  /**
   * Removes a definition and returns once the removal is durable.
   * @throws {CatalogNotFoundError} ERR_CATALOG_NOT_FOUND if `name` is not defined.
   * @throws see {@link defineSync} for the others.
   */
  dropSync(name: string): void {
    this.#writeSync(WriteOp.DROP, name, undefined);
  }

  /** Async twin of {@link defineSync}: resolves once committed; never blocks the thread. */
  define(name: string, definition: unknown): Promise<void> {
    return this.#writeAsync(WriteOp.DEFINE, name, definition);
  }

  /** Async twin of {@link replaceSync}. */
  replace(name: string, definition: unknown): Promise<void> {
    return this.#writeAsync(WriteOp.REPLACE, name, definition);
  }

  /** Async twin of {@link dropSync}. */
  drop(name: string): Promise<void> {
    return this.#writeAsync(WriteOp.DROP, name, undefined);
  }

  /**
   * Forces a DuckDB CHECKPOINT: folds the WAL into the main file.
   * @throws {CatalogStorageError} when DuckDB fails.
   */
  async checkpoint(): Promise<void> {
    this.#checkWritable();
    const reply = await this.#link.call({ kind: 'checkpoint' }, () => undefined);
    if (!reply.ok) throw fromWireError(reply.error, this.path);
  }

  /**
   * Lets queued writes finish, closes DuckDB (checkpointing the file) and ends the writer.
   * Idempotent: later calls return the same promise. Afterwards every other method throws
   * ERR_CATALOG_CLOSED.
   */
  close(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.#state = 'closing';
    this.#closed = this.#link.close().finally(() => {
      this.#state = 'closed';
      this.#lock?.release();
    });
    return this.#closed;
  }

  #writeSync(op: WriteOp, name: string, definition: unknown): void {
    const request = this.#request(op, name, definition);
    const reply = this.#link.callSync(request, (r) => this.#apply(request, r));
    if (!reply.ok) throw fromWireError(reply.error, this.path);
  }

  async #writeAsync(op: WriteOp, name: string, definition: unknown): Promise<void> {
    const request = this.#request(op, name, definition);
    const reply = await this.#link.call(request, (r) => this.#apply(request, r));
    if (!reply.ok) throw fromWireError(reply.error, this.path);
  }

  #request(op: WriteOp, name: string, definition: unknown): WriteOutgoing {
    this.#checkWritable();
    validateName(name, this.#options.maxNameBytes);
    if (op === WriteOp.DROP) return { kind: 'write', op, name };
    return { kind: 'write', op, name, json: serializeDefinition(definition, this.#options.maxDefinitionBytes) };
  }

  // Runs as each reply arrives, in commit order, so the map follows the table exactly.
  #apply(request: WriteOutgoing, reply: Reply): void {
    if (!reply.ok) return;
    if (request.json === undefined) this.#map.delete(request.name);
    else this.#map.set(request.name, request.json);
  }

  #checkOpen(): void {
    if (this.#state !== 'open') throw new CatalogClosedError();
  }

  #checkWritable(): void {
    this.#checkOpen();
    if (this.readOnly) throw new CatalogReadOnlyError();
    const failure = this.#link.failure;
    if (failure !== undefined) throw failure instanceof CatalogError ? failure : new CatalogClosedError();
  }

  // --- Semantic views in SQL (src/main/sql): thin delegations, kept last in the class. ---

  /**
   * Registers the semantic-view SQL functions on the DuckDB instance behind `connection`:
   * define/replace/drop_semantic_view, list_semantic_views(), describe_semantic_view(name)
   * and semantic_view_sql(name, dimensions, metrics). Writes commit through this catalog's
   * writer, never through the host's database.
   * @param connection A connection of the host's own DuckDB instance.
   * @param options See {@link AttachOptions}.
   * @throws {CatalogInvalidError} ERR_CATALOG_INVALID when the host has this catalog's file open, or for a bad option.
   * @throws {CatalogClosedError} ERR_CATALOG_CLOSED after close.
   */
  attach(connection: DuckDBConnection, options?: AttachOptions): Promise<void> {
    return attachSemanticViews(this, connection, options);
  }

  /**
   * Expands `query` against the semantic view `name` and runs the SQL on `connection`.
   * @returns The result rows, one object per row (BIGINT/HUGEINT values as bigint).
   * @throws {CatalogNotFoundError} ERR_CATALOG_NOT_FOUND when no view has that name.
   * @throws {CatalogInvalidError} ERR_CATALOG_INVALID for an unknown dimension or metric (the
   *   message lists the valid ones), an entry that is not a semantic view, a bad `where`/`limit`.
   * @throws {CatalogClosedError} ERR_CATALOG_CLOSED after close; DuckDB's own error when the host rejects the SQL.
   */
  query(connection: DuckDBConnection, name: string, query: SemanticViewQuery): Promise<SemanticViewRow[]> {
    return querySemanticView(this, connection, name, query);
  }
}
