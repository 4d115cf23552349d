import type { MessagePort } from 'node:worker_threads';
import type { WorkerToMain } from '../shared/protocol.js';
import { wakeParty } from '../shared/slots.js';

/** Someone the writer answers: the owning Catalog, a CatalogClient thread, or a remote process. */
export interface Party {
  send(message: WorkerToMain): void;
  /** Tells a thread blocked on a reply to look at its port. */
  wake(): void;
  close(): void;
}

/** A party in this process, reached over a MessagePort with an Atomics reply counter. */
export function portParty(port: MessagePort, reply: Int32Array, onMessage: (message: unknown) => void, onClose: () => void): Party {
  port.on('message', onMessage);
  // A client that closes its port (or whose thread ends) stops receiving changes.
  port.on('close', onClose);
  return {
    send: (message) => port.postMessage(message),
    wake: () => wakeParty(reply),
    close: () => port.close(),
  };
}

/** Everyone who receives the change stream. */
export class Parties {
  readonly #all = new Set<Party>();

  get size(): number {
    return this.#all.size;
  }

  add(party: Party): void {
    this.#all.add(party);
  }

  delete(party: Party): void {
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
