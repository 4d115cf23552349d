/**
 * Layout of the SharedArrayBuffers shared by the writer's two threads and every thread
 * that talks to them. No other file may index these arrays with a bare number.
 *
 * - One *catalog* buffer ({@link Slot}): the writer's state, heartbeat, doorbell, DuckDB
 *   calls in flight, and the sequence numbers of the last batch acknowledged and applied.
 * - One *reply* buffer per party (the owning Catalog and each CatalogClient): a counter the
 *   journal thread bumps after posting that party's replies.
 *
 * Handshake order (the one place it is written down), for each journaled batch:
 * 1. a party posts its request on its port, then bumps DOORBELL and notifies it;
 * 2. the journal thread, woken from Atomics.wait on DOORBELL, drains every port with
 *    receiveMessageOnPort, journals the batch and fdatasyncs it;
 * 3. it stores the batch's seq in COMMITTED_SEQ, so a reader on any thread that sees the
 *    new seq waits (briefly, bounded) until the changes are on its own port;
 * 4. it posts one `changes` message to every party's port, carrying that party's replies
 *    (a thread with an event loop may take its reply right then: the seq has already moved,
 *    so read-after-write holds across threads);
 * 5. it bumps each answered party's reply counter with Atomics.add and calls Atomics.notify.
 * A sync caller reads its reply counter before draining its port with
 * receiveMessageOnPort, and only then Atomics.waits for the counter to move, in short
 * slices, so a reply posted between the drain and the wait is never missed.
 */
export const Slot = {
  /** One of {@link WorkerState}: the journal thread's. Written even from its exit handler. */
  WORKER_STATE: 0,
  /** Bumped by the journal thread on every turn of its loop; a value that stops moving means it is stuck. */
  HEARTBEAT: 1,
  /** Number of DuckDB calls in flight in the store thread; terminating it while > 0 aborts the process. */
  DUCKDB_CALLS: 2,
  /** Sequence number of the newest batch whose changes every party can find on its port. */
  COMMITTED_SEQ: 3,
  /** Bumped (then notified) by anyone who posted to the journal thread, so it wakes without an event loop. */
  DOORBELL: 4,
  /** Sequence number of the newest batch DuckDB has committed (the journal position it reflects). */
  APPLIED_SEQ: 5,
  /** One of {@link WorkerState}: the store thread's (the one that owns DuckDB). */
  STORE_STATE: 6,
  /** > 0 while the journal thread is inside a synchronous file operation: busy, not hung. */
  BUSY: 7,
  /** Set by the owner when it gives up on the journal thread: the store thread closes DuckDB and ends. */
  STOP_STORE: 8,
} as const;

const SLOT_COUNT = 9;

/** Index of the counter in a party's reply buffer. */
export const REPLY_SEQ = 0;

export const WorkerState = {
  STARTING: 0,
  RUNNING: 1,
  /** Shut down on request; DuckDB closed cleanly. */
  CLOSED: 2,
  /** Hit an uncaught error; it is closing down and will exit. */
  FAILED: 3,
  /** Its thread is gone (written from process.on('exit') in the worker). */
  EXITED: 4,
} as const;

export type WorkerState = (typeof WorkerState)[keyof typeof WorkerState];

/**
 * Test and bench hook: absolute timestamps (ms, `performance.timeOrigin + performance.now()`
 * of the thread that wrote them) of the last sync write's stages, in a Float64Array
 * passed as `Symbol.for('duckcat.trace')` in the open options.
 */
export const TraceField = {
  POSTED: 0,
  WOKE: 1,
  PLANNED: 2,
  WRITTEN: 3,
  SYNCED: 4,
  REPLIED: 5,
} as const;

/** How often an idle journal thread wakes to beat and to let its event loop run. */
export const HEARTBEAT_INTERVAL_MS = 50;

/** Length of one Atomics.wait slice, between liveness checks. */
export const WAIT_SLICE_MS = 50;

export function createCatalogSlots(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(SLOT_COUNT * Int32Array.BYTES_PER_ELEMENT));
}

export function createReplySlot(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
}

/** Called by the journal thread after posting a party's replies. */
export function wakeParty(reply: Int32Array): void {
  Atomics.add(reply, REPLY_SEQ, 1);
  Atomics.notify(reply, REPLY_SEQ);
}

/** Called by anyone after posting a message to the journal thread. */
export function ringDoorbell(slots: Int32Array): void {
  Atomics.add(slots, Slot.DOORBELL, 1);
  Atomics.notify(slots, Slot.DOORBELL);
}

/** Stamps one stage of the traced write, when tracing is on. */
export function stamp(trace: Float64Array | undefined, field: number): void {
  if (trace !== undefined) trace[field] = performance.timeOrigin + performance.now();
}
