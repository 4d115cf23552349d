import type { MessagePort } from 'node:worker_threads';
import type { WorkerToMain } from '../shared/protocol.js';
import { wakeParty } from '../shared/slots.js';

/** A thread the writer answers: the owning Catalog, or a CatalogClient. */
export interface Party {
  readonly port: MessagePort;
  readonly reply: Int32Array;
  readonly owner: boolean;
}

/** Everyone who receives the change stream. */
export class Parties {
  readonly #all = new Set<Party>();

  add(party: Party, onMessage: (message: unknown) => void): void {
    this.#all.add(party);
    party.port.on('message', onMessage);
    // A client that closes its port (or whose thread ends) stops receiving changes.
    party.port.on('close', () => this.#all.delete(party));
  }

  send(party: Party, message: WorkerToMain): void {
    party.port.postMessage(message);
  }

  broadcast(message: WorkerToMain): void {
    for (const party of this.#all) party.port.postMessage(message);
  }

  wakeAll(): void {
    for (const party of this.#all) wakeParty(party.reply);
  }

  closeAll(): void {
    for (const party of this.#all) party.port.close();
    this.#all.clear();
  }
}
