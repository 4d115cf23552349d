import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { CatalogInvalidError, CatalogTimeoutError } from '../shared/errors.js';
import type { ClientInit, HelloMessage } from '../shared/protocol.js';
import { REPLY_SEQ, WAIT_SLICE_MS } from '../shared/slots.js';
import { CatalogView } from './catalog-view.js';
import { DefinitionMap } from './definition-map.js';
import { PortLink } from './port-link.js';

/**
 * The catalog as seen from another thread of the owning process (a worker_thread, a
 * piscina task): the same reads and writes as {@link Catalog}, through the owner's
 * writer worker. Reads see every write acknowledged on any thread before them.
 */
export class CatalogClient extends CatalogView {
  readonly #port: MessagePort;

  private constructor(path: string, port: MessagePort, link: PortLink, map: DefinitionMap, init: ClientInit) {
    super(path, link, map, init);
    this.#port = port;
  }

  /**
   * Builds a client from a port made by `catalog.port()` in the owning thread. Blocks
   * until the writer has sent the current rows (at most `timeoutMs`).
   * @throws {CatalogInvalidError} ERR_CATALOG_INVALID when `port` is not a fresh catalog port.
   * @throws {CatalogTimeoutError} ERR_CATALOG_TIMEOUT when the writer does not answer.
   */
  static fromPort(port: MessagePort): CatalogClient {
    const init = receiveMessageOnPort(port)?.message as ClientInit | undefined;
    if (init?.kind !== 'init') throw new CatalogInvalidError('port', 'is not an unused port from catalog.port()');
    const hello = waitForHello(port, init);
    let map: DefinitionMap | undefined;
    const link = new PortLink(port, init.slots, init.reply, init, hello.seq, (changes) => map?.applyChanges(changes.names, changes.jsons));
    map = DefinitionMap.fromColumns(hello.rows);
    return new CatalogClient(init.path, port, link, map, init);
  }

  /** Stops receiving changes and closes the port. The catalog itself stays open. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.markClosed();
    this.#port.close();
  }
}

function waitForHello(port: MessagePort, init: ClientInit): HelloMessage {
  const deadline = performance.now() + init.timeoutMs;
  for (;;) {
    const seen = Atomics.load(init.reply, REPLY_SEQ);
    const received = receiveMessageOnPort(port);
    if (received !== undefined) {
      const message = received.message as { kind: string };
      if (message.kind === 'hello') return message as HelloMessage;
      continue;
    }
    const left = deadline - performance.now();
    if (left <= 0) throw new CatalogTimeoutError(`the writer sent no rows within timeoutMs (${init.timeoutMs} ms)`);
    Atomics.wait(init.reply, REPLY_SEQ, seen, Math.min(WAIT_SLICE_MS, left));
  }
}
