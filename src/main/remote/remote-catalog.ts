import { resolve as resolvePath } from 'node:path';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { CatalogInvalidError, CatalogTimeoutError } from '../../shared/errors.js';
import type { LinkConfig } from '../../shared/link-config.js';
import { CONNECT_OPTION_KEYS, resolveOptions, type ConnectOptions } from '../../shared/options.js';
import type { HelloMessage } from '../../shared/protocol.js';
import { Slot, WorkerState, createCatalogSlots, createReplySlot } from '../../shared/slots.js';
import { CatalogView, type ViewLimits } from '../catalog-view.js';
import { ChangeFeed } from '../change-events.js';
import { DefinitionMap } from '../definition-map.js';
import { firstMessage } from '../linked-worker.js';
import { PortLink } from '../port-link.js';
import { ownerGoneError, reachOwner } from './owner-socket.js';

const LINK_URL = new URL('./link-worker.js', import.meta.url);

/**
 * A catalog owned by another process, reached over its `<file>.sock`: the same reads and
 * writes as the owner, from a replica map fed by the owner's change stream.
 */
export class RemoteCatalog extends CatalogView {
  readonly #worker: Worker;
  readonly #port: MessagePort;

  private constructor(path: string, worker: Worker, port: MessagePort, link: PortLink, feed: ChangeFeed, limits: ViewLimits, ownerPid: number | undefined) {
    super(path, link, feed, limits, ownerPid);
    this.#worker = worker;
    this.#port = port;
  }

  /**
   * Connects to the process that owns `path`.
   * @throws {CatalogWriterExitedError} ERR_CATALOG_WRITER_EXITED when no owner serves the
   *   file (a socket left by a dead owner is removed).
   * @throws {CatalogLockedError} ERR_CATALOG_LOCKED with `holder: { pid, readOnly: true }`
   *   when no owner serves because another process holds the file read-only.
   * @throws {CatalogTimeoutError} ERR_CATALOG_TIMEOUT when the owner does not answer within `openTimeoutMs`.
   */
  static async connect(path: string, options?: ConnectOptions): Promise<RemoteCatalog> {
    const resolved = resolveOptions(options, CONNECT_OPTION_KEYS);
    if (typeof path !== 'string' || path.length === 0 || path === ':memory:') {
      throw new CatalogInvalidError('path', 'must be the path of a file-backed catalog');
    }
    const absolute = resolvePath(path);
    // Held until the hello: a path too long for connect() is reached through a descriptor.
    const socket = await reachOwner(absolute);
    const slots = createCatalogSlots();
    const reply = createReplySlot();
    const { port1, port2 } = new MessageChannel();
    const config: LinkConfig = { socketPath: socket.path, slots, reply, port: port2 };
    const worker = new Worker(LINK_URL, { workerData: config, transferList: [port2], execArgv: [] });
    try {
      const first = await firstMessage(port1, worker, resolved.openTimeoutMs);
      if (first.kind === 'timeout') throw new CatalogTimeoutError(`the owner of ${absolute} did not answer within openTimeoutMs (${resolved.openTimeoutMs} ms)`);
      const hello = first.kind === 'message' ? (first.message as HelloMessage) : undefined;
      if (hello?.kind !== 'hello') {
        // The link never got through: the owner is gone (its socket is removed if dead) or stuck.
        throw await ownerGoneError(absolute, Atomics.load(slots, Slot.WORKER_STATE) === WorkerState.RUNNING);
      }
      const feed = new ChangeFeed(new DefinitionMap());
      const link = new PortLink(port1, slots, reply, resolved, hello.seq, (changes) => feed.apply(changes));
      feed.map.load(hello.rows);
      worker.unref();
      // The owner's commit mode, not this process's default: the SQL functions' pool guard depends on it.
      const limits: ViewLimits = { ...resolved, commit: hello.commit ?? 'journal', remote: true };
      return new RemoteCatalog(absolute, worker, port1, link, feed, limits, hello.pid);
    } catch (error) {
      await worker.terminate();
      throw error;
    } finally {
      socket.close();
    }
  }

  /**
   * Disconnects: calls already sent finish, later ones throw ERR_CATALOG_CLOSED; the owner
   * and its catalog stay open. Idempotent.
   */
  override close(): Promise<void> {
    return super.close();
  }

  protected async shutDown(): Promise<void> {
    await this.link.settled();
    this.#port.close();
    // The link worker holds no DuckDB state, so ending it at once is safe.
    await this.#worker.terminate();
  }
}
