import type { WriterStats } from '../shared/protocol.js';

const SAMPLES = 1024;

/** Counters and a ring of recent commit durations, reported by `catalog.stats()`. */
export class StatsRecorder {
  readonly #durations = new Float64Array(SAMPLES);
  #samples = 0;
  #batches = 0;
  #commits = 0;
  #failedBatches = 0;
  #ops = 0;
  #refusedOps = 0;
  #largestBatch = 0;

  /** One batch: how many ops, how many were refused (EXISTS/NOT_FOUND), how long the commit took. */
  recordBatch(ops: number, refused: number, committed: boolean, commitMs: number): void {
    this.#batches++;
    this.#ops += ops;
    this.#refusedOps += refused;
    this.#largestBatch = Math.max(this.#largestBatch, ops);
    if (!committed) {
      this.#failedBatches++;
      return;
    }
    this.#commits++;
    this.#durations[this.#samples++ % SAMPLES] = commitMs * 1000;
  }

  snapshot(queueDepth: number, parties: number): WriterStats {
    const recent = this.#durations.slice(0, Math.min(this.#samples, SAMPLES)).sort();
    const at = (q: number) => (recent.length === 0 ? 0 : Math.round(recent[Math.min(recent.length - 1, Math.floor(q * recent.length))]!));
    return {
      queueDepth,
      parties,
      batches: this.#batches,
      commits: this.#commits,
      failedBatches: this.#failedBatches,
      ops: this.#ops,
      refusedOps: this.#refusedOps,
      meanBatchSize: this.#batches === 0 ? 0 : this.#ops / this.#batches,
      largestBatch: this.#largestBatch,
      commitLatencyUs: { p50: at(0.5), p99: at(0.99), max: at(1) },
    };
  }
}
