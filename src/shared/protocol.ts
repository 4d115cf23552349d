/**
 * Messages between the main thread and the writer worker. Types only: both sides import them.
 */
import type { MessagePort } from 'node:worker_threads';
import type { CatalogErrorCode } from './errors.js';

export const WriteOp = {
  DEFINE: 'define',
  REPLACE: 'replace',
  DROP: 'drop',
} as const;
export type WriteOp = (typeof WriteOp)[keyof typeof WriteOp];

/** A write. `json` is the serialized definition (absent for drop). `id` increases per catalog. */
export interface WriteRequest {
  readonly kind: 'write';
  readonly id: number;
  readonly op: WriteOp;
  readonly name: string;
  readonly json?: string;
}

/** Asks the worker to finish what it has, close DuckDB (checkpoint) and exit. */
export interface CloseRequest {
  readonly kind: 'close';
  readonly id: number;
}

/** Forces a DuckDB CHECKPOINT. */
export interface CheckpointRequest {
  readonly kind: 'checkpoint';
  readonly id: number;
}

/**
 * Adds a party (a CatalogClient in another thread): the writer sends it a `hello` with
 * every stored row, then the changes of every later batch, and answers its writes.
 */
export interface SubscribeRequest {
  readonly kind: 'subscribe';
  readonly id: number;
  readonly port: MessagePort;
  readonly reply: Int32Array;
}

/** Asks for the writer's counters. */
export interface StatsRequest {
  readonly kind: 'stats';
  readonly id: number;
}

export type MainToWorker = WriteRequest | CloseRequest | CheckpointRequest | SubscribeRequest | StatsRequest;

/** Several async requests issued in one tick, sent as one message (fewer postMessage calls). */
export interface RequestBundle {
  readonly kind: 'bundle';
  readonly requests: readonly MainToWorker[];
}

/** What a party may send: every request but close and subscribe, which only the owner sends. */
export type ClientToWorker = WriteRequest | CheckpointRequest | StatsRequest;

/** What the writer has done since it started (see `catalog.stats()`). */
export interface WriterStats {
  /** Requests waiting for the next batch right now. */
  readonly queueDepth: number;
  /** Threads and processes receiving the change stream, the owner included. */
  readonly parties: number;
  readonly batches: number;
  /** Batches that committed (one DuckDB transaction each). */
  readonly commits: number;
  /** Batches DuckDB refused as a whole (every op got ERR_CATALOG_STORAGE). */
  readonly failedBatches: number;
  readonly ops: number;
  /** Ops answered ERR_CATALOG_EXISTS / ERR_CATALOG_NOT_FOUND. */
  readonly refusedOps: number;
  readonly meanBatchSize: number;
  readonly largestBatch: number;
  /** Of the last 1024 commits, DuckDB and journal together, in microseconds. */
  readonly commitLatencyUs: { readonly p50: number; readonly p99: number; readonly max: number };
}

/** An error as it crosses the thread boundary: structured clone drops custom fields. */
export interface WireError {
  readonly code: CatalogErrorCode;
  readonly message: string;
  readonly pid?: number;
  readonly field?: string;
  readonly cause?: { readonly name: string; readonly message: string; readonly stack?: string };
}

export type Reply =
  | { readonly kind: 'reply'; readonly id: number; readonly ok: true; readonly version: number; readonly stats?: WriterStats }
  | { readonly kind: 'reply'; readonly id: number; readonly ok: false; readonly error: WireError };

/** What `Catalog.open` had to repair, if anything. */
export interface RecoveryReport {
  /** Why recovery ran. */
  readonly reason: string;
  /** Damaged files renamed aside (kept, never deleted). */
  readonly damagedFiles: readonly string[];
  /** Rows written back from the journal. */
  readonly restoredRows: number;
}

/**
 * Stored rows, column-wise: three flat arrays clone across threads far faster than
 * 100k small [name, json, version] arrays.
 */
export interface Columns {
  names: string[];
  jsons: string[];
  versions: number[];
}

export function emptyColumns(): Columns {
  return { names: [], jsons: [], versions: [] };
}

export function zipColumns(columns: Columns): Array<[string, string, number]> {
  return columns.names.map((name, i) => [name, columns.jsons[i]!, columns.versions[i]!]);
}

/** First message of a worker: everything stored. */
export interface ReadyMessage {
  readonly kind: 'ready';
  readonly rows: Columns;
  readonly recovery?: RecoveryReport;
}

export interface OpenFailedMessage {
  readonly kind: 'open-failed';
  readonly error: WireError;
}

/** Sent once the worker hit an uncaught error, before it shuts DuckDB down. */
export interface FatalMessage {
  readonly kind: 'fatal';
  readonly error: WireError;
}

/** The net effect of committed batch `seq`: `jsons[i]` is null where `names[i]` was dropped. */
export interface ChangesMessage {
  readonly kind: 'changes';
  readonly seq: number;
  readonly names: readonly string[];
  readonly jsons: ReadonlyArray<string | null>;
}

/** A new party's first message from the writer: every stored row as of batch `seq`. */
export interface HelloMessage {
  readonly kind: 'hello';
  readonly seq: number;
  readonly rows: Columns;
}

/** The owner's first message on a client port, before the port is handed over. */
export interface ClientInit {
  readonly kind: 'init';
  readonly slots: Int32Array;
  readonly reply: Int32Array;
  readonly path: string;
  readonly readOnly: boolean;
  readonly timeoutMs: number;
  readonly hangTimeoutMs: number;
  readonly maxNameBytes: number;
  readonly maxDefinitionBytes: number;
}

/** Every reply of one batch for one party, in request order. */
export interface RepliesMessage {
  readonly kind: 'replies';
  readonly replies: readonly Reply[];
}

export type WorkerToMain = Reply | RepliesMessage | ReadyMessage | OpenFailedMessage | FatalMessage | ChangesMessage | HelloMessage;

/** What the worker is started with (workerData). */
export interface WriterConfig {
  /** Absolute path of the catalog file, or ':memory:'. */
  readonly path: string;
  readonly readOnly: boolean;
  readonly journal: boolean;
  readonly duckdbThreads: number;
  readonly slots: Int32Array;
  /** The owner's reply counter. */
  readonly reply: Int32Array;
  readonly port: MessagePort;
  readonly faults?: FaultPlan;
}

/**
 * Test-only fault injection: after `afterWrites` successful write batches the worker
 * misbehaves at `at`. Reached through `Symbol.for('duckcat.faults')` in the open options.
 */
export interface FaultPlan {
  readonly afterWrites: number;
  readonly action: 'throw' | 'exit' | 'hang-sync' | 'hang-async';
  readonly at: 'before-commit' | 'after-commit';
}
