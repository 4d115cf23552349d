import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { WorkerToMain } from '../shared/protocol.js';
import { wakeParty } from '../shared/slots.js';

/** Someone the writer answers: the owning Catalog, a CatalogClient thread, or a remote process. */
export interface Party {
  send(message: WorkerToMain): void;
  /** Tells a thread blocked on a reply to look at its port. */
  wake(): void;
  close(): void;
}

/**
 * A party reached over a MessagePort with an Atomics reply counter: what the journal thread
 * and the PostgreSQL thread share. Subclasses decide how requests are read.
 */
export abstract class PortPartyBase implements Party {
  protected readonly port: MessagePort;
  readonly #reply: Int32Array;
  /** The owning Catalog: the only party that may close the catalog or add parties. */
  readonly owner: boolean;
  #gone = false;
  /** False for a client thread until it asks for its hello: no changes pile up on an unused port. */
  #listening: boolean;

  protected constructor(port: MessagePort, reply: Int32Array, owner: boolean, listening: boolean) {
    this.port = port;
    this.#reply = reply;
    this.owner = owner;
    this.#listening = listening;
  }

  get gone(): boolean {
    return this.#gone;
  }

  protected markGone(): void {
    this.#gone = true;
  }

  /** From now on the party receives every batch's changes. */
  listen(): void {
    this.#listening = true;
  }

  send(message: WorkerToMain): void {
    if (this.#gone) return;
    if (message.kind === 'changes' && !this.#listening) {
      if (message.replies !== undefined) this.port.postMessage({ kind: 'replies', replies: message.replies });
      return;
    }
    this.port.postMessage(message);
  }

  wake(): void {
    wakeParty(this.#reply);
  }

  close(): void {
    this.#gone = true;
    this.port.close();
  }
}

/**
 * A party of the journal thread. Its requests are read with receiveMessageOnPort; the
 * port's 'close' event (delivered while the journal thread lets its event loop turn)
 * marks it gone.
 */
export class PortParty extends PortPartyBase {
  /** Another process, reached through the store thread's socket bridge. */
  readonly remote: boolean;

  constructor(port: MessagePort, reply: Int32Array, owner: boolean, options: { remote?: boolean; listening?: boolean } = {}) {
    super(port, reply, owner, options.listening ?? true);
    this.remote = options.remote ?? false;
    port.on('close', () => this.markGone());
  }

  /** Every request this party has sent since the last call. */
  receive(): unknown[] {
    const messages: unknown[] = [];
    for (let received = receiveMessageOnPort(this.port); received !== undefined; received = receiveMessageOnPort(this.port)) {
      messages.push(received.message);
    }
    return messages;
  }
}

/** Everyone who receives the change stream. */
export class Parties<P extends Party = Party> {
  readonly #all = new Set<P>();

  get size(): number {
    return this.#all.size;
  }

  [Symbol.iterator](): IterableIterator<P> {
    return this.#all.values();
  }

  has(party: P): boolean {
    return this.#all.has(party);
  }

  add(party: P): void {
    this.#all.add(party);
  }

  delete(party: P): void {
    this.#all.delete(party);
  }

  broadcast(message: WorkerToMain): void {
    for (const party of this.#all) party.send(message);
  }

  wakeAll(): void {
    for (const party of this.#all) party.wake();
  }

  closeAll(): void {
    for (const party of this.#all) party.close();
    this.#all.clear();
  }
}
