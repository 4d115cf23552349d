/**
 * Layout of the core's test/bench-only trace hook. Pass `{ [TRACE_OPTION]: trace }` to
 * `Catalog.open`, `trace` coming from `createTrace()`. After each `defineSync` returns, each
 * field holds the absolute time in ms (`performance.timeOrigin + performance.now()` of the
 * thread that wrote it) at which the last sync write passed that point. A core without the
 * hook ignores the option (unknown symbol keys are ignored), so the fields stay 0.
 */

export const TRACE_OPTION = Symbol.for('duckcat.trace');

/** Field index of each traced point, in the order a write passes them. */
export const TraceField = {
  /** Main thread: request posted to the writer and its doorbell rung. */
  POSTED: 0,
  /** Journal thread: returned from Atomics.wait. */
  WOKE: 1,
  /** Journal thread: drained its port and planned the batch. */
  PLANNED: 2,
  /** Journal thread: the journal record written with writeSync. */
  WRITTEN: 3,
  /** Journal thread: fdatasync returned. */
  SYNCED: 4,
  /** Journal thread: reply posted and the caller's reply counter notified. */
  REPLIED: 5,
} as const;
export type TraceField = (typeof TraceField)[keyof typeof TraceField];

/** The traced points in the order a write passes them. */
export const TRACED_POINTS: readonly TraceField[] = [
  TraceField.POSTED,
  TraceField.WOKE,
  TraceField.PLANNED,
  TraceField.WRITTEN,
  TraceField.SYNCED,
  TraceField.REPLIED,
];

/** Fields in the buffer: the six points used today and room for two more. */
export const TRACE_FIELD_COUNT = 8;

/** A zeroed trace buffer, shared so the writer's threads can fill it. */
export function createTrace(): Float64Array {
  return new Float64Array(new SharedArrayBuffer(TRACE_FIELD_COUNT * Float64Array.BYTES_PER_ELEMENT));
}
