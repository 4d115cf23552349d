import { once } from 'node:events';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import {
  CatalogError,
  CatalogTimeoutError,
  CatalogWriterExitedError,
} from '../shared/errors.js';
import type { ResolvedOptions } from '../shared/options.js';
import type { MainToWorker, ReadyMessage, Reply, WorkerToMain, WriterConfig } from '../shared/protocol.js';
import { Slot, WAIT_SLICE_MS, WorkerState, createSlots } from '../shared/slots.js';
import { fromWireError } from '../shared/wire-error.js';
import { guardAtExit, unguard, type ExitClosable } from './exit-guard.js';
import { LivenessProbe } from './liveness-probe.js';

/** A request before the link gives it its id. */
export type Outgoing = DistributiveOmit<MainToWorker, 'id'>;
type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

/** Called in reply order, as each reply arrives, whether a sync or an async caller waits for it. */
export type OnReply = (reply: Reply) => void;

interface Pending {
  readonly onReply: OnReply;
  readonly deadline: number;
  readonly async: boolean;
  resolve?: (reply: Reply) => void;
  reject?: (error: CatalogError) => void;
  reply?: Reply;
  /** The caller already got an error; a late reply still updates state but answers nobody. */
  abandoned: boolean;
}

const WORKER_URL = new URL('../writer-worker/index.js', import.meta.url);
const EXIT_CLOSE_MS = 2_000;

/**
 * The main thread's end of the writer worker: ids, replies, deadlines, liveness.
 * Any timeout or worker death poisons the link: the waiting caller and every later call
 * get that error, and the catalog must be reopened.
 */
export class WriterLink implements ExitClosable {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #slots: Int32Array;
  readonly #options: ResolvedOptions;
  readonly #probe: LivenessProbe;
  readonly #pending = new Map<number, Pending>();
  readonly #exited: Promise<unknown>;
  #asyncCount = 0;
  #nextId = 1;
  #failure: CatalogError | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #gone = false;

  private constructor(worker: Worker, port: MessagePort, slots: Int32Array, options: ResolvedOptions) {
    this.#worker = worker;
    this.#port = port;
    this.#slots = slots;
    this.#options = options;
    this.#probe = new LivenessProbe(slots, options.hangTimeoutMs);
    this.#exited = once(worker, 'exit').then(([code]: unknown[]) => {
      this.#gone = true;
      this.#fail(new CatalogWriterExitedError(`the writer worker exited with code ${String(code)}`));
    });
    worker.on('error', (error) => this.#fail(new CatalogWriterExitedError(`the writer worker crashed: ${error.message}`, { cause: error })));
    port.on('message', (message: WorkerToMain) => this.#dispatch(message));
    port.unref();
    worker.unref();
    guardAtExit(this);
  }

  /**
   * Starts a writer on `path` and waits until it has opened the file and read every row.
   * @throws {CatalogError} the writer's open error (LOCKED, STORAGE) or a timeout.
   */
  static async start(path: string, options: ResolvedOptions): Promise<{ link: WriterLink; ready: ReadyMessage }> {
    const slots = createSlots();
    const { port1, port2 } = new MessageChannel();
    const config: WriterConfig = {
      path,
      readOnly: options.readOnly,
      journal: options.journal,
      duckdbThreads: options.duckdbThreads,
      slots,
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
      if (message.kind === 'ready') return { link: new WriterLink(worker, port1, slots, options), ready: message };
      if (worker.threadId !== -1) await once(worker, 'exit');
      port1.close();
      throw message.kind === 'open-failed' ? fromWireError(message.error, path) : new CatalogWriterExitedError(`unexpected first message ${message.kind}`);
    } catch (error) {
      if (abort.signal.aborted) {
        await WriterLink.#abandonWorker(worker, slots);
        throw new CatalogTimeoutError(`opening ${path} took longer than openTimeoutMs (${options.openTimeoutMs} ms)`);
      }
      throw error;
    } finally {
      abort.abort();
      clearTimeout(timer);
    }
  }

  /** The error that poisoned this link, if any. */
  get failure(): CatalogError | undefined {
    return this.#failure;
  }

  /**
   * Sends a request and blocks this thread until its reply, the deadline or the writer's death.
   * @throws {CatalogError} ERR_CATALOG_TIMEOUT or ERR_CATALOG_WRITER_EXITED (the link is then poisoned).
   */
  callSync(outgoing: Outgoing, onReply: OnReply): Reply {
    const started = performance.now();
    const pending = this.#post(outgoing, onReply, started, false);
    for (;;) {
      const seen = Atomics.load(this.#slots, Slot.REPLY_SEQ);
      this.#drain();
      if (pending.reply !== undefined) return pending.reply;
      const now = performance.now();
      const problem = this.#failure ?? this.#probe.check(now) ?? this.#deadlineError(pending, now, started);
      if (problem !== undefined) {
        // The reply may have been posted just before the worker stopped: look once more.
        this.#drain();
        if (pending.reply !== undefined) return pending.reply;
        pending.abandoned = true;
        this.#fail(problem);
        throw this.#failure ?? problem;
      }
      Atomics.wait(this.#slots, Slot.REPLY_SEQ, seen, Math.min(WAIT_SLICE_MS, pending.deadline - now));
    }
  }

  /** Sends a request; the promise settles with its reply or rejects like {@link callSync} throws. */
  call(outgoing: Outgoing, onReply: OnReply): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const pending = this.#post(outgoing, onReply, performance.now(), true);
      pending.resolve = resolve;
      pending.reject = reject;
      if (this.#asyncCount++ === 0) {
        this.#port.ref();
        this.#watchdog = setInterval(() => this.#watch(), WAIT_SLICE_MS).unref();
      }
    });
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
    if (this.#gone || Atomics.load(this.#slots, Slot.WORKER_STATE) !== WorkerState.RUNNING) return;
    this.#port.postMessage({ kind: 'close', id: this.#nextId++ } satisfies MainToWorker);
    const deadline = performance.now() + EXIT_CLOSE_MS;
    for (;;) {
      const seen = Atomics.load(this.#slots, Slot.REPLY_SEQ);
      const state = Atomics.load(this.#slots, Slot.WORKER_STATE);
      if (state !== WorkerState.RUNNING && Atomics.load(this.#slots, Slot.DUCKDB_CALLS) === 0) return;
      const left = deadline - performance.now();
      if (left <= 0) return;
      Atomics.wait(this.#slots, Slot.REPLY_SEQ, seen, Math.min(WAIT_SLICE_MS, left));
    }
  }

  async #shutDown(): Promise<void> {
    let closeError: unknown;
    if (this.#failure === undefined) {
      try {
        const reply = await this.call({ kind: 'close' }, () => undefined);
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
    if (!exited) await WriterLink.#abandonWorker(this.#worker, this.#slots);
    unguard(this);
    this.#stopWatchdog();
    this.#port.close();
    if (closeError !== undefined && !(closeError instanceof CatalogError && closeError === this.#failure)) throw closeError;
  }

  // A worker that will not end: terminate it only when no DuckDB call is in flight,
  // because that would abort the process; otherwise leave it unref'd.
  static async #abandonWorker(worker: Worker, slots: Int32Array): Promise<void> {
    if (Atomics.load(slots, Slot.DUCKDB_CALLS) === 0) await worker.terminate();
    else worker.unref();
  }

  #post(outgoing: Outgoing, onReply: OnReply, now: number, isAsync: boolean): Pending {
    if (this.#failure !== undefined) throw this.#failure;
    const id = this.#nextId++;
    const pending: Pending = { onReply, deadline: now + this.#options.timeoutMs, async: isAsync, abandoned: false };
    this.#pending.set(id, pending);
    this.#port.postMessage({ ...outgoing, id } as MainToWorker);
    return pending;
  }

  #drain(): void {
    for (let received = receiveMessageOnPort(this.#port); received !== undefined; received = receiveMessageOnPort(this.#port)) {
      this.#dispatch(received.message as WorkerToMain);
    }
  }

  #dispatch(message: WorkerToMain): void {
    if (message.kind === 'fatal') {
      this.#fail(fromWireError(message.error));
      return;
    }
    if (message.kind !== 'reply') return;
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    this.#pending.delete(message.id);
    pending.onReply(message);
    if (pending.abandoned) return;
    pending.reply = message;
    if (pending.async) {
      this.#asyncDone();
      pending.resolve?.(message);
    }
  }

  #watch(): void {
    const now = performance.now();
    let problem = this.#probe.check(now);
    for (const pending of this.#pending.values()) {
      if (problem !== undefined) break;
      if (pending.async && !pending.abandoned && now > pending.deadline) {
        problem = new CatalogTimeoutError(`the writer did not answer within timeoutMs (${this.#options.timeoutMs} ms)`);
      }
    }
    // Close's own request may see the worker reach CLOSED before its reply is read.
    if (problem !== undefined && this.#closing === undefined) this.#fail(problem);
  }

  #deadlineError(pending: Pending, now: number, started: number): CatalogError | undefined {
    if (now < pending.deadline) return undefined;
    return new CatalogTimeoutError(`the writer did not answer within timeoutMs (${this.#options.timeoutMs} ms, waited ${Math.round(now - started)} ms)`);
  }

  #fail(error: CatalogError): void {
    if (this.#failure !== undefined) return;
    if (this.#closing !== undefined && this.#pending.size === 0) return;
    this.#failure = error;
    for (const pending of this.#pending.values()) {
      if (pending.abandoned) continue;
      pending.abandoned = true;
      if (pending.async) {
        this.#asyncDone();
        pending.reject?.(error);
      }
    }
  }

  #asyncDone(): void {
    if (--this.#asyncCount === 0) {
      this.#port.unref();
      this.#stopWatchdog();
    }
  }

  #stopWatchdog(): void {
    if (this.#watchdog !== undefined) clearInterval(this.#watchdog);
    this.#watchdog = undefined;
  }
}
