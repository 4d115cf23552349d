import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { blockUntil } from '../shared/blocking-wait.js';
import { CatalogClosedError, CatalogError, CatalogTimeoutError, CatalogWriterExitedError } from '../shared/errors.js';
import type { ResolvedOptions } from '../shared/options.js';
import type { ResolvedPgSettings } from '../shared/pg-options.js';
import type { PgThreadConfig } from '../shared/pg-thread-config.js';
import type { AckPoint, ChangesMessage, ClientInit, JournalThreadConfig, MainToWorker, ReadyMessage, StoreThreadConfig, WorkerToMain } from '../shared/protocol.js';
import { REPLY_SEQ, Slot, WorkerState, createCatalogSlots, createReplySlot, ringDoorbell } from '../shared/slots.js';
import { fromWireError } from '../shared/wire-error.js';
import { guardAtExit, unguard, type ExitClosable } from './exit-guard.js';
import { firstMessage } from './linked-worker.js';
import { PortLink } from './port-link.js';

const JOURNAL_URL = new URL('../writer-worker/journal-thread.js', import.meta.url);
const STORE_URL = new URL('../writer-worker/store-thread.js', import.meta.url);
const PG_URL = new URL('../writer-worker/pg-thread.js', import.meta.url);
const EXIT_CLOSE_MS = 2_000;
/**
 * With `commit: 'journal'`, the store thread gathers acknowledged batches this long (at
 * most half of `maxLagMs`), or until half of `maxLagRows` are waiting, before applying them
 * in one DuckDB transaction: each apply competes with the callers for CPU and for the
 * disk's flushes, and fewer, larger applies measured a lower write p99 (bench/RESULTS.md).
 */
const APPLY_WINDOW_MS = 1_000;
/** How long an abandoned store thread gets to close DuckDB on its own before it is left behind. */
const STORE_STOP_MS = 2_000;

/**
 * The writer's threads: the journal thread acknowledges, the store thread owns DuckDB. A
 * PostgreSQL-backed catalog has one thread, which holds no DuckDB state (`store` absent).
 */
interface WriterThreads {
  readonly journal: Worker;
  readonly store?: Worker;
}

/**
 * The owning thread's end of the writer: a {@link PortLink} that also starts the writer's
 * threads, watches their exits, hands out client ports and shuts them down in order.
 */
export class WriterLink extends PortLink implements ExitClosable {
  readonly #threads: WriterThreads;
  readonly #options: ResolvedOptions;
  readonly #path: string;
  readonly #exited: Promise<unknown>;
  readonly #catalogId = randomUUID();
  #closing: Promise<void> | undefined;
  #gone = false;

  private constructor(
    path: string,
    threads: WriterThreads,
    port: MessagePort,
    slots: Int32Array,
    reply: Int32Array,
    options: ResolvedOptions,
    seq: number,
    onChanges: (message: ChangesMessage) => void,
  ) {
    super(port, slots, reply, options, seq, onChanges);
    this.#threads = threads;
    this.#options = options;
    this.#path = path;
    this.#exited = Promise.all(workersOf(threads).map((worker) => once(worker, 'exit'))).then(() => (this.#gone = true));
    const named = threads.store === undefined ? [['writer', threads.journal] as const] : [['journal', threads.journal] as const, ['store', threads.store] as const];
    for (const [name, worker] of named) {
      worker.once('exit', (code: number) => {
        // Its last word first: a thread that said why it failed ('fatal') exits right after.
        this.drain();
        this.fail(new CatalogWriterExitedError(`the writer's ${name} thread exited with code ${String(code)}`));
      });
      worker.on('error', (error) => this.fail(new CatalogWriterExitedError(`the writer's ${name} thread crashed: ${error.message}`, { cause: error })));
      worker.unref();
    }
    guardAtExit(this);
  }

  /**
   * Starts the writer on `path` and waits until the file is held and every row is known.
   * @throws {CatalogError} the writer's open error (LOCKED, STORAGE, CORRUPT) or a timeout.
   */
  static async start(path: string, options: ResolvedOptions, onChanges: (message: ChangesMessage) => void, pg?: ResolvedPgSettings): Promise<{ link: WriterLink; ready: ReadyMessage }> {
    const slots = createCatalogSlots();
    const reply = createReplySlot();
    const owner = new MessageChannel();
    const threads = pg === undefined ? startThreads(path, options, slots, reply, owner.port2, new MessageChannel()) : startPgThread(path, pg, options, slots, reply, owner.port2);
    // process.exit() while the file opens must not tear the store thread down mid-call either.
    const starting: ExitClosable = { closeAtExit: () => (threads.store === undefined ? undefined : stopStoreAtExit(slots, reply)) };
    guardAtExit(starting);
    try {
      const first = await firstMessage(owner.port1, threads.journal, options.openTimeoutMs);
      if (first.kind === 'timeout') throw new CatalogTimeoutError(`opening ${path} took longer than openTimeoutMs (${options.openTimeoutMs} ms)`);
      if (first.kind === 'exit') throw new CatalogWriterExitedError(`the writer exited with code ${first.code} while opening ${path}`);
      const message = first.message as WorkerToMain;
      if (message.kind === 'ready') {
        return { link: new WriterLink(path, threads, owner.port1, slots, reply, options, message.seq, onChanges), ready: message };
      }
      throw message.kind === 'open-failed' ? fromWireError(message.error, path) : new CatalogWriterExitedError(`unexpected first message ${message.kind}`);
    } catch (error) {
      // The caller releases the file once this returns: both threads must be gone first,
      // or a second open could become a second DuckDB instance on the file.
      if (!(await exitWithin(waitForExits(threads), STORE_STOP_MS))) await abandon(threads, slots);
      owner.port1.close();
      throw error;
    } finally {
      unguard(starting);
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
      catalogId: this.#catalogId,
      slots: this.slots,
      reply,
      path: this.#path,
      readOnly: this.#options.readOnly,
      timeoutMs: this.#options.timeoutMs,
      hangTimeoutMs: this.#options.hangTimeoutMs,
      maxNameBytes: this.#options.maxNameBytes,
      maxDefinitionBytes: this.#options.maxDefinitionBytes,
      commit: this.#options.commit,
    };
    port2.postMessage(init);
    const subscribe = { kind: 'subscribe', id: this.nextId(), port: port2, reply } satisfies MainToWorker;
    this.port.postMessage(subscribe, [port2]);
    ringDoorbell(this.slots);
    return port1;
  }

  /**
   * Asks the writer to finish queued writes, bring DuckDB up to date and close it, then
   * waits for both threads to end. Safe to call repeatedly and after a failure.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  closeAtExit(): void {
    // No DuckDB to protect: PostgreSQL rolls back whatever the ended connection left open.
    if (this.#gone || this.#threads.store === undefined) return;
    if (Atomics.load(this.slots, Slot.WORKER_STATE) === WorkerState.RUNNING) {
      this.port.postMessage({ kind: 'close', id: this.nextId() } satisfies MainToWorker);
      ringDoorbell(this.slots);
      waitForStoreAtExit(this.slots, this.reply);
    } else {
      stopStoreAtExit(this.slots, this.reply);
    }
  }

  // Close's own request may see the writer reach CLOSED before its reply is read; any
  // other problem (a hung or dead writer) must still fail it, or close() would never settle.
  protected override shouldFailOn(problem: CatalogError): boolean {
    return this.#closing === undefined || !(problem instanceof CatalogClosedError);
  }

  protected override fail(error: CatalogError): void {
    if (this.#closing !== undefined && !this.hasPending) return;
    super.fail(error);
  }

  /**
   * One deadline for the whole close: the close request (queued behind every write already
   * sent, so they finish first) gets `timeoutMs`; the threads then get what is left of it,
   * at least STORE_STOP_MS, to exit before they are stopped.
   */
  async #shutDown(): Promise<void> {
    const closeBy = performance.now() + this.#options.timeoutMs;
    let closeError: unknown;
    if (this.failure === undefined) {
      try {
        const reply = await this.call({ kind: 'close' });
        if (!reply.ok) closeError = fromWireError(reply.error);
      } catch (error) {
        closeError = error;
      }
    } else if (Atomics.load(this.slots, Slot.WORKER_STATE) === WorkerState.RUNNING) {
      // Poisoned by a timeout, yet the journal thread runs (a pause or a stall that passed):
      // let it close DuckDB cleanly rather than stop it.
      this.port.postMessage({ kind: 'close', id: this.nextId() } satisfies MainToWorker);
      ringDoorbell(this.slots);
    }
    const left = Math.max(STORE_STOP_MS, closeBy - performance.now());
    if (!(await exitWithin(this.#exited, left))) await abandon(this.#threads, this.slots);
    // A store thread left behind inside a DuckDB call stays guarded: exit waits for it.
    if (this.#gone) unguard(this);
    this.stopWatchdog();
    this.port.close();
    if (closeError !== undefined && !(closeError instanceof CatalogError && closeError === this.failure)) throw closeError;
  }
}

/** At exit, with no journal thread to ask: the store thread closes DuckDB on its own. */
function stopStoreAtExit(slots: Int32Array, reply: Int32Array): void {
  Atomics.store(slots, Slot.STOP_STORE, 1);
  waitForStoreAtExit(slots, reply);
}

/** Blocks the exiting thread until DuckDB is closed and no call is in flight, bounded. */
function waitForStoreAtExit(slots: Int32Array, reply: Int32Array): void {
  blockUntil(reply, REPLY_SEQ, () => {
    const store = Atomics.load(slots, Slot.STORE_STATE);
    const storeDone = store !== WorkerState.RUNNING && store !== WorkerState.STARTING;
    return storeDone && Atomics.load(slots, Slot.DUCKDB_CALLS) === 0 ? true : undefined;
  }, performance.now() + EXIT_CLOSE_MS);
}

function startThreads(
  path: string,
  options: ResolvedOptions,
  slots: Int32Array,
  reply: Int32Array,
  ownerPort: MessagePort,
  between: MessageChannel,
): WriterThreads {
  const memory = path === ':memory:';
  const ackAfter: AckPoint = memory ? 'plan' : options.commit === 'journal' ? 'journal' : 'store';
  const journalConfig: JournalThreadConfig = {
    path,
    readOnly: options.readOnly,
    journal: options.journal && !memory,
    acceptDataLoss: options.acceptDataLoss,
    ackAfter,
    maxLagRows: options.maxLagRows,
    maxLagMs: options.maxLagMs,
    compactAfterBytes: options.compactAfterBytes,
    maxNameBytes: options.maxNameBytes,
    maxDefinitionBytes: options.maxDefinitionBytes,
    slots,
    reply,
    port: ownerPort,
    storePort: between.port1,
    ...(options.trace === undefined ? {} : { trace: options.trace }),
    ...(options.faults === undefined ? {} : { faults: options.faults }),
  };
  const storeConfig: StoreThreadConfig = {
    path,
    readOnly: options.readOnly,
    duckdbThreads: options.duckdbThreads,
    slots,
    port: between.port2,
    applyWindowMs: options.applyDelayMs ?? (ackAfter === 'journal' ? Math.min(APPLY_WINDOW_MS, Math.floor(options.maxLagMs / 2)) : 0),
    applyAtRows: options.applyDelayMs === undefined ? Math.max(1, Math.floor(options.maxLagRows / 2)) : Number.MAX_SAFE_INTEGER,
    markJournal: options.journal && !memory && !options.readOnly,
    ...(options.faults?.at === 'store-open' ? { apiLoadFault: options.faults.action === 'throw' ? 'throw' : 'hang' } : {}),
  };
  // execArgv: [] — the threads run compiled JavaScript of their own; the parent's flags
  // (--input-type, loaders, --eval) are not theirs.
  const store = new Worker(STORE_URL, { workerData: storeConfig, transferList: [between.port2], execArgv: [] });
  const journal = new Worker(JOURNAL_URL, { workerData: journalConfig, transferList: [ownerPort, between.port1], execArgv: [] });
  return { journal, store };
}

async function exitWithin(exited: Promise<unknown>, ms: number): Promise<boolean> {
  // A ref'd timer: the threads are unref'd, and an awaited close must not let the process
  // exit before they have ended.
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([exited.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)))]);
  clearTimeout(timer);
  return done;
}

function waitForExits(threads: WriterThreads): Promise<unknown> {
  return Promise.all(workersOf(threads).map((worker) => (worker.threadId === -1 ? undefined : once(worker, 'exit'))));
}

function workersOf(threads: WriterThreads): Worker[] {
  return threads.store === undefined ? [threads.journal] : [threads.journal, threads.store];
}

/** The one thread of a PostgreSQL-backed catalog: it owns both connections. */
function startPgThread(displayUrl: string, settings: ResolvedPgSettings, options: ResolvedOptions, slots: Int32Array, reply: Int32Array, ownerPort: MessagePort): WriterThreads {
  const config: PgThreadConfig = {
    settings,
    displayUrl,
    readOnly: options.readOnly,
    timeoutMs: options.timeoutMs,
    openTimeoutMs: options.openTimeoutMs,
    maxNameBytes: options.maxNameBytes,
    maxDefinitionBytes: options.maxDefinitionBytes,
    slots,
    reply,
    port: ownerPort,
  };
  return { journal: new Worker(PG_URL, { workerData: config, transferList: [ownerPort], execArgv: [] }) };
}

/**
 * Writer threads that will not end. The journal thread holds no DuckDB state and can be
 * terminated at once; the store thread is told to close DuckDB itself, and is terminated
 * only when no DuckDB call is in flight (that would abort the process), else left unref'd.
 */
async function abandon(threads: WriterThreads, slots: Int32Array): Promise<void> {
  Atomics.store(slots, Slot.STOP_STORE, 1);
  await threads.journal.terminate();
  if (threads.store === undefined) return;
  const storeExited = threads.store.threadId === -1 ? Promise.resolve() : once(threads.store, 'exit');
  if (await exitWithin(storeExited, STORE_STOP_MS)) return;
  if (Atomics.load(slots, Slot.DUCKDB_CALLS) === 0) await threads.store.terminate();
  else threads.store.unref();
}
