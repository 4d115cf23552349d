import type { LagStats, WriterStats } from '../shared/protocol.js';

const SAMPLES = 1024;

/** The last {@link SAMPLES} durations, for percentiles. */
class Recent {
  readonly #durations = new Float64Array(SAMPLES);
  #samples = 0;

  add(ms: number): void {
    this.#durations[this.#samples++ % SAMPLES] = ms * 1000;
  }

  percentiles(): { p50: number; p99: number; max: number } {
    const recent = this.#durations.slice(0, Math.min(this.#samples, SAMPLES)).sort();
    const at = (q: number) => (recent.length === 0 ? 0 : Math.round(recent[Math.min(recent.length - 1, Math.floor(q * recent.length))]!));
    return { p50: at(0.5), p99: at(0.99), max: at(1) };
  }
}

/** Counters and recent latencies, reported by `catalog.stats()`. */
export class StatsRecorder {
  readonly #commits = new Recent();
  readonly #applies = new Recent();
  #batches = 0;
  #committed = 0;
  #failedBatches = 0;
  #ops = 0;
  #refusedOps = 0;
  #largestBatch = 0;
  #applyCount = 0;
  #rejected = 0;
  #appliedRows = 0;

  /**
   * One batch as its callers saw it: how many ops, how many were refused (EXISTS /
   * NOT_FOUND), whether it was made durable, how long that took. A batch DuckDB refused and
   * that was then replayed op by op is recorded once, as failed, with `ops` 0 (its ops are
   * counted by the replays, which count as batches) and its real `size`.
   */
  recordBatch(ops: number, refused: number, committed: boolean, commitMs: number, size = ops): void {
    this.#batches++;
    this.#ops += ops;
    this.#refusedOps += refused;
    this.#largestBatch = Math.max(this.#largestBatch, size);
    if (!committed) {
      this.#failedBatches++;
      return;
    }
    this.#committed++;
    this.#commits.add(commitMs);
  }

  /** A client request refused before planning (malformed, over a limit). */
  recordRejected(): void {
    this.#rejected++;
  }

  /** One DuckDB transaction of the store thread. */
  recordApply(rows: number, ms: number): void {
    this.#applyCount++;
    this.#appliedRows += rows;
    this.#applies.add(ms);
  }

  snapshot(queueDepth: number, parties: number, lag: LagStats): WriterStats {
    return {
      queueDepth,
      parties,
      batches: this.#batches,
      commits: this.#committed,
      failedBatches: this.#failedBatches,
      ops: this.#ops,
      refusedOps: this.#refusedOps,
      rejectedRequests: this.#rejected,
      meanBatchSize: this.#batches === 0 ? 0 : this.#ops / this.#batches,
      largestBatch: this.#largestBatch,
      commitLatencyUs: this.#commits.percentiles(),
      lag,
      applies: { count: this.#applyCount, meanRows: this.#applyCount === 0 ? 0 : this.#appliedRows / this.#applyCount, latencyUs: this.#applies.percentiles() },
    };
  }
}
