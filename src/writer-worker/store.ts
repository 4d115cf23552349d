import {
  DuckDBAppender,
  DuckDBConnection,
  DuckDBInstance,
  INTEGER,
  LIST,
  VARCHAR,
  listValue,
  timestampTZValue,
  type DuckDBBlobValue,
  type DuckDBPreparedStatement,
} from './duckdb-api.js';
import type { Database } from '@duckdb/node-bindings';
import { CatalogLockedError, CatalogStorageError } from '../shared/errors.js';
import { isLockError, isTransactionConflict, parseLockHolder } from '../shared/duckdb-messages.js';
import { emptyColumns, type Columns } from '../shared/protocol.js';
import type { Row } from './batch-plan.js';
import { InFlight } from './in-flight.js';
import * as sql from './sql.js';

/** Row changes to make in one transaction. The sets are disjoint by name. */
export interface StoreChanges {
  /** Names not stored before. */
  readonly inserts: readonly Row[];
  /** Names stored before and still present. */
  readonly updates: readonly Row[];
  /** Names stored before and now absent. */
  readonly deletes: readonly string[];
  /** Names whose prior state is unknown (a roll-forward after a crash): insert or replace. */
  readonly upserts?: readonly Row[];
}

/**
 * DuckDB checkpoints when its WAL passes this (its default is 16 MB). A checkpoint after
 * updates rewrites the updated columns of every row group touched, so its cost grows with
 * the table, not with the change: 2 s at 500 MB of 8 KB definitions, inside the apply that
 * crosses the threshold, and every such apply held writers behind `maxLagMs` and fought
 * the journal's fdatasync for the disk. Four times fewer of them cost a WAL four times as
 * long to replay after a crash (a clean close checkpoints) and at most as much memory.
 */
const CHECKPOINT_THRESHOLD = '64MB';

const CONFLICT_RETRIES = 3;
const CONFLICT_BACKOFF_MS = 5;

interface Statements {
  readonly updateOne: DuckDBPreparedStatement;
  readonly deleteOne: DuckDBPreparedStatement;
  readonly deleteMany: DuckDBPreparedStatement;
  readonly updateMany: DuckDBPreparedStatement;
  readonly upsertMany: DuckDBPreparedStatement;
  readonly setAppliedSeq: DuckDBPreparedStatement;
}

/** The writer's DuckDB instance and its one connection. Only the writer worker creates it. */
export class Store {
  readonly #instance: DuckDBInstance;
  readonly #connection: DuckDBConnection;
  readonly #statements: Statements | undefined;
  readonly #inFlight: InFlight;
  // Inserts go through an appender: its flush runs on this thread (no libuv pool hop) and
  // measured ~20% faster than a prepared INSERT. Inside BEGIN…COMMIT it joins the transaction.
  #appender: DuckDBAppender | undefined;
  #closed = false;

  private constructor(instance: DuckDBInstance, connection: DuckDBConnection, statements: Statements | undefined, inFlight: InFlight) {
    this.#instance = instance;
    this.#connection = connection;
    this.#statements = statements;
    this.#inFlight = inFlight;
  }

  /**
   * Opens the file (or memory), creates the schema unless read-only, prepares statements.
   * @param locked The file's handle when the caller opened it already; the Store owns it then.
   * @throws {CatalogLockedError} when another process holds the file.
   * @throws {CatalogStorageError} for any other DuckDB failure.
   */
  static async open(path: string, options: { readOnly: boolean; threads: number }, inFlight: InFlight, locked?: Database): Promise<Store> {
    let instance: DuckDBInstance;
    // Opened (and locked) already by the bindings alone (duckdb-lock.ts): only wrapped here.
    if (locked !== undefined) instance = new DuckDBInstance(locked);
    else try {
      instance = await inFlight.run(() =>
        DuckDBInstance.create(path, {
          threads: String(options.threads),
          access_mode: options.readOnly ? 'READ_ONLY' : 'READ_WRITE',
          // Only the extensions compiled into the binary may load: nothing reaches the network.
          autoinstall_known_extensions: 'false',
          autoload_known_extensions: 'false',
          checkpoint_threshold: CHECKPOINT_THRESHOLD,
        }),
      );
    } catch (error) {
      throw openError(path, error);
    }
    const connection = await inFlight.run(() => instance.connect());
    try {
      let statements: Statements | undefined;
      if (!options.readOnly) {
        await inFlight.run(() => connection.run(sql.CREATE_SCHEMA));
        const prepare = (text: string) => inFlight.run(() => connection.prepare(text));
        statements = {
          updateOne: await prepare(sql.UPDATE_ONE),
          deleteOne: await prepare(sql.DELETE_ONE),
          deleteMany: await prepare(sql.DELETE_MANY),
          updateMany: await prepare(sql.UPDATE_MANY),
          upsertMany: await prepare(sql.UPSERT_MANY),
          setAppliedSeq: await prepare(sql.SET_APPLIED_SEQ),
        };
      }
      return new Store(instance, connection, statements, inFlight);
    } catch (error) {
      connection.closeSync();
      instance.closeSync();
      throw new CatalogStorageError(`could not prepare catalog ${path}: ${messageOf(error)}`, { cause: error });
    }
  }

  /**
   * The journal position the table reflects (null when the file records none: a new or
   * rebuilt file, or one written before positions were kept) and whether it holds rows.
   */
  async position(): Promise<{ appliedSeq: number | null; hasRows: boolean }> {
    if (!(await this.#tableExists())) return { appliedSeq: null, hasRows: false };
    const hasRows = (await this.#inFlight.run(() => this.#connection.runAndReadAll(sql.HAS_ROWS))).getRows()[0]?.[0] === true;
    try {
      const reader = await this.#inFlight.run(() => this.#connection.runAndReadAll(sql.SELECT_APPLIED_SEQ));
      const value = reader.getRows()[0]?.[0];
      return { appliedSeq: value === undefined || value === null ? null : Number(value), hasRows };
    } catch {
      // A read-only open of a file from before positions were kept has no such table.
      return { appliedSeq: null, hasRows };
    }
  }

  /** Every stored row. */
  async loadAll(): Promise<Columns> {
    if (!(await this.#tableExists())) return emptyColumns();
    const reader = await this.#inFlight.run(() => this.#connection.runAndReadAll(sql.SELECT_ALL));
    const columns = reader.getColumns() as [DuckDBBlobValue[], string[], number[]] | [];
    if (columns.length === 0) return emptyColumns();
    const [names, jsons, versions] = columns;
    return { names: names.map(decodeName), jsons, versions };
  }

  /**
   * Makes a set of changes durable in one transaction (BEGIN … COMMIT, ROLLBACK only when a
   * statement failed), together with the journal position `seq` they bring the table to
   * (undefined: the caller records it later with {@link recordPosition}).
   * Transaction conflicts are retried, bounded.
   * @throws {CatalogStorageError} when DuckDB refuses; nothing of the changes is stored then.
   */
  async commit(changes: StoreChanges, seq: number | undefined): Promise<void> {
    const kinds = [changes.inserts, changes.updates, changes.deletes, changes.upserts ?? []].filter((part) => part.length > 0).length;
    for (let attempt = 0; ; attempt++) {
      try {
        // One kind of change and no position: one autocommit statement (or appender flush).
        if (seq === undefined && kinds <= 1) await this.#apply(changes);
        else await this.#inTransaction(changes, seq);
        return;
      } catch (error) {
        if (attempt < CONFLICT_RETRIES && isTransactionConflict(messageOf(error))) {
          await new Promise((resolve) => setTimeout(resolve, CONFLICT_BACKOFF_MS * 2 ** attempt));
          continue;
        }
        throw new CatalogStorageError(`commit failed: ${messageOf(error)}`, { cause: error });
      }
    }
  }

  /**
   * Records the journal position the table reflects, on its own. Safe to lag behind the
   * rows: a roll-forward from an older position replays batches as upserts, which is idempotent.
   */
  async recordPosition(seq: number): Promise<void> {
    const statements = this.#writable();
    statements.setAppliedSeq.bindBigInt(1, BigInt(seq));
    await this.#inFlight.run(() => statements.setAppliedSeq.run());
  }

  async #inTransaction(changes: StoreChanges, seq: number | undefined): Promise<void> {
    const statements = this.#writable();
    await this.#inFlight.run(() => this.#connection.run('BEGIN TRANSACTION'));
    try {
      await this.#apply(changes);
      if (seq !== undefined) {
        statements.setAppliedSeq.bindBigInt(1, BigInt(seq));
        await this.#inFlight.run(() => statements.setAppliedSeq.run());
      }
    } catch (error) {
      await this.#inFlight.run(() => this.#connection.run('ROLLBACK')).catch(() => undefined);
      throw error;
    }
    await this.#inFlight.run(() => this.#connection.run('COMMIT'));
  }

  async #apply(changes: StoreChanges): Promise<void> {
    const statements = this.#writable();
    if (changes.deletes.length === 1) {
      statements.deleteOne.bindVarchar(1, changes.deletes[0]!);
      await this.#inFlight.run(() => statements.deleteOne.run());
    } else if (changes.deletes.length > 1) {
      statements.deleteMany.bindList(1, listValue(changes.deletes), LIST(VARCHAR));
      await this.#inFlight.run(() => statements.deleteMany.run());
    }
    if (changes.updates.length === 1) {
      const [name, json, version] = changes.updates[0]!;
      statements.updateOne.bindVarchar(1, name);
      statements.updateOne.bindVarchar(2, json);
      statements.updateOne.bindInteger(3, version);
      await this.#inFlight.run(() => statements.updateOne.run());
    } else if (changes.updates.length > 1) {
      const rows = changes.updates;
      statements.updateMany.bindList(1, listValue(rows.map((row) => row[0])), LIST(VARCHAR));
      statements.updateMany.bindList(2, listValue(rows.map((row) => row[1])), LIST(VARCHAR));
      statements.updateMany.bindList(3, listValue(rows.map((row) => row[2])), LIST(INTEGER));
      await this.#inFlight.run(() => statements.updateMany.run());
    }
    const upserts = changes.upserts ?? [];
    if (upserts.length > 0) {
      statements.upsertMany.bindList(1, listValue(upserts.map((row) => row[0])), LIST(VARCHAR));
      statements.upsertMany.bindList(2, listValue(upserts.map((row) => row[1])), LIST(VARCHAR));
      statements.upsertMany.bindList(3, listValue(upserts.map((row) => row[2])), LIST(INTEGER));
      await this.#inFlight.run(() => statements.upsertMany.run());
    }
    if (changes.inserts.length > 0) await this.#append(changes.inserts);
  }

  /**
   * Streams every row as of one consistent moment, on a connection of its own so commits
   * go on meanwhile. Returns the journal position that moment reflects.
   */
  async readConsistent(onStart: (position: number) => void, onRows: (names: string[], jsons: string[], versions: number[]) => void): Promise<number> {
    const reader = await this.#inFlight.run(() => this.#instance.connect());
    try {
      await this.#inFlight.run(() => reader.run('BEGIN TRANSACTION'));
      const value = (await this.#inFlight.run(() => reader.runAndReadAll(sql.SELECT_APPLIED_SEQ))).getRows()[0]?.[0];
      const position = value === undefined || value === null ? 0 : Number(value);
      onStart(position);
      const result = await this.#inFlight.run(() => reader.stream(sql.SELECT_ALL));
      for (let chunk = await this.#inFlight.run(() => result.fetchChunk()); chunk !== null && chunk.rowCount > 0; chunk = await this.#inFlight.run(() => result.fetchChunk())) {
        const [names, jsons, versions] = chunk.getColumns() as [DuckDBBlobValue[], string[], number[]];
        onRows(names.map(decodeName), jsons, versions);
      }
      await this.#inFlight.run(() => reader.run('COMMIT'));
      return position;
    } finally {
      reader.closeSync();
    }
  }

  async #append(rows: readonly Row[]): Promise<void> {
    this.#appender ??= await this.#inFlight.run(() => this.#connection.createAppender(sql.TABLE_NAME, sql.SCHEMA_NAME));
    const appender = this.#appender;
    const now = timestampTZValue(BigInt(Date.now()) * 1000n);
    try {
      for (const [name, json, version] of rows) {
        appender.appendVarchar(name);
        appender.appendVarchar(json);
        appender.appendBigInt(BigInt(version));
        appender.appendTimestampTZ(now);
        appender.endRow();
      }
      this.#inFlight.runSync(() => appender.flushSync());
    } catch (error) {
      // A failed flush leaves the appender unusable: drop it and start a fresh one next time.
      this.#appender = undefined;
      try {
        appender.closeSync();
      } catch {
        // already invalid
      }
      throw error;
    }
  }

  async checkpoint(): Promise<void> {
    try {
      await this.#inFlight.run(() => this.#connection.run('CHECKPOINT'));
    } catch (error) {
      throw new CatalogStorageError(`checkpoint failed: ${messageOf(error)}`, { cause: error });
    }
  }

  /** Stops a running statement; the awaited call then rejects. */
  interrupt(): void {
    if (!this.#closed) this.#connection.interrupt();
  }

  /**
   * Closes the connection, then the instance (which checkpoints and removes the WAL).
   * Callers must have awaited every in-flight call first.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#appender?.closeSync();
    } catch {
      // nothing buffered can be left: every append is flushed before commit returns
    }
    if (this.#statements !== undefined) {
      for (const statement of Object.values(this.#statements)) statement.destroySync();
    }
    this.#connection.closeSync();
    this.#instance.closeSync();
  }

  async #tableExists(): Promise<boolean> {
    const exists = await this.#inFlight.run(() => this.#connection.runAndReadAll(sql.TABLE_EXISTS));
    return exists.getRows()[0]?.[0] !== 0;
  }

  #writable(): Statements {
    if (this.#statements === undefined) throw new CatalogStorageError('the catalog was opened read-only');
    return this.#statements;
  }
}

function openError(path: string, error: unknown): Error {
  const message = messageOf(error);
  if (isLockError(message)) {
    const holder = parseLockHolder(message);
    return new CatalogLockedError(path, holder?.pid, undefined, { cause: error });
  }
  return new CatalogStorageError(`could not open catalog ${path}: ${message}`, { cause: error });
}

// ignoreBOM: a name that starts with U+FEFF keeps it.
const NAME_DECODER = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });

function decodeName(blob: DuckDBBlobValue): string {
  return NAME_DECODER.decode(blob.bytes);
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
