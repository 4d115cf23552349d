/**
 * Layout of the SharedArrayBuffers shared by the writer worker and every thread that
 * talks to it. No other file may index these Int32Arrays with a bare number.
 *
 * - One *catalog* buffer ({@link Slot}): the writer's state, heartbeat, DuckDB calls in
 *   flight, and the sequence number of the last batch whose changes were posted.
 * - One *reply* buffer per party (the owning Catalog and each CatalogClient): a counter the
 *   writer bumps after posting that party's replies.
 *
 * Handshake order (the one place it is written down), for each committed batch:
 * 1. the writer posts a `changes` message to every party's port;
 * 2. it stores the batch's seq in COMMITTED_SEQ, so a reader on any thread that sees the
 *    new seq is sure to find the changes on its own port (read-after-write across threads);
 * 3. it posts each request's reply on the requesting party's port;
 * 4. it bumps that party's reply counter with Atomics.add and calls Atomics.notify.
 * A sync caller reads its reply counter before draining its port with
 * receiveMessageOnPort, and only then Atomics.waits for the counter to move, in short
 * slices, so a reply posted between the drain and the wait is never missed.
 */
export const Slot = {
  /** One of {@link WorkerState}. Written by the worker, including from its exit handler. */
  WORKER_STATE: 0,
  /** Bumped by an unref'd interval in the worker; a value that stops moving means a stuck event loop. */
  HEARTBEAT: 1,
  /** Number of DuckDB calls in flight in the worker; terminating the worker while > 0 aborts the process. */
  DUCKDB_CALLS: 2,
  /** Sequence number of the newest batch whose changes every party can find on its port. */
  COMMITTED_SEQ: 3,
} as const;

const SLOT_COUNT = 4;

/** Index of the counter in a party's reply buffer. */
export const REPLY_SEQ = 0;

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

/** Length of one Atomics.wait slice, between liveness checks. */
export const WAIT_SLICE_MS = 50;

export function createCatalogSlots(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(SLOT_COUNT * Int32Array.BYTES_PER_ELEMENT));
}

export function createReplySlot(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
}

/** Called by the writer after posting a party's replies. */
export function wakeParty(reply: Int32Array): void {
  Atomics.add(reply, REPLY_SEQ, 1);
  Atomics.notify(reply, REPLY_SEQ);
}
