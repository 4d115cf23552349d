import { HEARTBEAT_INTERVAL_MS, Slot, WorkerState } from '../shared/slots.js';

/**
 * What the main thread can see of this thread without its event loop: a heartbeat that
 * moves while the worker's loop turns, and a state word that is set even on the way out.
 */
export class Liveness {
  readonly #beat: NodeJS.Timeout;

  readonly #slots: Int32Array;

  constructor(slots: Int32Array) {
    this.#slots = slots;
    // unref'd: the heartbeat alone must never keep the worker alive.
    this.#beat = setInterval(() => Atomics.add(slots, Slot.HEARTBEAT, 1), HEARTBEAT_INTERVAL_MS).unref();
    process.on('exit', () => this.set(WorkerState.EXITED));
  }

  /** Publishes a new state and wakes any main-thread waiter. */
  set(state: WorkerState): void {
    Atomics.store(this.#slots, Slot.WORKER_STATE, state);
    this.wake();
  }

  get(): number {
    return Atomics.load(this.#slots, Slot.WORKER_STATE);
  }

  /** Called after replies were posted, so a waiter that sees the bump finds them on its port. */
  wake(): void {
    Atomics.add(this.#slots, Slot.REPLY_SEQ, 1);
    Atomics.notify(this.#slots, Slot.REPLY_SEQ);
  }

  stop(): void {
    clearInterval(this.#beat);
  }
}
