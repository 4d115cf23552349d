/**
 * Detects libuv threadpool starvation before a SQL function blocks the JS thread on the
 * writer.
 *
 * Why: `@duckdb/node-api` runs every query on libuv's process-wide threadpool
 * (UV_THREADPOOL_SIZE threads, 4 by default). A host query that calls
 * define_semantic_view holds one pool thread while our callback runs on the JS thread;
 * the writer's commit needs another pool thread. When every pool thread is held by such
 * queries, the commit can never start: measured, N >= UV_THREADPOOL_SIZE concurrent
 * callers deadlocked until the writer timeout, which then poisoned the catalog.
 *
 * How: queue a trivial pool task (crypto.randomFill) that writes into shared memory, and
 * watch that memory from the blocked JS thread. The pool is first-in first-out, so once
 * the probe has started, every pool task queued before it has started too, and a thread
 * was free; a commit queued right after it gets a thread. If no probe starts within
 * `waitMs`, no thread will free up while we block: fail at once with a clear
 * ERR_CATALOG_TIMEOUT instead of waiting for the writer deadline.
 */
import { randomFill } from 'node:crypto';
import { blockUntil } from '../../shared/blocking-wait.js';
import { CatalogTimeoutError } from '../../shared/errors.js';

const PROBE_BYTES = 16;
const POLL_MS = 1;
const RELEASE_GRACE_MS = 50;
const DEFAULT_POOL_SIZE = 4;
const MAX_POOL_SIZE = 1024;

/** The threadpool size libuv will use or used, from the environment (as libuv parses it). */
export function configuredPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.UV_THREADPOOL_SIZE;
  if (raw === undefined) return DEFAULT_POOL_SIZE;
  const parsed = Number.parseInt(raw, 10);
  if (!Number.isFinite(parsed) || parsed <= 0) return 1;
  return Math.min(parsed, MAX_POOL_SIZE);
}

interface Probe {
  readonly bytes: Uint8Array;
  readonly queuedAt: number;
}

/** One per attached catalog. Only used on the JS thread, inside SQL function callbacks. */
export class PoolGuard {
  readonly #waitMs: number;
  readonly #sleep = new Int32Array(new SharedArrayBuffer(4));
  // The oldest probe that has not started yet. A new probe would queue behind it, so
  // while it waits, nothing queued later (a commit included) can start either.
  #stalled: Probe | undefined;

  constructor(waitMs: number) {
    this.#waitMs = waitMs;
  }

  /**
   * Returns once a pool thread is known to be free; blocks the JS thread at most `waitMs`
   * (usually about 0.1 ms).
   * @throws {CatalogTimeoutError} ERR_CATALOG_TIMEOUT naming the threadpool when none frees up.
   */
  ensureFreeThread(): void {
    const now = performance.now();
    const stalled = this.#stalled;
    if (stalled !== undefined) {
      // The query whose call just failed is releasing its pool thread; a queued host
      // query or the stalled probe takes it within a few ms. Waiting the full window again
      // would only make each of N starved callers cost poolWaitMs in turn.
      const deadline = Math.max(stalled.queuedAt + this.#waitMs, now + Math.min(RELEASE_GRACE_MS, this.#waitMs));
      if (!this.#await(stalled, deadline)) throw this.#starved(performance.now() - stalled.queuedAt);
      this.#stalled = undefined;
    }
    const probe = PoolGuard.#queue(now);
    if (!this.#await(probe, now + this.#waitMs)) {
      this.#stalled = probe;
      throw this.#starved(performance.now() - now);
    }
  }

  static #queue(now: number): Probe {
    // A fresh buffer per probe: a probe that starved still runs later, and must not be
    // taken for a newer one.
    const bytes = new Uint8Array(new SharedArrayBuffer(PROBE_BYTES));
    randomFill(bytes, () => undefined);
    return { bytes, queuedAt: now };
  }

  #await(probe: Probe, deadline: number): boolean {
    // Nobody notifies #sleep: the probe is looked at every POLL_MS.
    return blockUntil(this.#sleep, 0, () => (hasStarted(probe) ? true : undefined), deadline, POLL_MS) === true;
  }

  #starved(waitedMs: number): CatalogTimeoutError {
    return new CatalogTimeoutError(
      `libuv threadpool exhausted: no pool thread became free within ${Math.round(waitedMs)} ms ` +
        `(poolWaitMs ${this.#waitMs}, UV_THREADPOOL_SIZE ${configuredPoolSize()}). Host queries blocked in ` +
        'duckcat SQL functions hold every pool thread, and the writer needs one to commit. Run fewer ' +
        'such queries at once than UV_THREADPOOL_SIZE, or start Node with a larger UV_THREADPOOL_SIZE ' +
        '(see "Semantic views in SQL" in the README)',
    );
  }
}

function hasStarted(probe: Probe): boolean {
  // 16 random bytes are all zero with probability 2^-128: any non-zero byte means started.
  for (let i = 0; i < PROBE_BYTES; i++) if (Atomics.load(probe.bytes, i) !== 0) return true;
  return false;
}
