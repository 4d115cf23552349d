import type { WriteTarget } from './write-target.js';

/** What one round of one target measured. */
export interface DriveResult {
  latenciesUs: Float64Array;
  wallMs: number;
}

export interface DriveOptions {
  /** Measured ops (all callers together). */
  ops: number;
  /** Unmeasured ops first, so JIT and statement caches are warm. */
  warmup: number;
  /** Stop measuring after this long even if `ops` is not reached; the slow peers need it. */
  budgetMs: number;
}

/**
 * Runs `target.concurrency` callers against an already set-up target. Each caller takes the
 * next op index, times the call until it returns (sync) or settles (async), and loops. With
 * one caller and a sync target nothing awaits, so the loop stays synchronous and adds no
 * microtask hop to the figures.
 */
export async function drive(target: WriteTarget, options: DriveOptions): Promise<DriveResult> {
  let next = 0;
  for (; next < options.warmup; next++) {
    const pending = target.writeOne(next);
    if (pending !== undefined) await pending;
  }
  const first = next;
  const end = first + options.ops;
  const latenciesUs = new Float64Array(options.ops);
  let recorded = 0;
  const start = performance.now();
  const deadline = start + options.budgetMs;

  async function caller(): Promise<void> {
    while (next < end) {
      const i = next++;
      const t0 = performance.now();
      const pending = target.writeOne(i);
      if (pending !== undefined) await pending;
      const t1 = performance.now();
      latenciesUs[recorded++] = (t1 - t0) * 1e3;
      // Checked after the op, so even a target slower than the budget yields one sample.
      if (t1 > deadline) next = end;
    }
  }

  await Promise.all(Array.from({ length: target.concurrency }, caller));
  const wallMs = performance.now() - start;
  return { latenciesUs: latenciesUs.subarray(0, recorded), wallMs };
}
