import { WAIT_SLICE_MS } from './slots.js';

/**
 * Blocks this thread until `ready()` returns a value or `deadline` (performance.now() time)
 * passes, sleeping in `Atomics.wait` on `cell[index]` between looks. The one way duckcat
 * waits without an event loop: the cell is read *before* each look, so a change made
 * between the look and the wait ends the wait at once instead of being slept through, and
 * each sleep lasts at most `sliceMs`, so `ready()` (which may also check liveness and
 * throw) runs at least that often.
 * @returns What `ready()` returned, or undefined at the deadline.
 */
export function blockUntil<T>(cell: Int32Array, index: number, ready: (now: number) => T | undefined, deadline: number, sliceMs = WAIT_SLICE_MS): T | undefined {
  for (;;) {
    const seen = Atomics.load(cell, index);
    const now = performance.now();
    const value = ready(now);
    if (value !== undefined) return value;
    const left = deadline - now;
    if (left <= 0) return undefined;
    Atomics.wait(cell, index, seen, Math.min(sliceMs, left));
  }
}
