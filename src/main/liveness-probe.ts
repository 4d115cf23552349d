import { CatalogClosedError, CatalogTimeoutError, CatalogWriterExitedError, type CatalogError } from '../shared/errors.js';
import { Slot, WorkerState } from '../shared/slots.js';

/**
 * Longest gap between two looks of one wait that still counts as this thread running. A
 * waiter looks every WAIT_SLICE_MS (50 ms); a longer gap means this thread, and most likely
 * the whole process, was not running: SIGSTOP, a debugger, a VM or container pause, a long
 * GC pause, swapping. The writer could not beat during it either.
 */
const PAUSE_GAP_MS = 1_000;

/**
 * Judges from the shared slots alone whether the writer can still answer. It needs no
 * event loop, so a main thread blocked in Atomics.wait can use it between slices.
 *
 * Only silence the writer could have filled counts against it: a gap in the waiter's own
 * timeline (the process was paused) restarts the heartbeat clock after the pause, and is
 * left out of the time a call has waited ({@link pausedMs}).
 */
export class LivenessProbe {
  readonly #slots: Int32Array;
  readonly #hangTimeoutMs: number;
  readonly #pauseGapMs: number;
  #lastBeat = -1;
  #beatSeenAt = 0;
  #lastLook: number | undefined;
  #pausedMs = 0;

  constructor(slots: Int32Array, hangTimeoutMs: number) {
    this.#slots = slots;
    this.#hangTimeoutMs = hangTimeoutMs;
    this.#pauseGapMs = Math.min(PAUSE_GAP_MS, hangTimeoutMs / 2);
  }

  /**
   * Total time, in ms, this thread was seen paused while waiting. A caller's deadline
   * subtracts the part of it that fell inside its wait.
   */
  get pausedMs(): number {
    return this.#pausedMs;
  }

  /**
   * Marks the start of a wait. Silence before it proves nothing (the process may have been
   * paused while idle): the writer's heartbeat is judged from now on.
   */
  startWaiting(now: number): void {
    if (this.#lastLook !== undefined) return;
    this.#lastLook = now;
    this.#lastBeat = Atomics.load(this.#slots, Slot.HEARTBEAT);
    this.#beatSeenAt = now;
  }

  /** Marks the end of every wait: the next look starts afresh. */
  stopWaiting(): void {
    this.#lastLook = undefined;
  }

  /** Returns why the writer cannot answer, or undefined while it looks alive. */
  check(now: number): CatalogError | undefined {
    const state = Atomics.load(this.#slots, Slot.WORKER_STATE);
    if (state === WorkerState.CLOSED) return new CatalogClosedError('the catalog was closed by its owner');
    if (state === WorkerState.FAILED || state === WorkerState.EXITED) {
      return new CatalogWriterExitedError(`the writer worker is gone (state ${stateName(state)})`);
    }
    const gap = this.#lastLook === undefined ? 0 : now - this.#lastLook;
    this.#lastLook = now;
    const paused = gap > this.#pauseGapMs;
    if (paused) this.#pausedMs += gap;
    const beat = Atomics.load(this.#slots, Slot.HEARTBEAT);
    // Inside a slow fsync the writer cannot beat, but it is working: the deadline still
    // applies. After a pause, it gets a full hangTimeoutMs to run again before it is judged.
    if (paused || beat !== this.#lastBeat || Atomics.load(this.#slots, Slot.BUSY) > 0) {
      this.#lastBeat = beat;
      this.#beatSeenAt = now;
      return undefined;
    }
    if (now - this.#beatSeenAt > this.#hangTimeoutMs) {
      return new CatalogTimeoutError(
        `the writer worker stopped responding: no heartbeat for ${Math.round(now - this.#beatSeenAt)} ms (hangTimeoutMs ${this.#hangTimeoutMs})`,
      );
    }
    return undefined;
  }
}

function stateName(state: number): string {
  for (const [name, value] of Object.entries(WorkerState)) if (value === state) return name.toLowerCase();
  return String(state);
}
