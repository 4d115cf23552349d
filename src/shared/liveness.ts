import { Slot, WorkerState } from './slots.js';

/**
 * What other threads can see of the journal thread without its event loop: a heartbeat it
 * bumps on every turn of its loop (and at least every HEARTBEAT_INTERVAL_MS while idle or
 * waiting), and a state word that is set even on the way out.
 */
export class Liveness {
  readonly #slots: Int32Array;
  readonly #wakeAll: () => void;

  /** @param wakeAll Wakes every thread waiting on a reply, so it notices a state change. */
  constructor(slots: Int32Array, wakeAll: () => void) {
    this.#slots = slots;
    this.#wakeAll = wakeAll;
    // A clean close stays CLOSED, so clients report ERR_CATALOG_CLOSED, not a crash.
    process.on('exit', () => {
      if (Atomics.load(slots, Slot.WORKER_STATE) !== WorkerState.CLOSED) this.set(WorkerState.EXITED);
    });
  }

  beat(): void {
    Atomics.add(this.#slots, Slot.HEARTBEAT, 1);
  }

  set(state: WorkerState): void {
    Atomics.store(this.#slots, Slot.WORKER_STATE, state);
    this.#wakeAll();
  }

  /** Publishes that every party's port now holds the changes of batch `seq`. */
  committed(seq: number): void {
    Atomics.store(this.#slots, Slot.COMMITTED_SEQ, seq);
  }
}
