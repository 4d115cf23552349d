import type { MessagePort } from 'node:worker_threads';
import { PortPartyBase } from './parties.js';

/**
 * A party of a writer that has an event loop (the PostgreSQL thread): its requests arrive
 * as 'message' events instead of being drained after a doorbell, so the thread never
 * sleeps in Atomics.wait and its sockets keep being served. Replies are still posted
 * first and then signalled on the party's reply counter, exactly as the journal thread does.
 */
export class EventParty extends PortPartyBase {
  constructor(port: MessagePort, reply: Int32Array, owner: boolean, onMessage: (party: EventParty, message: unknown) => void, onGone: (party: EventParty) => void) {
    super(port, reply, owner, owner);
    port.on('message', (message: unknown) => onMessage(this, message));
    port.on('close', () => {
      this.markGone();
      onGone(this);
    });
  }
}
