import { once } from 'node:events';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { CatalogClosedError, CatalogError, CatalogTimeoutError, CatalogWriterExitedError } from '../shared/errors.js';
import type { ResolvedOptions } from '../shared/options.js';
import type { ChangesMessage, ClientInit, MainToWorker, ReadyMessage, WorkerToMain, WriterConfig } from '../shared/protocol.js';
import { REPLY_SEQ, Slot, WAIT_SLICE_MS, WorkerState, createCatalogSlots, createReplySlot } from '../shared/slots.js';
import { fromWireError } from '../shared/wire-error.js';
import { guardAtExit, unguard, type ExitClosable } from './exit-guard.js';
import { PortLink } from './port-link.js';

const WORKER_URL = new URL('../writer-worker/index.js', import.meta.url);
const EXIT_CLOSE_MS = 2_000;

/**
 * The owning thread's end of the writer worker: a {@link PortLink} that also starts the
 * worker, watches its exit, hands out client ports and shuts it down in order.
 */
export class WriterLink extends PortLink implements ExitClosable {
  readonly #worker: Worker;
  readonly #options: ResolvedOptions;
  readonly #path: string;
  readonly #exited: Promise<unknown>;
  #closing: Promise<void> | undefined;
  #gone = false;

  private constructor(
    path: string,
    worker: Worker,
    port: MessagePort,
    slots: Int32Array,
    reply: Int32Array,
    options: ResolvedOptions,
    onChanges: (message: ChangesMessage) => void,
  ) {
    super(port, slots, reply, options, 0, onChanges);
    this.#worker = worker;
    this.#options = options;
    this.#path = path;
    this.#exited = once(worker, 'exit').then(([code]: unknown[]) => {
      this.#gone = true;
      this.fail(new CatalogWriterExitedError(`the writer worker exited with code ${String(code)}`));
    });
    worker.on('error', (error) => this.fail(new CatalogWriterExitedError(`the writer worker crashed: ${error.message}`, { cause: error })));
    worker.unref();
    guardAtExit(this);
  }

  /**
   * Starts a writer on `path` and waits until it has opened the file and read every row.
   * @throws {CatalogError} the writer's open error (LOCKED, STORAGE) or a timeout.
   */
  static async start(
    path: string,
    options: ResolvedOptions,
    onChanges: (message: ChangesMessage) => void,
  ): Promise<{ link: WriterLink; ready: ReadyMessage }> {
    const slots = createCatalogSlots();
    const reply = createReplySlot();
    const { port1, port2 } = new MessageChannel();
    const config: WriterConfig = {
      path,
      readOnly: options.readOnly,
      journal: options.journal,
      duckdbThreads: options.duckdbThreads,
      slots,
      reply,
      port: port2,
      ...(options.faults === undefined ? {} : { faults: options.faults }),
    };
    const worker = new Worker(WORKER_URL, { workerData: config, transferList: [port2] });
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), options.openTimeoutMs);
    try {
      const first = (await Promise.race([
        once(port1, 'message', { signal: abort.signal }),
        once(worker, 'exit', { signal: abort.signal }).then(([code]: unknown[]) => {
          // 'exit' may overtake the worker's last message: it still waits on the port.
          const last = receiveMessageOnPort(port1);
          if (last !== undefined) return [last.message];
          throw new CatalogWriterExitedError(`the writer worker exited with code ${String(code)} while opening ${path}`);
        }),
      ])) as [WorkerToMain];
      const message = first[0];
      if (message.kind === 'ready') return { link: new WriterLink(path, worker, port1, slots, reply, options, onChanges), ready: message };
      if (worker.threadId !== -1) await once(worker, 'exit');
      port1.close();
      throw message.kind === 'open-failed' ? fromWireError(message.error, path) : new CatalogWriterExitedError(`unexpected first message ${message.kind}`);
    } catch (error) {
      if (abort.signal.aborted) {
        await abandonWorker(worker, slots);
        throw new CatalogTimeoutError(`opening ${path} took longer than openTimeoutMs (${options.openTimeoutMs} ms)`);
      }
      throw error;
    } finally {
      abort.abort();
      clearTimeout(timer);
    }
  }

  /**
   * A new port into the writer for another thread: transfer it and build a CatalogClient
   * there. The first message on it carries what the client needs to wait on replies.
   */
  openClientPort(): MessagePort {
    const { port1, port2 } = new MessageChannel();
    const reply = createReplySlot();
    const init: ClientInit = {
      kind: 'init',
      slots: this.slots,
      reply,
      path: this.#path,
      readOnly: this.#options.readOnly,
      timeoutMs: this.#options.timeoutMs,
      hangTimeoutMs: this.#options.hangTimeoutMs,
      maxNameBytes: this.#options.maxNameBytes,
      maxDefinitionBytes: this.#options.maxDefinitionBytes,
    };
    port2.postMessage(init);
    const subscribe = { kind: 'subscribe', id: this.nextId(), port: port2, reply } satisfies MainToWorker;
    this.port.postMessage(subscribe, [port2]);
    return port1;
  }

  /**
   * Asks the writer to finish queued writes and close DuckDB, then waits for the thread to end.
   * Safe to call repeatedly and after a failure.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  closeAtExit(): void {
    if (this.#gone || Atomics.load(this.slots, Slot.WORKER_STATE) !== WorkerState.RUNNING) return;
    this.port.postMessage({ kind: 'close', id: this.nextId() } satisfies MainToWorker);
    const deadline = performance.now() + EXIT_CLOSE_MS;
    for (;;) {
      const seen = Atomics.load(this.reply, REPLY_SEQ);
      const state = Atomics.load(this.slots, Slot.WORKER_STATE);
      if (state !== WorkerState.RUNNING && Atomics.load(this.slots, Slot.DUCKDB_CALLS) === 0) return;
      const left = deadline - performance.now();
      if (left <= 0) return;
      Atomics.wait(this.reply, REPLY_SEQ, seen, Math.min(WAIT_SLICE_MS, left));
    }
  }

  // Close's own request may see the worker reach CLOSED before its reply is read; any
  // other problem (a hung or dead writer) must still fail it, or close() would never settle.
  protected override shouldFailOn(problem: CatalogError): boolean {
    return this.#closing === undefined || !(problem instanceof CatalogClosedError);
  }

  protected override fail(error: CatalogError): void {
    if (this.#closing !== undefined && !this.hasPending) return;
    super.fail(error);
  }

  async #shutDown(): Promise<void> {
    let closeError: unknown;
    if (this.failure === undefined) {
      try {
        const reply = await this.call({ kind: 'close' });
        if (!reply.ok) closeError = fromWireError(reply.error);
      } catch (error) {
        closeError = error;
      }
    }
    // A ref'd timer: the worker is unref'd, and an awaited close must not let the process
    // exit before the thread has ended.
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([
      this.#exited.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(resolve, this.#options.timeoutMs, false);
      }),
    ]);
    clearTimeout(timer);
    if (!exited) await abandonWorker(this.#worker, this.slots);
    unguard(this);
    this.stopWatchdog();
    this.port.close();
    if (closeError !== undefined && !(closeError instanceof CatalogError && closeError === this.failure)) throw closeError;
  }
}

// A worker that will not end: terminate it only when no DuckDB call is in flight,
// because that would abort the process; otherwise leave it unref'd.
async function abandonWorker(worker: Worker, slots: Int32Array): Promise<void> {
  if (Atomics.load(slots, Slot.DUCKDB_CALLS) === 0) await worker.terminate();
  else worker.unref();
}
