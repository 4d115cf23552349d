import type { MessagePort } from 'node:worker_threads';

/**
 * What `Catalog.connect` hands its link worker (the thread that bridges a connecting
 * process to the owner's `<file>.sock`).
 */
export interface LinkConfig {
  /** Where to connect: `<file>.sock`, or a short alias of it (see socket-address.ts) that the connecting thread keeps valid until the hello. */
  readonly socketPath: string;
  /** The catalog slots ({@link Slot}) the connecting thread's sync calls watch. */
  readonly slots: Int32Array;
  /** The connecting party's reply counter. */
  readonly reply: Int32Array;
  /** The connecting thread's end of the link. */
  readonly port: MessagePort;
}
