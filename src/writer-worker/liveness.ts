import { HEARTBEAT_INTERVAL_MS, Slot, WorkerState } from '../shared/slots.js';

/**
 * What other threads can see of this one without its event loop: a heartbeat that moves
 * while the worker's loop turns, and a state word that is set even on the way out.
 */
export class Liveness {
  readonly #beat: NodeJS.Timeout;
  readonly #slots: Int32Array;
  readonly #wakeAll: () => void;

  /** @param wakeAll Wakes every thread waiting on a reply, so it notices a state change. */
  constructor(slots: Int32Array, wakeAll: () => void) {
    this.#slots = slots;
    this.#wakeAll = wakeAll;
    // unref'd: the heartbeat alone must never keep the worker alive.
    this.#beat = setInterval(() => Atomics.add(slots, Slot.HEARTBEAT, 1), HEARTBEAT_INTERVAL_MS).unref();
    // A clean close stays CLOSED, so clients report ERR_CATALOG_CLOSED, not a crash.
    process.on('exit', () => {
      if (Atomics.load(slots, Slot.WORKER_STATE) !== WorkerState.CLOSED) this.set(WorkerState.EXITED);
    });
  }

  set(state: WorkerState): void {
    Atomics.store(this.#slots, Slot.WORKER_STATE, state);
    this.#wakeAll();
  }

  /** Publishes that every party's port now holds the changes of batch `seq`. */
  committed(seq: number): void {
    Atomics.store(this.#slots, Slot.COMMITTED_SEQ, seq);
  }

  stop(): void {
    clearInterval(this.#beat);
  }
}
