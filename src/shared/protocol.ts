/**
 * Messages between the main thread and the writer worker. Types only: both sides import them.
 */
import type { MessagePort } from 'node:worker_threads';
import type { CatalogErrorCode } from './errors.js';
import type { CommitPoint } from './options.js';

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
  /**
   * Replace and drop only: commit only if the name is at this version now (absent counts as
   * 0), else ERR_CATALOG_CONFLICT. Absent from the message when the caller gave none.
   */
  readonly ifVersion?: number;
}

/** One write of an {@link ApplyRequest}: a {@link WriteRequest} without kind and id. */
export interface ApplyOp {
  readonly op: WriteOp;
  readonly name: string;
  readonly json?: string;
  readonly ifVersion?: number;
}

/**
 * Several writes planned together and committed as ONE batch (one journal record, one
 * DuckDB transaction): all of them, or, when any would be refused, none.
 */
export interface ApplyRequest {
  readonly kind: 'apply';
  readonly id: number;
  readonly ops: readonly ApplyOp[];
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

/**
 * A read fence: answered once every batch acknowledged before it arrived has been posted
 * to the asking party, so a reply means the party's map holds them (ports and the socket
 * deliver in order).
 */
export interface SyncRequest {
  readonly kind: 'sync';
  readonly id: number;
}

/**
 * A client thread's first request: the writer answers with a `hello` carrying every
 * stored row, and only then starts sending it changes. A port nobody builds a client from
 * costs the writer nothing.
 */
export interface HelloRequest {
  readonly kind: 'hello';
  readonly id: number;
}

/**
 * A party's last request: the writer forgets it at once. Needed because a thread that
 * closes its port and then idles (a piscina worker between tasks) never lets the close
 * reach the writer.
 */
export interface LeaveRequest {
  readonly kind: 'leave';
  readonly id: number;
}

export type MainToWorker = WriteRequest | ApplyRequest | CloseRequest | CheckpointRequest | SubscribeRequest | StatsRequest | SyncRequest | HelloRequest | LeaveRequest;

/** Several async requests issued in one tick, sent as one message (fewer postMessage calls). */
export interface RequestBundle {
  readonly kind: 'bundle';
  readonly requests: readonly MainToWorker[];
}

/** What a party may send: every request but close and subscribe, which only the owner sends. */
export type ClientToWorker = WriteRequest | ApplyRequest | CheckpointRequest | StatsRequest | SyncRequest | HelloRequest | LeaveRequest;

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
  /** Ops answered ERR_CATALOG_EXISTS / ERR_CATALOG_NOT_FOUND / ERR_CATALOG_CONFLICT. */
  readonly refusedOps: number;
  /** Requests from client threads or processes refused before planning: malformed, or over a limit. */
  readonly rejectedRequests: number;
  readonly meanBatchSize: number;
  readonly largestBatch: number;
  /**
   * Of the last 1024 acknowledged batches, the time from planning to durable (the journal's
   * write + fdatasync; with `commit: 'duckdb'`, DuckDB's commit too), in microseconds.
   */
  readonly commitLatencyUs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** How far DuckDB is behind the journal right now. Zero rows once it caught up. */
  readonly lag: LagStats;
  /** DuckDB applies of journaled batches: how many, how many rows each, how long (µs, last 1024). */
  readonly applies: { readonly count: number; readonly meanRows: number; readonly latencyUs: { readonly p50: number; readonly p99: number; readonly max: number } };
}

/** The distance between what was acknowledged (journaled) and what DuckDB holds. */
export interface LagStats {
  /** Rows journaled but not yet committed in DuckDB. */
  readonly rows: number;
  /** Bytes of those rows' names and definitions (writes stop at 64 MiB, as at `maxLagRows`). */
  readonly bytes: number;
  /** Age of the oldest batch DuckDB has not committed yet, in ms (0 when caught up). */
  readonly ms: number;
  /** Sequence number of the newest journaled (acknowledged) batch. */
  readonly journaledSeq: number;
  /** Sequence number of the newest batch DuckDB has committed. */
  readonly appliedSeq: number;
  /** Times a write waited because the lag reached `maxLagRows`, 64 MiB or `maxLagMs`. */
  readonly backpressureWaits: number;
  /** Batches slowed a little (at most 20 ms each) because the lag passed three quarters of a bound: DuckDB's pace, spread over every write. */
  readonly throttledBatches: number;
  /** Their delays, summed, ms. */
  readonly throttledMs: number;
}

/** An error as it crosses the thread boundary: structured clone drops custom fields. */
export interface WireError {
  readonly code: CatalogErrorCode;
  readonly message: string;
  readonly pid?: number;
  readonly field?: string;
  /** The name an EXISTS / NOT_FOUND / CONFLICT error is about. */
  readonly definitionName?: string;
  /** A CONFLICT error's `ifVersion` and the version the writer holds. */
  readonly expectedVersion?: number;
  readonly currentVersion?: number;
  readonly cause?: { readonly name: string; readonly message: string; readonly stack?: string };
}

/** A write's answer: the definition's version after it (0 once dropped). */
export interface WriteReply {
  readonly kind: 'reply';
  readonly id: number;
  readonly ok: true;
  readonly version: number;
}

/** A stats request's answer. */
export interface StatsReply {
  readonly kind: 'reply';
  readonly id: number;
  readonly ok: true;
  readonly stats: WriterStats;
}

/** The answer to close, checkpoint and sync: done. */
export interface DoneReply {
  readonly kind: 'reply';
  readonly id: number;
  readonly ok: true;
}

/** Any request refused or failed. */
export interface FailedReply {
  readonly kind: 'reply';
  readonly id: number;
  readonly ok: false;
  readonly error: WireError;
}

export type Reply = WriteReply | StatsReply | DoneReply | FailedReply;

/** What `Catalog.open` had to repair, if anything. */
export interface RecoveryReport {
  /**
   * What open found: `rolled-forward` (journaled batches DuckDB had not applied yet, the
   * normal state after a crash), `file-behind` (DuckDB lost committed batches, e.g. its
   * WAL), `file-missing`, `file-damaged` (renamed aside, rebuilt from the journal),
   * `journal-damaged` (the journal lost records DuckDB still held; it was rebuilt from the
   * file and the damaged one kept aside), `data-lost` (acknowledged writes were unreadable
   * and `acceptDataLoss` opened the newest readable state; the reason names the batches lost).
   */
  readonly kind: 'rolled-forward' | 'file-behind' | 'file-missing' | 'file-damaged' | 'journal-damaged' | 'data-lost';
  /** Why recovery ran, in words. */
  readonly reason: string;
  /** Damaged files renamed aside (kept, never deleted). */
  readonly damagedFiles: readonly string[];
  /** Rows written back (to DuckDB from the journal, or to the journal from DuckDB). */
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
  /** The newest batch the rows reflect (COMMITTED_SEQ's value at this point). */
  readonly seq: number;
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

/**
 * The net effect of acknowledged batch `seq`: `jsons[i]` is null where `names[i]` was
 * dropped. It carries the receiving party's replies for that batch, so a writer finds its
 * answer and the changes in one message.
 */
export interface ChangesMessage {
  readonly kind: 'changes';
  readonly seq: number;
  readonly names: readonly string[];
  readonly jsons: ReadonlyArray<string | null>;
  /** `versions[i]`: the version of `names[i]` after the batch; for a drop, the version it removed. */
  readonly versions: readonly number[];
  readonly replies?: readonly Reply[];
}

/** A new party's first message from the writer: every stored row as of batch `seq`. */
export interface HelloMessage {
  readonly kind: 'hello';
  readonly seq: number;
  readonly rows: Columns;
  /** The owner's `commit` option: a party's SQL functions guard the libuv pool only for `'duckdb'`. */
  readonly commit: CommitPoint;
  /** False for a ':memory:' catalog. */
  readonly persistent: boolean;
  /** The owning process's pid, so a party can name it when the owner goes away. */
  readonly pid: number;
}

/** The owner's first message on a client port, before the port is handed over. */
export interface ClientInit {
  readonly kind: 'init';
  /** Unique per open catalog (two ':memory:' catalogs share a path, never an id). */
  readonly catalogId: string;
  readonly slots: Int32Array;
  readonly reply: Int32Array;
  readonly path: string;
  readonly readOnly: boolean;
  readonly timeoutMs: number;
  readonly hangTimeoutMs: number;
  readonly maxNameBytes: number;
  readonly maxDefinitionBytes: number;
  /** The owner's `commit` option (see {@link HelloMessage.commit}). */
  readonly commit: CommitPoint;
}

/** Every reply of one batch for one party, in request order. */
export interface RepliesMessage {
  readonly kind: 'replies';
  readonly replies: readonly Reply[];
}

/**
 * The owner closed the catalog: the last message every party gets. A process's link tells
 * its handle so (ERR_CATALOG_CLOSED from then on), which a dropped connection could not.
 */
export interface OwnerClosedMessage {
  readonly kind: 'owner-closed';
}

/**
 * A process's link lost its owner without an `owner-closed` first (the owner crashed or was
 * killed): posted by the link worker so the handle can say so at once, not at its next call.
 */
export interface OwnerGoneMessage {
  readonly kind: 'owner-gone';
}

export type WorkerToMain = Reply | RepliesMessage | ReadyMessage | OpenFailedMessage | FatalMessage | ChangesMessage | HelloMessage | OwnerClosedMessage | OwnerGoneMessage;

/** When a write is acknowledged. */
export type AckPoint =
  /** Once its journal record is fdatasync'ed; DuckDB is brought up to date behind it. */
  | 'journal'
  /** Once DuckDB has committed it too (and the journal, when there is one). */
  | 'store'
  /** At once: a ':memory:' catalog, where nothing is durable. */
  | 'plan';

/** What the journal thread is started with (workerData). */
export interface JournalThreadConfig {
  /** Absolute path of the catalog file, or ':memory:'. */
  readonly path: string;
  readonly readOnly: boolean;
  /** Keep `<file>.journal*` (false: roll an existing one forward into DuckDB, then remove it). */
  readonly journal: boolean;
  /** Open the newest readable state where acknowledged writes are unreadable (the option). */
  readonly acceptDataLoss: boolean;
  readonly ackAfter: AckPoint;
  readonly maxLagRows: number;
  readonly maxLagMs: number;
  readonly compactAfterBytes: number;
  /** Limits every client request is checked against (the owner's own calls are checked before they are sent). */
  readonly maxNameBytes: number;
  readonly maxDefinitionBytes: number;
  readonly slots: Int32Array;
  /** The owner's reply counter. */
  readonly reply: Int32Array;
  /** The owner's port. */
  readonly port: MessagePort;
  /** The store thread's port. */
  readonly storePort: MessagePort;
  readonly trace?: Float64Array;
  readonly faults?: FaultPlan;
}

/** What the store thread (the one that owns DuckDB) is started with (workerData). */
export interface StoreThreadConfig {
  readonly path: string;
  readonly readOnly: boolean;
  readonly duckdbThreads: number;
  readonly slots: Int32Array;
  /** The journal thread's port. */
  readonly port: MessagePort;
  /**
   * How long to gather acknowledged batches before one DuckDB apply: fewer, larger
   * transactions cost the callers' CPU less. 0 when callers wait for DuckDB (`commit: 'duckdb'`).
   */
  readonly applyWindowMs: number;
  /** Apply at once, without waiting out the window, when this many rows are waiting. */
  readonly applyAtRows: number;
  /** Keep `<file>.journal.mark` (a persistent catalog with a journal, writable). */
  readonly markJournal: boolean;
  /**
   * Test only (FaultPlan `at: 'store-open'`): after DuckDB told its position, loading
   * `@duckdb/node-api` fails (`throw`) or never ends (`hang`: DuckDB never becomes ready).
   */
  readonly apiLoadFault?: 'throw' | 'hang';
}

/**
 * A row as the journal thread hands it to DuckDB: [name, json or null (dropped), version,
 * the version its row holds before the batch (0: not stored)].
 */
export type ApplyRow = readonly [string, string | null, number, number];

/** Journal thread → store thread. */
export type JournalToStore =
  /** Load DuckDB's API and prepare for writes: the owner has its answer, or the open needs more of DuckDB than its position. */
  | { readonly kind: 'proceed' }
  /** Apply batch `seq` (rows flagged with whether the name was stored before it). */
  | { readonly kind: 'apply'; readonly seq: number; readonly rows: readonly ApplyRow[] }
  /** Roll journaled rows forward after a crash: upserts and deletes, then record `seq`. */
  | { readonly kind: 'replay'; readonly seq: number; readonly rows: ReadonlyArray<readonly [string, string | null, number]> }
  /** Make the table equal `rows` (load, diff, one transaction), then record `seq`. */
  | { readonly kind: 'reconcile'; readonly seq: number; readonly rows: Columns }
  /** Send every stored row. */
  | { readonly kind: 'load' }
  /** Send every stored row and the batch they reflect (for a new party's hello). */
  | { readonly kind: 'read-rows' }
  /** The file did not open: rename it aside and start a fresh one. */
  | { readonly kind: 'rebuild' }
  | { readonly kind: 'checkpoint'; readonly id: number; readonly upTo: number }
  /** Write `<file>.snapshot` from DuckDB once it holds batch `atLeast`. */
  | { readonly kind: 'snapshot'; readonly atLeast: number }
  /** Make `<file>.journal.next`, zero-filled to `bytes`, for the journal thread's next seal. */
  | { readonly kind: 'prepare-log'; readonly bytes: number }
  /**
   * Apply everything up to `upTo`, close DuckDB and end. `discardCreated`: the open failed;
   * remove the DuckDB file if this open created it, so a refused open leaves nothing behind.
   */
  | { readonly kind: 'close'; readonly upTo: number; readonly discardCreated?: boolean };

/** Store thread → journal thread. */
export type StoreToJournal =
  | {
      readonly kind: 'opened';
      /** The journal position DuckDB's table reflects; null when the file records none. */
      readonly appliedSeq: number | null;
      readonly hasRows: boolean;
      /** The file did not exist before this open. */
      readonly created: boolean;
      readonly damagedFiles: readonly string[];
    }
  | { readonly kind: 'open-failed'; readonly error: WireError; readonly damaged: boolean }
  | { readonly kind: 'applied'; readonly seq: number; readonly rows: number; readonly ms: number }
  | { readonly kind: 'apply-failed'; readonly seq: number; readonly error: WireError }
  | { readonly kind: 'rows'; readonly rows: Columns; readonly appliedSeq: number | null }
  /** Answer to `read-rows`: the table as of applied batch `seq`. */
  | { readonly kind: 'rows-now'; readonly rows: Columns; readonly seq: number }
  | { readonly kind: 'reconciled'; readonly changed: number }
  | { readonly kind: 'checkpointed'; readonly id: number; readonly error?: WireError }
  | { readonly kind: 'snapshotted'; readonly seq: number; readonly error?: WireError }
  | { readonly kind: 'log-prepared'; readonly error?: WireError }
  | { readonly kind: 'closed'; readonly error?: WireError }
  /** A process connected to `<file>.sock`: serve it as a party on `port`. */
  | { readonly kind: 'client'; readonly port: MessagePort; readonly reply: Int32Array };

/**
 * Test-only fault injection: after `afterWrites` successful write batches the worker
 * misbehaves at `at`. Reached through `Symbol.for('duckcat.faults')` in the open options.
 */
export interface FaultPlan {
  /** Journaled batches before the fault trips. */
  readonly afterWrites: number;
  readonly action: 'throw' | 'exit' | 'hang-sync' | 'hang-async';
  /**
   * `store-open`: the store thread's loading of `@duckdb/node-api`, after it told DuckDB's
   * position (the open may have returned), fails (`action: 'throw'`) or never ends (any
   * other action); `afterWrites` is unused.
   */
  readonly at: 'before-commit' | 'after-commit' | 'store-open';
}
