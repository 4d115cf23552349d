import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { CatalogWriterExitedError } from '../shared/errors.js';
import type { JournalToStore, StoreToJournal } from '../shared/protocol.js';
import { blockUntil } from '../shared/blocking-wait.js';
import { HEARTBEAT_INTERVAL_MS, Slot, WorkerState } from '../shared/slots.js';
import { fromWireError } from '../shared/wire-error.js';

/**
 * The journal thread's end of the store thread. The journal thread has no event loop to
 * spare, so it reads the store's messages with receiveMessageOnPort; a blocking wait for
 * one kind keeps every other message for the loop, in order.
 */
export class StoreLink {
  readonly #port: MessagePort;
  readonly #slots: Int32Array;
  readonly #beat: () => void;
  readonly #backlog: StoreToJournal[] = [];

  /** @param beat Called while blocked, so a waiter on this thread still sees it alive. */
  constructor(port: MessagePort, slots: Int32Array, beat: () => void) {
    this.#port = port;
    this.#slots = slots;
    this.#beat = beat;
  }

  send(message: JournalToStore): void {
    this.#port.postMessage(message);
  }

  /** Every message received since the last call, oldest first. */
  take(): StoreToJournal[] {
    this.#receive();
    return this.#backlog.splice(0);
  }

  /** Whether the store thread has stopped without being asked to. */
  get failed(): boolean {
    const state = Atomics.load(this.#slots, Slot.STORE_STATE);
    if (state === WorkerState.FAILED || state === WorkerState.EXITED) return true;
    // Stopped by the owner (process.exit during open, an abandoned writer): nothing more will come.
    return state === WorkerState.CLOSED && Atomics.load(this.#slots, Slot.STOP_STORE) !== 0;
  }

  /**
   * Blocks until a message of one of `kinds` arrives (others stay queued for {@link take}).
   * @throws {CatalogWriterExitedError} when the store thread stops first.
   */
  waitFor<K extends StoreToJournal['kind']>(kinds: readonly K[], until = (_: Extract<StoreToJournal, { kind: K }>) => true): Extract<StoreToJournal, { kind: K }> {
    // The store thread's own liveness bounds this wait: it ends when the thread stops.
    return blockUntil(this.#slots, Slot.DOORBELL, () => {
      this.#receive();
      const at = this.#backlog.findIndex((message) => (kinds as readonly string[]).includes(message.kind) && until(message as Extract<StoreToJournal, { kind: K }>));
      if (at >= 0) return this.#backlog.splice(at, 1)[0] as Extract<StoreToJournal, { kind: K }>;
      if (this.failed) {
        const closed = this.#backlog.find((message) => message.kind === 'closed');
        throw closed?.kind === 'closed' && closed.error !== undefined
          ? fromWireError(closed.error)
          : new CatalogWriterExitedError('the store thread (DuckDB) stopped');
      }
      this.#beat();
      return undefined;
    }, Number.POSITIVE_INFINITY, HEARTBEAT_INTERVAL_MS)!;
  }

  /** Blocks while `busy()` holds, reading the store's messages meanwhile (see {@link waitFor}). */
  waitWhile(busy: (incoming: StoreToJournal[]) => boolean): void {
    blockUntil(this.#slots, Slot.DOORBELL, () => {
      this.#receive();
      if (!busy(this.#backlog)) return true;
      if (this.failed) throw new CatalogWriterExitedError('the store thread (DuckDB) stopped');
      this.#beat();
      return undefined;
    }, Number.POSITIVE_INFINITY, HEARTBEAT_INTERVAL_MS);
  }

  close(): void {
    this.#port.close();
  }

  #receive(): void {
    for (let received = receiveMessageOnPort(this.#port); received !== undefined; received = receiveMessageOnPort(this.#port)) {
      this.#backlog.push(received.message as StoreToJournal);
    }
  }
}
