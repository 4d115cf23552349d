import { CatalogClosedError, CatalogInvalidError, CatalogReadOnlyError, CatalogStorageError } from '../shared/errors.js';
import { WriteOp, type ApplyOp, type WriteRequest, type WriterStats } from '../shared/protocol.js';
import { MAX_BUNDLE, inOp } from '../shared/client-request.js';
import { serializeDefinition, validateName } from '../shared/validate-input.js';
import { readIfVersion, validateIfVersion, type WriteOptions } from '../shared/write-options.js';
import type { CommitPoint } from '../shared/options.js';
import { fromWireError } from '../shared/wire-error.js';
import { EventEmitter } from 'node:events';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { SemanticViewQuery } from '../shared/semantic-view-sql.js';
import { ChangeFeed, type CatalogChange, type CatalogEvents } from './change-events.js';
import type { DefinitionMap } from './definition-map.js';
import type { JsonCompatible, ReadonlyJson } from './frozen-json.js';
import type { PortLink } from './port-link.js';
import { attachSemanticViews, type AttachOptions } from './sql/attach.js';
import { checkSemanticView, type SemanticViewCheck } from './sql/check.js';
import { querySemanticView, type SemanticViewRow } from './sql/query.js';

/** A definition with its version, as {@link CatalogView.getEntry} returns them. */
export interface CatalogEntry {
  readonly definition: ReadonlyJson;
  readonly version: number;
}

export interface ViewLimits {
  readonly readOnly: boolean;
  readonly maxNameBytes: number;
  readonly maxDefinitionBytes: number;
  /** The owner's `commit` option (a party learns it from the owner). */
  readonly commit: CommitPoint;
  /** True for a handle whose writer is in another process. */
  readonly remote?: boolean;
}

/** Options of {@link CatalogView.watch}. */
export interface WatchOptions {
  /** Ends the iteration (the pending `next()` resolves `done`) when aborted. */
  readonly signal?: AbortSignal;
}

type Listener<K extends keyof CatalogEvents> = (...args: CatalogEvents[K]) => void;

/**
 * One write of {@link CatalogView.apply}. `definition` is required for define and replace,
 * ignored for drop. (A value typed by an interface without an index signature needs a
 * spread or a cast to `ReadonlyJson` here; `define` takes it as it is.)
 */
export interface CatalogOp {
  readonly op: 'define' | 'replace' | 'drop';
  readonly name: string;
  readonly definition?: ReadonlyJson;
  /**
   * Replace and drop only: the version the name must be at when the batch is planned
   * (see {@link WriteOptions.ifVersion}); otherwise the whole apply is refused with
   * ERR_CATALOG_CONFLICT.
   */
  readonly ifVersion?: number;
}

/** A handle's one lifecycle: `open` → `closing` (close() called, in-flight calls finishing) → `closed`. */
export type HandleState = 'open' | 'closing' | 'closed';

/**
 * The read and write API shared by the owning {@link Catalog}, a {@link CatalogClient} in
 * another thread and a {@link RemoteCatalog} in another process: reads from this thread's
 * map (kept current by the change stream), writes through the one writer.
 */
export abstract class CatalogView {
  /** Absolute path of the catalog file, or ':memory:'. */
  readonly path: string;
  /** True when the catalog was opened with `readOnly: true`. */
  readonly readOnly: boolean;
  /** False for ':memory:': nothing outlives the owner's `close()`. */
  readonly persistent: boolean;
  /**
   * The owner's choice of when a write is acknowledged: `'journal'` once its journal record
   * is fdatasync'ed (DuckDB follows behind), `'duckdb'` once DuckDB has committed it too;
   * `'postgres'` for a PostgreSQL-backed catalog (once PostgreSQL's COMMIT returned).
   * A client or remote handle reports its owner's. See `CatalogOptions.commit`.
   */
  readonly commit: CommitPoint;
  /**
   * True for a {@link RemoteCatalog}: the writer runs in the owner's process. (Its SQL
   * functions then need no spare libuv pool thread of this process to commit.)
   */
  readonly remote: boolean;
  protected readonly map: DefinitionMap;
  protected readonly link: PortLink;
  readonly #limits: ViewLimits;
  readonly #feed: ChangeFeed;
  readonly #events = new EventEmitter();
  readonly #ownerPid: number | undefined;
  #state: HandleState = 'open';
  #closing: Promise<void> | undefined;

  /** @param ownerPid The owning process, named by the 'disconnect' event. */
  protected constructor(path: string, link: PortLink, feed: ChangeFeed, limits: ViewLimits, ownerPid?: number) {
    this.path = path;
    this.readOnly = limits.readOnly;
    this.persistent = path !== ':memory:';
    this.commit = limits.commit;
    this.remote = limits.remote === true;
    this.link = link;
    this.map = feed.map;
    this.#limits = limits;
    this.#feed = feed;
    this.#ownerPid = ownerPid;
    feed.attach(this.#events);
    link.onLost = (code) => {
      // This handle's own close() also ends its link: that is no news to its listeners.
      if (this.#state !== 'open') return;
      this.#feed.emit('disconnect', this.#ownerPid === undefined ? { code } : { code, pid: this.#ownerPid });
    };
  }

  // --- Events: see CatalogEvents and docs/api.md "Change events". ---

  /**
   * Adds `listener` for `event`:
   * - `'change'` ({@link CatalogChange}): one per committed name, whoever committed it (this
   *   handle, another thread, another process), in commit order. Delivered in a microtask
   *   after this handle's map received the batch, so a read inside the listener already
   *   shows it (or something newer), and never inside a call of this handle: a `defineSync`
   *   returns before its own change is emitted. Batches reach a handle when its thread's
   *   event loop runs (or when a read or write of the handle catches up first).
   * - `'disconnect'` ({@link CatalogDisconnect}): the owner closed (ERR_CATALOG_CLOSED) or
   *   its process or writer ended without closing (ERR_CATALOG_WRITER_EXITED), with its pid.
   * - `'error'`: a listener threw. With no 'error' listener, a process warning
   *   (DUCKCAT_LISTENER_ERROR) instead; a throwing listener never breaks the map or the link.
   *
   * Listening does not keep the process alive.
   */
  on<K extends keyof CatalogEvents>(event: K, listener: Listener<K>): this {
    this.#events.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Like {@link on}, for one event. */
  once<K extends keyof CatalogEvents>(event: K, listener: Listener<K>): this {
    this.#events.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Removes a listener added with {@link on} or {@link once}. */
  off<K extends keyof CatalogEvents>(event: K, listener: Listener<K>): this {
    this.#events.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /**
   * The `'change'` events as an async iterator, from now on: `for await (const change of
   * catalog.watch()) …`. Ends when the handle closes, disconnects or `signal` aborts.
   * Changes that arrive while the loop body runs are buffered, none is dropped.
   */
  watch(options?: WatchOptions): AsyncIterableIterator<CatalogChange> {
    const buffered: CatalogChange[] = [];
    let waiting: ((result: IteratorResult<CatalogChange>) => void) | undefined;
    let ended = false;
    const onChange = (change: CatalogChange) => {
      if (waiting === undefined) buffered.push(change);
      else {
        const resolve = waiting;
        waiting = undefined;
        resolve({ value: change, done: false });
      }
    };
    const end = () => {
      if (ended) return;
      ended = true;
      this.off('change', onChange);
      this.off('disconnect', end);
      options?.signal?.removeEventListener('abort', end);
      clearInterval(closedWatch);
      waiting?.({ value: undefined, done: true });
      waiting = undefined;
    };
    this.on('change', onChange);
    this.on('disconnect', end);
    options?.signal?.addEventListener('abort', end);
    // This handle's close() is no event: notice it within a second (unref'd, keeps nothing alive).
    const closedWatch = setInterval(() => {
      if (this.#state !== 'open') end();
    }, 1000).unref();
    if (options?.signal?.aborted === true) end();
    const iterator: AsyncIterableIterator<CatalogChange> = {
      next: () => {
        const change = buffered.shift();
        if (change !== undefined) return Promise.resolve({ value: change, done: false });
        if (ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (waiting = resolve));
      },
      return: () => {
        end();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Number of definitions. @throws {CatalogClosedError} after close. */
  get size(): number {
    this.#catchUp();
    return this.map.size;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#state !== 'open';
  }

  /** `open`, `closing` (close() called; calls already sent are finishing) or `closed`. */
  get state(): HandleState {
    return this.#state;
  }

  /**
   * True while this handle is open and its writer can answer. False once the writer is gone
   * (its process died, it closed, or a timeout poisoned the link): reads then keep serving
   * the last state this handle received, and writes and {@link sync} fail.
   */
  get connected(): boolean {
    return this.#state === 'open' && this.link.connected;
  }

  /**
   * A read fence: resolves once this handle's reads reflect every write acknowledged on
   * any thread or process before `sync()` was called (one round trip to the writer; the
   * writer posts every batch's changes to a party before it answers that party).
   * @throws {CatalogClosedError} ERR_CATALOG_CLOSED after close, or after the owner closed.
   * @throws {CatalogWriterExitedError} ERR_CATALOG_WRITER_EXITED when the writer is gone.
   * @throws {CatalogTimeoutError} ERR_CATALOG_TIMEOUT when it does not answer within `timeoutMs`.
   */
  async sync(): Promise<void> {
    this.checkOpen();
    const reply = await this.link.call({ kind: 'sync' });
    if (!reply.ok) throw fromWireError(reply.error, this.path);
  }

  /**
   * Closes this handle. Calls already sent finish (their promises settle as usual); calls
   * made from now on throw ERR_CATALOG_CLOSED. Bounded by the call deadlines. Idempotent:
   * later calls return the same promise.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#state = 'closing';
    this.#closing = (async () => {
      try {
        await this.shutDown();
      } finally {
        this.#state = 'closed';
      }
    })();
    return this.#closing;
  }

  /** What closing this kind of handle takes; runs once, synchronously up to its first await. */
  protected abstract shutDown(): Promise<void>;

  /**
   * The stored definition, deeply frozen (share it freely; it cannot change), or undefined.
   * @throws {CatalogClosedError} after close.
   */
  get(name: string): ReadonlyJson | undefined {
    this.#catchUp();
    return this.map.get(name);
  }

  /**
   * The definition's version: the seq of the write that stored it, so it changes with every
   * define and replace and never repeats for the name; undefined when `name` is not defined.
   * Pass it as `ifVersion` to a later replace or drop to make that write refuse
   * (ERR_CATALOG_CONFLICT) if another writer got there first. Answered from this thread's
   * map, like {@link get}. For a read-modify-write, use {@link getEntry}: separate `get` and
   * `version` calls may each see a newer state.
   * @throws {CatalogClosedError} after close.
   */
  version(name: string): number | undefined {
    this.#catchUp();
    return this.map.version(name);
  }

  /**
   * The definition and its version, read together from one state of the map: the pair to
   * use for a read-modify-write with `ifVersion`. Undefined when `name` is not defined.
   * @throws {CatalogClosedError} after close.
   */
  getEntry(name: string): CatalogEntry | undefined {
    this.#catchUp();
    const version = this.map.version(name);
    return version === undefined ? undefined : { definition: this.map.get(name)!, version };
  }

  /** @throws {CatalogClosedError} after close. */
  has(name: string): boolean {
    this.#catchUp();
    return this.map.has(name);
  }

  /** All names, sorted by UTF-16 code unit. @throws {CatalogClosedError} after close. */
  list(): string[] {
    this.#catchUp();
    return this.map.names();
  }

  /** [name, definition] pairs, sorted by name. @throws {CatalogClosedError} after close. */
  entries(): Array<[string, ReadonlyJson]> {
    this.#catchUp();
    return this.map.entries();
  }

  /**
   * Stores a new definition and returns once it is durably committed (WAL and journal
   * fdatasync'ed). Blocks the calling thread for the commit, at most `timeoutMs`.
   * @param name Non-empty string, at most `maxNameBytes` UTF-8 bytes, no NUL.
   * @param definition Any JSON value (plain objects, arrays, strings, finite numbers, booleans,
   *   null); a type that is not JSON does not compile (see {@link JsonCompatible}).
   * @throws {CatalogExistsError} ERR_CATALOG_EXISTS if `name` is already defined.
   * @throws {CatalogInvalidError} ERR_CATALOG_INVALID for a bad name or definition (nothing changes).
   * @throws {CatalogTimeoutError} ERR_CATALOG_TIMEOUT when the writer does not answer in time.
   * @throws {CatalogWriterExitedError} ERR_CATALOG_WRITER_EXITED when the writer died.
   * @throws {CatalogStorageError} ERR_CATALOG_STORAGE when DuckDB refused the write (nothing changes).
   * @throws {CatalogReadOnlyError} ERR_CATALOG_READ_ONLY on a read-only catalog.
   * @throws {CatalogClosedError} ERR_CATALOG_CLOSED after close.
   */
  defineSync<T>(name: string, definition: T & JsonCompatible<T>): void {
    this.#writeSync(WriteOp.DEFINE, name, definition);
  }

  /**
   * Like {@link defineSync} but overwrites an existing definition (upsert). Never ERR_CATALOG_EXISTS.
   * @param options `ifVersion`: commit only if the name is at that version (see {@link version}).
   * @throws {CatalogConflictError} ERR_CATALOG_CONFLICT (`definitionName`, `expectedVersion`,
   *   `currentVersion`; 0 when absent) when `ifVersion` does not match; nothing changes.
   * @throws {CatalogInvalidError} ERR_CATALOG_INVALID also for a bad or unknown option (`options.ifVersion`).
   * @throws see {@link defineSync} for the others.
   */
  replaceSync<T>(name: string, definition: T & JsonCompatible<T>, options?: WriteOptions): void {
    this.#writeSync(WriteOp.REPLACE, name, definition, readIfVersion(options));
  }

  /**
   * Removes a definition and returns once the removal is durable.
   * @param options `ifVersion`: drop only if the name is at that version (see {@link version}).
   * @throws {CatalogNotFoundError} ERR_CATALOG_NOT_FOUND if `name` is not defined (without `ifVersion`).
   * @throws {CatalogConflictError} ERR_CATALOG_CONFLICT when `ifVersion` does not match,
   *   including a name that is not defined (current version 0); nothing changes.
   * @throws see {@link defineSync} for the others.
   */
  dropSync(name: string, options?: WriteOptions): void {
    this.#writeSync(WriteOp.DROP, name, undefined, readIfVersion(options));
  }

  /** Async twin of {@link defineSync}: resolves once committed; never blocks the thread. */
  define<T>(name: string, definition: T & JsonCompatible<T>): Promise<void> {
    return this.#writeAsync(WriteOp.DEFINE, name, definition);
  }

  /** Async twin of {@link replaceSync} (same options and errors). */
  replace<T>(name: string, definition: T & JsonCompatible<T>, options?: WriteOptions): Promise<void> {
    return this.#writeAsync(WriteOp.REPLACE, name, definition, options);
  }

  /** Async twin of {@link dropSync} (same options and errors). */
  drop(name: string, options?: WriteOptions): Promise<void> {
    return this.#writeAsync(WriteOp.DROP, name, undefined, options);
  }

  /**
   * Commits several writes as ONE batch: one journal record and one DuckDB transaction, so
   * after any crash either every op is there or none is. Ops run in order against the
   * catalog as it is when the batch is planned (a define after a drop of the same name is
   * fine). If any op would be refused, none is applied and the call rejects with that op's
   * error. Resolves once the batch is durable, like {@link define}.
   * @param ops At most 10000 ops.
   * @throws {CatalogExistsError} ERR_CATALOG_EXISTS / {@link CatalogNotFoundError} ERR_CATALOG_NOT_FOUND /
   *   {@link CatalogConflictError} ERR_CATALOG_CONFLICT (an op's `ifVersion`)
   *   for the first op that would be refused (its `definitionName`); nothing changes.
   * @throws {CatalogInvalidError} ERR_CATALOG_INVALID for a bad op, name or definition (checked before sending).
   * @throws see {@link defineSync} for the others.
   */
  async apply(ops: readonly CatalogOp[]): Promise<void> {
    this.checkWritable();
    if (!Array.isArray(ops)) throw new CatalogInvalidError('ops', 'must be an array of { op, name, definition }');
    if (ops.length > MAX_BUNDLE) throw new CatalogInvalidError('ops', `holds ${ops.length} ops, the limit is ${MAX_BUNDLE}`);
    const checked = ops.map((item: unknown, i): ApplyOp => {
      const { op, name, definition, ifVersion } = (typeof item === 'object' && item !== null ? item : {}) as Partial<CatalogOp>;
      if (op !== WriteOp.DEFINE && op !== WriteOp.REPLACE && op !== WriteOp.DROP) throw new CatalogInvalidError(`ops[${i}].op`, 'must be define, replace or drop');
      try {
        validateName(name, this.#limits.maxNameBytes);
        if (ifVersion !== undefined) {
          if (op === WriteOp.DEFINE) throw new CatalogInvalidError('ifVersion', 'only replace and drop take ifVersion');
          validateIfVersion(ifVersion, 'ifVersion');
        }
        const guard = ifVersion === undefined ? undefined : { ifVersion };
        return op === WriteOp.DROP ? { op, name, ...guard } : { op, name, json: serializeDefinition(definition, this.#limits.maxDefinitionBytes), ...guard };
      } catch (error) {
        throw error instanceof CatalogInvalidError ? inOp(i, error) : error;
      }
    });
    const reply = await this.link.call({ kind: 'apply', ops: checked });
    if (!reply.ok) throw fromWireError(reply.error, this.path);
  }

  /**
   * What the writer has done: queue depth, batches, commits, refused ops, recent commit
   * latency (p50/p99/max, µs). Answered by the writer, so it also proves it is alive.
   * @throws {CatalogClosedError} after close; the link's error if the writer is gone.
   */
  async stats(): Promise<WriterStats> {
    this.checkOpen();
    const reply = await this.link.call({ kind: 'stats' });
    if (!reply.ok) throw fromWireError(reply.error, this.path);
    if (!('stats' in reply)) throw new CatalogStorageError('the writer sent no stats');
    return reply.stats;
  }

  /**
   * Brings DuckDB up to date with the journal, then forces a DuckDB CHECKPOINT (folds the
   * WAL into the main file). On every kind of handle: the owner's writer does it.
   * @throws {CatalogStorageError} when DuckDB fails.
   * @throws {CatalogReadOnlyError} on a read-only catalog; the link's error if the writer is gone.
   */
  async checkpoint(): Promise<void> {
    this.checkWritable();
    const reply = await this.link.call({ kind: 'checkpoint' });
    if (!reply.ok) throw fromWireError(reply.error, this.path);
  }

  /**
   * Every definition as one plain object, name → definition, sorted by name: a JSON
   * export (`JSON.stringify(catalog.export())`) from this thread's map.
   * @throws {CatalogClosedError} after close.
   */
  export(): Record<string, ReadonlyJson> {
    return Object.fromEntries(this.entries());
  }

  // --- Semantic views in SQL (src/main/sql): one implementation for every kind of handle. ---

  /**
   * Registers the semantic-view SQL functions on the DuckDB instance behind `connection`:
   * define/replace/drop_semantic_view, list_semantic_views(), describe_semantic_view(name)
   * and semantic_view_sql(name, dimensions, metrics). Works the same on the owner, a
   * {@link CatalogClient} and a {@link RemoteCatalog}: writes commit through the owner's
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

  /**
   * Checks the semantic view `name` against the tables `connection` can see: each table
   * exists (with its columns), and each filter, dimension and metric binds on its own
   * (`LIMIT 0`: no rows are read). Problems of the view are reported per part, not thrown.
   * @throws {CatalogNotFoundError} ERR_CATALOG_NOT_FOUND when no view has that name.
   * @throws {CatalogInvalidError} ERR_CATALOG_INVALID for an entry that is not a semantic view.
   */
  check(connection: DuckDBConnection, name: string): Promise<SemanticViewCheck> {
    return checkSemanticView(this, connection, name);
  }

  protected checkWritable(): void {
    this.checkOpen();
    if (this.readOnly) throw new CatalogReadOnlyError();
    const failure = this.link.failure;
    if (failure !== undefined) throw failure;
  }

  protected checkOpen(): void {
    if (this.#state !== 'open') throw new CatalogClosedError();
    if (this.link.ownerClosed) throw new CatalogClosedError('the catalog was closed by its owner');
  }

  #catchUp(): void {
    this.checkOpen();
    this.link.catchUp();
  }

  #writeSync(op: WriteOp, name: string, definition: unknown, ifVersion?: number): void {
    const reply = this.link.callSync(this.#request(op, name, definition, ifVersion));
    if (!reply.ok) throw fromWireError(reply.error, this.path);
  }

  async #writeAsync(op: WriteOp, name: string, definition: unknown, options?: WriteOptions): Promise<void> {
    // Checked inside the async function: a bad option rejects the promise, like every other refusal.
    const request = this.#request(op, name, definition, readIfVersion(options));
    const reply = await this.link.call(request);
    if (!reply.ok) throw fromWireError(reply.error, this.path);
  }

  /** Without `ifVersion` the request has no such key: the hot path's message stays as it was. */
  #request(op: WriteOp, name: string, definition: unknown, ifVersion: number | undefined): Omit<WriteRequest, 'id'> {
    this.checkWritable();
    validateName(name, this.#limits.maxNameBytes);
    if (op === WriteOp.DROP) return ifVersion === undefined ? { kind: 'write', op, name } : { kind: 'write', op, name, ifVersion };
    const json = serializeDefinition(definition, this.#limits.maxDefinitionBytes);
    return ifVersion === undefined ? { kind: 'write', op, name, json } : { kind: 'write', op, name, json, ifVersion };
  }
}
