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
  #proceeded = false;

  /** @param beat Called while blocked, so a waiter on this thread still sees it alive. */
  constructor(port: MessagePort, slots: Int32Array, beat: () => void) {
    this.#port = port;
    this.#slots = slots;
    this.#beat = beat;
  }

  send(message: JournalToStore): void {
    this.#port.postMessage(message);
  }

  /**
   * Lets the store thread go on past DuckDB's position to loading its API (it waits for
   * this, so as not to compete for the CPU with the open's own work). Once is enough.
   */
  proceed(): void {
    if (this.#proceeded) return;
    this.#proceeded = true;
    this.send({ kind: 'proceed' });
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
        // Its own word on why, if it gave one (a close's error, or DuckDB failing late in its open).
        const said = this.#backlog.find((message) => (message.kind === 'closed' && message.error !== undefined) || message.kind === 'open-failed');
        throw said !== undefined && 'error' in said && said.error !== undefined
          ? fromWireError(said.error)
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
