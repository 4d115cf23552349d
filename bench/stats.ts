/**
 * Latency summaries. Percentiles use the nearest-rank method on a sorted copy: every
 * reported figure is a latency some op really had, never an interpolation between two.
 */

/** One run of one target, latencies in microseconds. */
export interface Summary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  opsPerSec: number;
}

/** The value at quantile `q` (0..1] of an ascending array, by nearest rank. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

/**
 * Summarizes per-op latencies (µs). `wallMs` is the elapsed time of the whole run; with
 * concurrent callers it is shorter than the sum of latencies, so ops/s must come from it.
 * Without it, ops/s assumes the ops ran one after another.
 */
export function summarize(latenciesUs: Float64Array | readonly number[], wallMs?: number): Summary {
  const sorted = Float64Array.from(latenciesUs).sort();
  let total = 0;
  for (const value of sorted) total += value;
  const count = sorted.length;
  const elapsedSec = wallMs !== undefined ? wallMs / 1e3 : total / 1e6;
  return {
    count,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: count > 0 ? (sorted[count - 1] ?? Number.NaN) : Number.NaN,
    mean: count > 0 ? total / count : Number.NaN,
    opsPerSec: elapsedSec > 0 ? count / elapsedSec : Number.NaN,
  };
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length % 2 === 1) return sorted[mid] ?? Number.NaN;
  return ((sorted[mid - 1] ?? Number.NaN) + (sorted[mid] ?? Number.NaN)) / 2;
}

/**
 * Combines rounds field by field: the median p99 of five rounds is steadier than the p99
 * of the pooled samples, which one noisy round (a neighbour's fsync storm) can own.
 * `count` is the total across rounds.
 */
export function medianOfRuns(runs: readonly Summary[]): Summary {
  const field = (key: keyof Summary): number => median(runs.map((run) => run[key]));
  return {
    count: runs.reduce((sum, run) => sum + run.count, 0),
    p50: field('p50'),
    p99: field('p99'),
    p999: field('p999'),
    max: field('max'),
    mean: field('mean'),
    opsPerSec: field('opsPerSec'),
  };
}
