import { CatalogClosedError, CatalogReadOnlyError, CatalogStorageError } from '../shared/errors.js';
import { WriteOp, type WriteRequest, type WriterStats } from '../shared/protocol.js';
import { serializeDefinition, validateName } from '../shared/validate-input.js';
import { fromWireError } from '../shared/wire-error.js';
import type { DefinitionMap } from './definition-map.js';
import type { JsonCompatible, ReadonlyJson } from './frozen-json.js';
import type { PortLink } from './port-link.js';

export interface ViewLimits {
  readonly readOnly: boolean;
  readonly maxNameBytes: number;
  readonly maxDefinitionBytes: number;
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
  protected readonly map: DefinitionMap;
  protected readonly link: PortLink;
  readonly #limits: ViewLimits;
  #state: HandleState = 'open';
  #closing: Promise<void> | undefined;

  protected constructor(path: string, link: PortLink, map: DefinitionMap, limits: ViewLimits) {
    this.path = path;
    this.readOnly = limits.readOnly;
    this.link = link;
    this.map = map;
    this.#limits = limits;
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

  /** Like {@link defineSync} but overwrites an existing definition (upsert). Never ERR_CATALOG_EXISTS. */
  replaceSync<T>(name: string, definition: T & JsonCompatible<T>): void {
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
  define<T>(name: string, definition: T & JsonCompatible<T>): Promise<void> {
    return this.#writeAsync(WriteOp.DEFINE, name, definition);
  }

  /** Async twin of {@link replaceSync}. */
  replace<T>(name: string, definition: T & JsonCompatible<T>): Promise<void> {
    return this.#writeAsync(WriteOp.REPLACE, name, definition);
  }

  /** Async twin of {@link dropSync}. */
  drop(name: string): Promise<void> {
    return this.#writeAsync(WriteOp.DROP, name, undefined);
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
   * Every definition as one plain object, name → definition, sorted by name: a JSON
   * export (`JSON.stringify(catalog.export())`) from this thread's map.
   * @throws {CatalogClosedError} after close.
   */
  export(): Record<string, ReadonlyJson> {
    return Object.fromEntries(this.entries());
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

  #writeSync(op: WriteOp, name: string, definition: unknown): void {
    const reply = this.link.callSync(this.#request(op, name, definition));
    if (!reply.ok) throw fromWireError(reply.error, this.path);
  }

  async #writeAsync(op: WriteOp, name: string, definition: unknown): Promise<void> {
    const request = this.#request(op, name, definition);
    const reply = await this.link.call(request);
    if (!reply.ok) throw fromWireError(reply.error, this.path);
  }

  #request(op: WriteOp, name: string, definition: unknown): Omit<WriteRequest, 'id'> {
    this.checkWritable();
    validateName(name, this.#limits.maxNameBytes);
    if (op === WriteOp.DROP) return { kind: 'write', op, name };
    return { kind: 'write', op, name, json: serializeDefinition(definition, this.#limits.maxDefinitionBytes) };
  }
}
