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
   * DuckDB `threads` setting of the writer's own instance. One thread measured the lowest
   * p99 commit latency for this single-writer workload.
   * @default 1
   */
  duckdbThreads?: number;
}

export type ResolvedOptions = Readonly<Required<CatalogOptions>> & { readonly faults?: FaultPlan };

export const DEFAULT_OPTIONS: Readonly<Required<CatalogOptions>> = Object.freeze({
  timeoutMs: 10_000,
  hangTimeoutMs: 2_000,
  openTimeoutMs: 60_000,
  readOnly: false,
  maxNameBytes: 1024,
  maxDefinitionBytes: 1_048_576,
  duckdbThreads: 1,
  journal: true,
});

const kFaults = Symbol.for('duckcat.faults');

const MISSPELLINGS: Readonly<Record<string, string>> = {
  readonly: 'readOnly',
  timeout: 'timeoutMs',
  hangTimeout: 'hangTimeoutMs',
  openTimeout: 'openTimeoutMs',
  threads: 'duckdbThreads',
};

const POSITIVE_INTEGERS = ['timeoutMs', 'hangTimeoutMs', 'openTimeoutMs', 'maxNameBytes', 'maxDefinitionBytes', 'duckdbThreads'] as const;

/**
 * Applies defaults and validates every option.
 * @throws {CatalogInvalidError} naming the option (`options.timeoutMs`, ...).
 */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (options === undefined) return DEFAULT_OPTIONS;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new CatalogInvalidError('options', 'must be an object');
  }
  const given = options as Record<string | symbol, unknown>;
  for (const key of Object.keys(given)) {
    const fix = MISSPELLINGS[key];
    if (fix !== undefined) throw new CatalogInvalidError(`options.${key}`, `unknown option, did you mean "${fix}"?`);
    if (!(key in DEFAULT_OPTIONS)) throw new CatalogInvalidError(`options.${key}`, 'unknown option');
  }
  const resolved: Record<string, unknown> = { ...DEFAULT_OPTIONS };
  for (const key of POSITIVE_INTEGERS) {
    const value = given[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      throw new CatalogInvalidError(`options.${key}`, `must be a positive integer, got ${String(value)}`);
    }
    resolved[key] = value;
  }
  for (const key of ['readOnly', 'journal'] as const) {
    if (given[key] === undefined) continue;
    if (typeof given[key] !== 'boolean') throw new CatalogInvalidError(`options.${key}`, 'must be a boolean');
    resolved[key] = given[key];
  }
  if (given[kFaults] !== undefined) resolved.faults = given[kFaults];
  return Object.freeze(resolved) as unknown as ResolvedOptions;
}
