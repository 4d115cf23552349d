import type { LagStats } from '../shared/protocol.js';

/**
 * Batches acknowledged (journaled) but not yet committed in DuckDB, oldest first: the
 * distance the backpressure bounds, and what `stats().lag` reports.
 */
export class Lag {
  readonly #pending: Array<{ readonly seq: number; readonly rows: number; readonly at: number }> = [];
  #rows = 0;
  #journaledSeq: number;
  #appliedSeq: number;
  #waits = 0;

  constructor(journaledSeq: number, appliedSeq: number) {
    this.#journaledSeq = journaledSeq;
    this.#appliedSeq = appliedSeq;
  }

  get rows(): number {
    return this.#rows;
  }

  get appliedSeq(): number {
    return this.#appliedSeq;
  }

  /** Age of the oldest batch DuckDB lacks, in ms. */
  ageMs(now = performance.now()): number {
    const oldest = this.#pending[0];
    return oldest === undefined ? 0 : now - oldest.at;
  }

  journaled(seq: number, rows: number): void {
    this.#journaledSeq = seq;
    this.#pending.push({ seq, rows, at: performance.now() });
    this.#rows += rows;
  }

  applied(seq: number): void {
    if (seq <= this.#appliedSeq) return;
    this.#appliedSeq = seq;
    while (this.#pending.length > 0 && this.#pending[0]!.seq <= seq) this.#rows -= this.#pending.shift()!.rows;
  }

  /** Whether a new write must wait: the lag reached either bound. */
  full(maxRows: number, maxMs: number): boolean {
    return this.#rows >= maxRows || this.ageMs() >= maxMs;
  }

  countWait(): void {
    this.#waits++;
  }

  stats(): LagStats {
    return { rows: this.#rows, ms: Math.round(this.ageMs()), journaledSeq: this.#journaledSeq, appliedSeq: this.#appliedSeq, backpressureWaits: this.#waits };
  }
}
