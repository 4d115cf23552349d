import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { blockUntil } from '../shared/blocking-wait.js';
import { CatalogInvalidError, CatalogTimeoutError } from '../shared/errors.js';
import type { ClientInit, ClientToWorker, HelloMessage } from '../shared/protocol.js';
import { REPLY_SEQ, ringDoorbell } from '../shared/slots.js';
import { CatalogView } from './catalog-view.js';
import { ChangeFeed } from './change-events.js';
import { DefinitionMap } from './definition-map.js';
import { PortLink } from './port-link.js';

/** This thread's client per open catalog (by `ClientInit.catalogId`), for {@link CatalogClient.forThread}. */
const threadClients = new Map<string, CatalogClient>();

/**
 * The catalog as seen from another thread of the owning process (a worker_thread, a
 * piscina task): the same reads and writes as {@link Catalog}, through the owner's
 * writer. Reads see every write acknowledged on any thread before them.
 */
export class CatalogClient extends CatalogView {
  readonly #port: MessagePort;
  readonly #init: ClientInit;

  private constructor(port: MessagePort, link: PortLink, feed: ChangeFeed, init: ClientInit) {
    // The owner is this very process.
    super(init.path, link, feed, init, process.pid);
    this.#port = port;
    this.#init = init;
  }

  /**
   * Builds a client from a port made by `catalog.port()` in the owning thread. Blocks
   * until the writer has sent the current rows (at most `timeoutMs`). Each client is a
   * party of the writer until it is closed: in a thread that runs many tasks (a piscina
   * worker), use {@link forThread} instead.
   * @throws {CatalogInvalidError} ERR_CATALOG_INVALID when `port` is not a fresh catalog port.
   * @throws {CatalogTimeoutError} ERR_CATALOG_TIMEOUT when the writer does not answer.
   */
  static fromPort(port: MessagePort): CatalogClient {
    return CatalogClient.#build(port, readInit(port));
  }

  /**
   * This thread's one client of the catalog `port` belongs to: built from `port` the first
   * time, and reused by every later call in the same thread, whose port is handed back to
   * the writer at once (it costs the writer nothing). The pattern for thread pools: each
   * task gets a fresh `catalog.port()`, and a thread serves all its tasks with one client,
   * which lives until the thread ends. Do not close it per task.
   * @throws see {@link fromPort}.
   */
  static forThread(port: MessagePort): CatalogClient {
    const init = readInit(port);
    const existing = threadClients.get(init.catalogId);
    if (existing !== undefined && existing.connected) {
      release(port, init);
      return existing;
    }
    const client = CatalogClient.#build(port, init);
    threadClients.set(init.catalogId, client);
    return client;
  }

  /** Asks the writer for its rows (the port's party starts receiving changes then) and waits for them. */
  static #build(port: MessagePort, init: ClientInit): CatalogClient {
    send(port, init, { kind: 'hello', id: 0 });
    const hello = waitForHello(port, init);
    const feed = new ChangeFeed(new DefinitionMap());
    const link = new PortLink(port, init.slots, init.reply, init, hello.seq, (changes) => feed.apply(changes));
    feed.map.load(hello.rows);
    return new CatalogClient(port, link, feed, init);
  }

  /**
   * Stops this client: calls already sent finish, later ones throw ERR_CATALOG_CLOSED; the
   * writer forgets it and its port closes. The catalog itself stays open. Idempotent.
   */
  override close(): Promise<void> {
    return super.close();
  }

  protected async shutDown(): Promise<void> {
    if (threadClients.get(this.#init.catalogId) === this) threadClients.delete(this.#init.catalogId);
    await this.link.settled();
    release(this.#port, this.#init);
  }
}

function readInit(port: MessagePort): ClientInit {
  const init = receiveMessageOnPort(port)?.message as ClientInit | undefined;
  if (init?.kind !== 'init') throw new CatalogInvalidError('port', 'is not an unused port from catalog.port()');
  return init;
}

function send(port: MessagePort, init: ClientInit, request: ClientToWorker): void {
  port.postMessage(request);
  ringDoorbell(init.slots);
}

/** Hands an unused port back: the writer drops its party at once. */
function release(port: MessagePort, init: ClientInit): void {
  send(port, init, { kind: 'leave', id: 0 });
  port.close();
}

function waitForHello(port: MessagePort, init: ClientInit): HelloMessage {
  const hello = blockUntil(init.reply, REPLY_SEQ, () => {
    for (let received = receiveMessageOnPort(port); received !== undefined; received = receiveMessageOnPort(port)) {
      const message = received.message as { kind: string };
      if (message.kind === 'hello') return message as HelloMessage;
    }
    return undefined;
  }, performance.now() + init.timeoutMs);
  if (hello === undefined) throw new CatalogTimeoutError(`the writer sent no rows within timeoutMs (${init.timeoutMs} ms)`);
  return hello;
}
