/**
 * Layout of the SharedArrayBuffer shared by the main thread and the writer worker.
 * No other file may index the Int32Array with a bare number.
 *
 * Handshake order (the one place it is written down):
 * 1. main posts a request on the MessagePort (the port wakes the worker's event loop);
 * 2. the worker commits, posts every reply of the batch on the port, THEN bumps
 *    REPLY_SEQ with Atomics.add and calls Atomics.notify;
 * 3. a main-thread sync caller reads REPLY_SEQ before draining the port with
 *    receiveMessageOnPort, and only then Atomics.waits for REPLY_SEQ to move, in short
 *    slices, so a reply posted between the drain and the wait is never missed.
 */
export const Slot = {
  /** Bumped by the worker after it posted replies (or changed WORKER_STATE). */
  REPLY_SEQ: 0,
  /** One of {@link WorkerState}. Written by the worker, including from its exit handler. */
  WORKER_STATE: 1,
  /** Bumped by an unref'd interval in the worker; a value that stops moving means a stuck event loop. */
  HEARTBEAT: 2,
  /** Number of DuckDB calls in flight in the worker; terminating the worker while > 0 aborts the process. */
  DUCKDB_CALLS: 3,
} as const;

export const SLOT_COUNT = 4;
export const SLOTS_BYTES = SLOT_COUNT * Int32Array.BYTES_PER_ELEMENT;

export const WorkerState = {
  STARTING: 0,
  RUNNING: 1,
  /** Shut down on request; DuckDB closed cleanly. */
  CLOSED: 2,
  /** Hit an uncaught error; it is closing DuckDB and will exit. */
  FAILED: 3,
  /** Its thread is gone (written from process.on('exit') in the worker). */
  EXITED: 4,
} as const;

export type WorkerState = (typeof WorkerState)[keyof typeof WorkerState];

/** How often the worker bumps HEARTBEAT. */
export const HEARTBEAT_INTERVAL_MS = 50;

/** Length of one Atomics.wait slice on the main thread, between liveness checks. */
export const WAIT_SLICE_MS = 50;

export function createSlots(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(SLOTS_BYTES));
}
