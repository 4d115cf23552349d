import { CatalogInvalidError } from './errors.js';
import type { FaultPlan } from './protocol.js';

/** Options of {@link Catalog.open}. */
export interface CatalogOptions {
  /**
   * Longest time, in milliseconds, any one call waits for the writer: a sync write blocks
   * the calling thread at most this long, an async write rejects after it. Past it the
   * call throws ERR_CATALOG_TIMEOUT and the catalog refuses further writes.
   * @default 10000
   */
  timeoutMs?: number;
  /**
   * How long, in milliseconds, the writer may go without a heartbeat before it is
   * declared hung (ERR_CATALOG_TIMEOUT), even if `timeoutMs` is not yet reached.
   * @default 2000
   */
  hangTimeoutMs?: number;
  /**
   * Longest time, in milliseconds, `Catalog.open` waits for the writer to open the file and load it.
   * @default 60000
   */
  openTimeoutMs?: number;
  /**
   * Open without write access: every write throws ERR_CATALOG_READ_ONLY. Several processes
   * may open one closed catalog read-only at once.
   * @default false
   */
  readOnly?: boolean;
  /**
   * Longest name accepted, in UTF-8 bytes.
   * @default 1024
   */
  maxNameBytes?: number;
  /**
   * Largest definition accepted, in UTF-8 bytes of its JSON text.
   * @default 1048576
   */
  maxDefinitionBytes?: number;
  /**
   * Keep the recovery journal (`<file>.journal`): a checksummed, fdatasync'ed second copy of
   * every committed batch from which `open` rebuilds a damaged file or a lost WAL. Turning
   * it off saves one small fdatasync per batch and deletes an existing journal (it would
   * be stale); a file DuckDB can no longer open is then lost.
   * @default true
   */
  journal?: boolean;
  /**
   * When a write is acknowledged. `'journal'`: once its record is in `<file>.journal` and
   * fdatasync'ed (one flush); DuckDB's table is brought up to date behind it, at most
   * `maxLagRows` / `maxLagMs` behind. `'duckdb'`: once DuckDB has committed it as well, so
   * the DuckDB file itself is current at every acknowledgement (slower: two flushes).
   * @default 'journal' ('duckdb' when `journal` is false)
   */
  commit?: 'journal' | 'duckdb';
  /**
   * Open even when acknowledged writes are unreadable (where `open` would throw
   * ERR_CATALOG_CORRUPT): the catalog opens as the newest consistent state the readable
   * files give (the journal's snapshot and its unbroken run of batches, or DuckDB's rows and
   * the readable batches after them, whichever reaches further). Every damaged file is
   * renamed aside (never deleted), DuckDB is made equal to that state, a fresh journal is
   * started, and `catalog.recovery` reports `'data-lost'` with the batches lost. Use it
   * only after the refusal's message has been read and the files kept.
   * @default false
   */
  acceptDataLoss?: boolean;
  /**
   * With `commit: 'journal'`: most rows DuckDB may be behind the journal. Past it, new
   * writes wait for DuckDB to catch up (backpressure) instead of growing memory and replay time
   * (64 MiB of definitions bound both as well). 50,000: at 10,000, a DuckDB checkpoint
   * (~0.5 s at 1M rows) held writers for ~0.35 s under 256 writers in flight; at 50,000 none waited.
   * @default 50000
   */
  maxLagRows?: number;
  /**
   * With `commit: 'journal'`: most milliseconds the oldest write not yet in DuckDB may wait.
   * Past it, new writes wait for DuckDB to catch up. DuckDB applies every half of this
   * (at most 1 s) or at half of `maxLagRows`, whichever comes first.
   * @default 2000
   */
  maxLagMs?: number;
  /**
   * DuckDB `threads` setting of the writer's own instance. One thread measured the lowest
   * p99 commit latency for this single-writer workload.
   * @default 1
   */
  duckdbThreads?: number;
}

/** What `Catalog.connect` reads: the owner's settings apply to everything else. */
export const CONNECT_OPTION_KEYS = ['timeoutMs', 'hangTimeoutMs', 'openTimeoutMs', 'readOnly', 'maxNameBytes', 'maxDefinitionBytes'] as const;

/**
 * Options of `Catalog.connect`: deadlines and liveness for this process's calls, and the
 * limits and read-only mode it checks before sending. Defaults as in {@link CatalogOptions}.
 */
export type ConnectOptions = Pick<CatalogOptions, (typeof CONNECT_OPTION_KEYS)[number]>;

/** Test and bench hooks, reached through `Symbol.for('duckcat.*')` keys in the options. */
export interface HiddenOptions {
  readonly faults?: FaultPlan;
  readonly trace?: Float64Array;
  /** Overrides how long the store thread gathers batches before a DuckDB apply (tests hold DuckDB behind with it). */
  readonly applyDelayMs?: number;
  /** Journal bytes after which it is sealed and compacted. */
  readonly compactAfterBytes: number;
}

/**
 * When a catalog acknowledges a write: the `commit` option of a file catalog, or
 * `'postgres'` for a PostgreSQL-backed one (once PostgreSQL's COMMIT returned).
 */
export type CommitPoint = 'journal' | 'duckdb' | 'postgres';

export type ResolvedOptions = Readonly<Omit<Required<CatalogOptions>, 'commit'>> & { readonly commit: CommitPoint } & HiddenOptions;

export const DEFAULT_OPTIONS: Readonly<Required<CatalogOptions>> = Object.freeze({
  timeoutMs: 10_000,
  hangTimeoutMs: 2_000,
  openTimeoutMs: 60_000,
  readOnly: false,
  maxNameBytes: 1024,
  maxDefinitionBytes: 1_048_576,
  duckdbThreads: 1,
  journal: true,
  commit: 'journal',
  acceptDataLoss: false,
  maxLagRows: 50_000,
  maxLagMs: 2_000,
});

/** Seal and compact the journal after this many bytes of records. */
export const COMPACT_AFTER_BYTES = 4 * 1024 * 1024;

const HIDDEN_DEFAULTS: HiddenOptions = Object.freeze({ compactAfterBytes: COMPACT_AFTER_BYTES });

const kFaults = Symbol.for('duckcat.faults');
const kTrace = Symbol.for('duckcat.trace');
const kApplyDelayMs = Symbol.for('duckcat.applyDelayMs');
const kCompactAfterBytes = Symbol.for('duckcat.compactAfterBytes');

const MISSPELLINGS: Readonly<Record<string, string>> = {
  readonly: 'readOnly',
  timeout: 'timeoutMs',
  hangTimeout: 'hangTimeoutMs',
  openTimeout: 'openTimeoutMs',
  threads: 'duckdbThreads',
};

const POSITIVE_INTEGERS = ['timeoutMs', 'hangTimeoutMs', 'openTimeoutMs', 'maxNameBytes', 'maxDefinitionBytes', 'duckdbThreads', 'maxLagRows', 'maxLagMs'] as const;

/** Node clamps a longer timer to 1 ms, so a longer wait would end at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const TIMERS = ['timeoutMs', 'hangTimeoutMs', 'openTimeoutMs', 'maxLagMs'] as const;

/**
 * Applies defaults and validates every option: the one resolver of open and connect.
 * @param allowed The option names this call takes (connect takes fewer); others are refused.
 * @throws {CatalogInvalidError} naming the option (`options.timeoutMs`, ...).
 */
export function resolveOptions(options: unknown, allowed: readonly string[] = Object.keys(DEFAULT_OPTIONS)): ResolvedOptions {
  if (options === undefined) return Object.freeze({ ...DEFAULT_OPTIONS, ...HIDDEN_DEFAULTS });
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new CatalogInvalidError('options', 'must be an object');
  }
  const given = options as Record<string | symbol, unknown>;
  for (const key of Object.keys(given)) {
    const fix = MISSPELLINGS[key];
    if (fix !== undefined) throw new CatalogInvalidError(`options.${key}`, `unknown option, did you mean "${fix}"?`);
    if (!allowed.includes(key)) throw new CatalogInvalidError(`options.${key}`, key in DEFAULT_OPTIONS ? 'is not an option here (the owner\'s setting applies)' : 'unknown option');
  }
  const resolved: Record<string, unknown> = { ...DEFAULT_OPTIONS, ...HIDDEN_DEFAULTS };
  for (const key of POSITIVE_INTEGERS) {
    const value = given[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      throw new CatalogInvalidError(`options.${key}`, `must be a positive integer, got ${String(value)}`);
    }
    resolved[key] = value;
  }
  for (const key of TIMERS) {
    if ((resolved[key] as number) > MAX_TIMER_MS) throw new CatalogInvalidError(`options.${key}`, `must be at most ${MAX_TIMER_MS} ms, got ${String(resolved[key])}`);
  }
  for (const key of ['readOnly', 'journal', 'acceptDataLoss'] as const) {
    if (given[key] === undefined) continue;
    if (typeof given[key] !== 'boolean') throw new CatalogInvalidError(`options.${key}`, 'must be a boolean');
    resolved[key] = given[key];
  }
  resolved.commit = resolveCommit(given.commit, resolved.journal as boolean);
  if (given[kFaults] !== undefined) resolved.faults = given[kFaults];
  if (given[kTrace] instanceof Float64Array) resolved.trace = given[kTrace];
  if (typeof given[kApplyDelayMs] === 'number') resolved.applyDelayMs = given[kApplyDelayMs];
  if (typeof given[kCompactAfterBytes] === 'number') resolved.compactAfterBytes = given[kCompactAfterBytes];
  return Object.freeze(resolved) as unknown as ResolvedOptions;
}

function resolveCommit(value: unknown, journal: boolean): 'journal' | 'duckdb' {
  if (value === undefined) return journal ? 'journal' : 'duckdb';
  if (value !== 'journal' && value !== 'duckdb') throw new CatalogInvalidError('options.commit', `must be 'journal' or 'duckdb', got ${String(value)}`);
  if (value === 'journal' && !journal) throw new CatalogInvalidError('options.commit', "'journal' needs the journal: with journal: false writes are acknowledged by DuckDB ('duckdb')");
  return value;
}
