import type { MessagePort } from 'node:worker_threads';
import type { WorkerToMain } from '../shared/protocol.js';
import { wakeParty } from '../shared/slots.js';
import type { Party } from './parties.js';

/**
 * A party of a writer that has an event loop (the PostgreSQL thread): its requests arrive
 * as 'message' events instead of being drained after a doorbell, so the thread never
 * sleeps in Atomics.wait and its sockets keep being served. Replies are still posted
 * first and then signalled on the party's reply counter, exactly as the journal thread does.
 */
export class EventParty implements Party {
  readonly #port: MessagePort;
  readonly #reply: Int32Array;
  readonly owner: boolean;
  #gone = false;
  /** False for a client thread until it asks for its hello: no changes pile up on an unused port. */
  #listening: boolean;

  constructor(port: MessagePort, reply: Int32Array, owner: boolean, onMessage: (party: EventParty, message: unknown) => void, onGone: (party: EventParty) => void) {
    this.#port = port;
    this.#reply = reply;
    this.owner = owner;
    this.#listening = owner;
    port.on('message', (message: unknown) => onMessage(this, message));
    port.on('close', () => {
      this.#gone = true;
      onGone(this);
    });
  }

  get gone(): boolean {
    return this.#gone;
  }

  /** From now on the party receives every batch's changes. */
  listen(): void {
    this.#listening = true;
  }

  send(message: WorkerToMain): void {
    if (this.#gone) return;
    if (message.kind === 'changes' && !this.#listening) {
      if (message.replies !== undefined) this.#port.postMessage({ kind: 'replies', replies: message.replies });
      return;
    }
    this.#port.postMessage(message);
  }

  wake(): void {
    wakeParty(this.#reply);
  }

  close(): void {
    this.#gone = true;
    this.#port.close();
  }
}
