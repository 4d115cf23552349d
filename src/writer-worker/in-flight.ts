import { Slot } from '../shared/slots.js';

/**
 * Counts DuckDB calls in flight in the shared slot and remembers the newest one, because
 * tearing the thread down while one runs aborts the whole process: shutdown must first
 * interrupt and await it.
 */
export class InFlight {
  #current: Promise<unknown> = Promise.resolve();

  readonly #slots: Int32Array;

  constructor(slots: Int32Array) {
    this.#slots = slots;
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    Atomics.add(this.#slots, Slot.DUCKDB_CALLS, 1);
    const promise = call();
    this.#current = promise.catch(() => undefined);
    try {
      return await promise;
    } finally {
      Atomics.sub(this.#slots, Slot.DUCKDB_CALLS, 1);
    }
  }

  /** Marks a synchronous DuckDB call (an appender flush) the same way. */
  runSync<T>(call: () => T): T {
    Atomics.add(this.#slots, Slot.DUCKDB_CALLS, 1);
    try {
      return call();
    } finally {
      Atomics.sub(this.#slots, Slot.DUCKDB_CALLS, 1);
    }
  }

  /** Resolves once the newest call has settled, whatever its outcome. */
  settled(): Promise<unknown> {
    return this.#current;
  }
}
