import type { LagStats } from '../shared/protocol.js';

/**
 * Bytes of definitions DuckDB may lag behind before writes stop, beside `maxLagRows`: rows
 * alone let 10,000 rows of 1 MiB (10 GB) queue in memory and in the replay after a crash.
 */
export const MAX_LAG_BYTES = 64 * 1024 * 1024;

/**
 * Share of a bound above which writes are slowed, not stopped: the throttle starts here,
 * holds the journal to DuckDB's pace midway to the bound, and drains the lag beyond that.
 * Above the lag's normal high point: the store thread applies at half of `maxLagRows`,
 * and rows keep coming while it does.
 */
const SOFT_SHARE = 0.75;

/** The most one batch is slowed by the throttle; the hard bounds still stop writes beyond. */
export const MAX_THROTTLE_MS = 20;

/**
 * DuckDB's pace is measured over this many recent applies, as total time over total rows:
 * an apply that ran a checkpoint (seconds, now and then) is spread over the rows around it,
 * as it is in DuckDB's sustained pace, instead of making one estimate huge.
 */
const PACE_WINDOW = 32;

/**
 * Batches acknowledged (journaled) but not yet committed in DuckDB, oldest first: the
 * distance the backpressure bounds, and what `stats().lag` reports. Besides the hard bounds
 * (rows, bytes, age: writes wait), it says how long to slow each batch while the lag is
 * over three quarters of a bound, so that the cost of a DuckDB that falls behind is spread
 * over the writes as small delays instead of landing on a few as a stall of seconds (the
 * delayed writes of RocksDB, in spirit).
 */
export class Lag {
  readonly #pending: Array<{ readonly seq: number; readonly rows: number; readonly bytes: number; readonly at: number }> = [];
  #rows = 0;
  #bytes = 0;
  #journaledSeq: number;
  #appliedSeq: number;
  #waits = 0;
  #throttled = 0;
  #throttledMs = 0;
  /** Recent applies, oldest first: [rows, ms]. */
  readonly #recent: Array<readonly [number, number]> = [];
  #recentRows = 0;
  #recentMs = 0;

  constructor(journaledSeq: number, appliedSeq: number) {
    this.#journaledSeq = journaledSeq;
    this.#appliedSeq = appliedSeq;
  }

  get rows(): number {
    return this.#rows;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get appliedSeq(): number {
    return this.#appliedSeq;
  }

  /** Age of the oldest batch DuckDB lacks, in ms. */
  ageMs(now = performance.now()): number {
    const oldest = this.#pending[0];
    return oldest === undefined ? 0 : now - oldest.at;
  }

  journaled(seq: number, rows: number, bytes = 0): void {
    this.#journaledSeq = seq;
    this.#pending.push({ seq, rows, bytes, at: performance.now() });
    this.#rows += rows;
    this.#bytes += bytes;
  }

  applied(seq: number): void {
    if (seq <= this.#appliedSeq) return;
    this.#appliedSeq = seq;
    while (this.#pending.length > 0 && this.#pending[0]!.seq <= seq) {
      const batch = this.#pending.shift()!;
      this.#rows -= batch.rows;
      this.#bytes -= batch.bytes;
    }
  }

  /** Learns DuckDB's pace from one apply: `rows` committed in `ms` (its checkpoints included). */
  observeApply(rows: number, ms: number): void {
    if (rows <= 0 || !(ms >= 0)) return;
    this.#recent.push([rows, ms]);
    this.#recentRows += rows;
    this.#recentMs += ms;
    if (this.#recent.length > PACE_WINDOW) {
      const [oldRows, oldMs] = this.#recent.shift()!;
      this.#recentRows -= oldRows;
      this.#recentMs -= oldMs;
    }
  }

  /** DuckDB's sustained cost of one row, ms; undefined until an apply was seen. */
  get msPerRow(): number | undefined {
    return this.#recentRows > 0 ? this.#recentMs / this.#recentRows : undefined;
  }

  /** Whether a new write must wait: the lag reached a bound. */
  full(maxRows: number, maxMs: number): boolean {
    return this.#rows >= maxRows || this.#bytes >= MAX_LAG_BYTES || this.ageMs() >= maxMs;
  }

  /**
   * How long to slow the next batch, ms: zero while the lag (rows, bytes) is under three
   * quarters of its bound; then in proportion to the time DuckDB takes for as many rows as
   * the batch carries — one such time midway, when the journal then keeps DuckDB's pace,
   * twice that at the bound, when the lag drains — at most {@link MAX_THROTTLE_MS}.
   */
  throttleMs(batchRows: number, maxRows: number): number {
    const msPerRow = this.msPerRow;
    if (msPerRow === undefined || this.#rows === 0) return 0;
    // Not the age: slowing writes does not make DuckDB's current apply end sooner, and
    // throttling on the time DuckDB would need (tried) kept its transactions small: bulk
    // loads of 8 KB rows took twice as long.
    const pressure = Math.max(this.#rows / maxRows, this.#bytes / MAX_LAG_BYTES);
    if (pressure <= SOFT_SHARE) return 0;
    const share = Math.min(2, (2 * (pressure - SOFT_SHARE)) / (1 - SOFT_SHARE));
    return Math.min(MAX_THROTTLE_MS, batchRows * msPerRow * share);
  }

  countWait(): void {
    this.#waits++;
  }

  countThrottle(ms: number): void {
    this.#throttled++;
    this.#throttledMs += ms;
  }

  stats(): LagStats {
    return {
      rows: this.#rows,
      bytes: this.#bytes,
      ms: Math.round(this.ageMs()),
      journaledSeq: this.#journaledSeq,
      appliedSeq: this.#appliedSeq,
      backpressureWaits: this.#waits,
      throttledBatches: this.#throttled,
      throttledMs: Math.round(this.#throttledMs),
    };
  }
}
