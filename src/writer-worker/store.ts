import {
  DuckDBConnection,
  DuckDBInstance,
  INTEGER,
  LIST,
  VARCHAR,
  listValue,
  type DuckDBPreparedStatement,
} from '@duckdb/node-api';
import { CatalogLockedError, CatalogStorageError } from '../shared/errors.js';
import { isLockError, isTransactionConflict, parseLockHolder } from '../shared/duckdb-messages.js';
import type { Changes, Row } from './batch-plan.js';
import { InFlight } from './in-flight.js';
import * as sql from './sql.js';

const CONFLICT_RETRIES = 3;
const CONFLICT_BACKOFF_MS = 5;

interface Statements {
  readonly insertOne: DuckDBPreparedStatement;
  readonly updateOne: DuckDBPreparedStatement;
  readonly deleteOne: DuckDBPreparedStatement;
  readonly deleteMany: DuckDBPreparedStatement;
  readonly insertMany: DuckDBPreparedStatement;
  readonly updateMany: DuckDBPreparedStatement;
}

/** The writer's DuckDB instance and its one connection. Only the writer worker creates it. */
export class Store {
  readonly #instance: DuckDBInstance;
  readonly #connection: DuckDBConnection;
  readonly #statements: Statements | undefined;
  readonly #inFlight: InFlight;
  #closed = false;

  private constructor(instance: DuckDBInstance, connection: DuckDBConnection, statements: Statements | undefined, inFlight: InFlight) {
    this.#instance = instance;
    this.#connection = connection;
    this.#statements = statements;
    this.#inFlight = inFlight;
  }

  /**
   * Opens the file (or memory), creates the schema unless read-only, prepares statements.
   * @throws {CatalogLockedError} when another process holds the file.
   * @throws {CatalogStorageError} for any other DuckDB failure.
   */
  static async open(path: string, options: { readOnly: boolean; threads: number }, inFlight: InFlight): Promise<Store> {
    let instance: DuckDBInstance;
    try {
      instance = await inFlight.run(() =>
        DuckDBInstance.create(path, {
          threads: String(options.threads),
          access_mode: options.readOnly ? 'READ_ONLY' : 'READ_WRITE',
          // Only the extensions compiled into the binary may load: nothing reaches the network.
          autoinstall_known_extensions: 'false',
          autoload_known_extensions: 'false',
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
          insertOne: await prepare(sql.INSERT_ONE),
          updateOne: await prepare(sql.UPDATE_ONE),
          deleteOne: await prepare(sql.DELETE_ONE),
          deleteMany: await prepare(sql.DELETE_MANY),
          insertMany: await prepare(sql.INSERT_MANY),
          updateMany: await prepare(sql.UPDATE_MANY),
        };
      }
      return new Store(instance, connection, statements, inFlight);
    } catch (error) {
      connection.closeSync();
      instance.closeSync();
      throw new CatalogStorageError(`could not prepare catalog ${path}: ${messageOf(error)}`, { cause: error });
    }
  }

  /** Every stored row, as [name, json, version]. */
  async loadAll(): Promise<Array<[string, string, number]>> {
    const exists = await this.#inFlight.run(() => this.#connection.runAndReadAll(sql.TABLE_EXISTS));
    if (exists.getRows()[0]?.[0] === 0) return [];
    const reader = await this.#inFlight.run(() => this.#connection.runAndReadAll(sql.SELECT_ALL));
    const columns = reader.getColumns() as [string[], string[], number[]] | [];
    if (columns.length === 0) return [];
    const [names, jsons, versions] = columns;
    const rows = new Array<[string, string, number]>(names.length);
    for (let i = 0; i < names.length; i++) rows[i] = [names[i]!, jsons[i]!, versions[i]!];
    return rows;
  }

  async count(): Promise<number> {
    const reader = await this.#inFlight.run(() => this.#connection.runAndReadAll(sql.COUNT_ALL));
    return Number(reader.getRows()[0]?.[0] ?? 0);
  }

  /**
   * Makes a batch durable: one autocommit statement for a single change, otherwise
   * BEGIN, deletes, one multi-row UPDATE, one multi-row INSERT, COMMIT. ROLLBACK only when a statement failed;
   * transaction conflicts are retried a bounded number of times.
   * @throws {CatalogStorageError} when DuckDB refuses; nothing of the batch is stored then.
   */
  async commit(plan: Changes): Promise<void> {
    const changes = plan.deletes.length + plan.updates.length + plan.inserts.length;
    if (changes === 0) return;
    for (let attempt = 0; ; attempt++) {
      try {
        if (changes === 1) await this.#runSingle(plan);
        else await this.#runTransaction(plan);
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

  async #runSingle(plan: Changes): Promise<void> {
    const statements = this.#writable();
    const inserted = plan.inserts[0];
    const updated = plan.updates[0];
    if (inserted !== undefined) await this.#runRow(statements.insertOne, inserted);
    else if (updated !== undefined) await this.#runRow(statements.updateOne, updated);
    else {
      statements.deleteOne.bindVarchar(1, plan.deletes[0]!);
      await this.#inFlight.run(() => statements.deleteOne.run());
    }
  }

  async #runRow(statement: DuckDBPreparedStatement, [name, json, version]: Row): Promise<void> {
    statement.bindVarchar(1, name);
    statement.bindVarchar(2, json);
    statement.bindInteger(3, version);
    await this.#inFlight.run(() => statement.run());
  }

  async #runRows(one: DuckDBPreparedStatement, many: DuckDBPreparedStatement, rows: readonly Row[]): Promise<void> {
    if (rows.length === 0) return;
    if (rows.length === 1) return this.#runRow(one, rows[0]!);
    many.bindList(1, listValue(rows.map((row) => row[0])), LIST(VARCHAR));
    many.bindList(2, listValue(rows.map((row) => row[1])), LIST(VARCHAR));
    many.bindList(3, listValue(rows.map((row) => row[2])), LIST(INTEGER));
    await this.#inFlight.run(() => many.run());
  }

  async #runTransaction(plan: Changes): Promise<void> {
    const statements = this.#writable();
    await this.#inFlight.run(() => this.#connection.run('BEGIN TRANSACTION'));
    try {
      if (plan.deletes.length === 1) {
        statements.deleteOne.bindVarchar(1, plan.deletes[0]!);
        await this.#inFlight.run(() => statements.deleteOne.run());
      } else if (plan.deletes.length > 1) {
        statements.deleteMany.bindList(1, listValue(plan.deletes), LIST(VARCHAR));
        await this.#inFlight.run(() => statements.deleteMany.run());
      }
      await this.#runRows(statements.updateOne, statements.updateMany, plan.updates);
      await this.#runRows(statements.insertOne, statements.insertMany, plan.inserts);
    } catch (error) {
      await this.#inFlight.run(() => this.#connection.run('ROLLBACK')).catch(() => undefined);
      throw error;
    }
    await this.#inFlight.run(() => this.#connection.run('COMMIT'));
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
    if (this.#statements !== undefined) {
      for (const statement of Object.values(this.#statements)) statement.destroySync();
    }
    this.#connection.closeSync();
    this.#instance.closeSync();
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

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
