import { CatalogClosedError, CatalogTimeoutError, CatalogWriterExitedError, type CatalogError } from '../shared/errors.js';
import { Slot, WorkerState } from '../shared/slots.js';

/**
 * Judges from the shared slots alone whether the writer can still answer. It needs no
 * event loop, so a main thread blocked in Atomics.wait can use it between slices.
 */
export class LivenessProbe {
  readonly #slots: Int32Array;
  readonly #hangTimeoutMs: number;
  #lastBeat = -1;
  #beatSeenAt = 0;

  constructor(slots: Int32Array, hangTimeoutMs: number) {
    this.#slots = slots;
    this.#hangTimeoutMs = hangTimeoutMs;
  }

  /** Returns why the writer cannot answer, or undefined while it looks alive. */
  check(now: number): CatalogError | undefined {
    const state = Atomics.load(this.#slots, Slot.WORKER_STATE);
    if (state === WorkerState.CLOSED) return new CatalogClosedError('the catalog was closed by its owner');
    if (state === WorkerState.FAILED || state === WorkerState.EXITED) {
      return new CatalogWriterExitedError(`the writer worker is gone (state ${stateName(state)})`);
    }
    const beat = Atomics.load(this.#slots, Slot.HEARTBEAT);
    // Inside a slow fsync the writer cannot beat, but it is working: the deadline still applies.
    if (beat !== this.#lastBeat || Atomics.load(this.#slots, Slot.BUSY) > 0) {
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
