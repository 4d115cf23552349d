import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { CatalogTimeoutError, type CatalogError } from '../shared/errors.js';
import type { ChangesMessage, ClientToWorker, Reply, WorkerToMain } from '../shared/protocol.js';
import { blockUntil } from '../shared/blocking-wait.js';
import { REPLY_SEQ, Slot, TraceField, WAIT_SLICE_MS, WorkerState, ringDoorbell, stamp } from '../shared/slots.js';
import { fromWireError } from '../shared/wire-error.js';
import { LivenessProbe } from './liveness-probe.js';

/**
 * Longest a read waits for changes the writer has announced (COMMITTED_SEQ) but not yet
 * posted: normally microseconds; bounded so a writer that dies in between costs a read little.
 */
const CATCH_UP_WAIT_MS = 100;

/** A request before the link gives it its id. */
export type Outgoing = DistributiveOmit<ClientToWorker, 'id'> | { readonly kind: 'close' };
type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

export interface LinkTimeouts {
  readonly timeoutMs: number;
  readonly hangTimeoutMs: number;
  /** Bench hook: where the caller stamps the moment its sync request was posted. */
  readonly trace?: Float64Array;
}

interface Pending {
  readonly started: number;
  /** The probe's paused total when the call started: time the process stood still is not waiting. */
  readonly pausedAtStart: number;
  readonly async: boolean;
  resolve?: (reply: Reply) => void;
  reject?: (error: CatalogError) => void;
  reply?: Reply;
  /** The caller already got an error; a late reply answers nobody. */
  abandoned: boolean;
}

/**
 * One thread's end of the writer: request ids, replies, deadlines, liveness, and the
 * change stream that keeps this thread's map equal to the table. Any timeout or writer
 * death poisons the link: the waiting caller and every later call get that error.
 */
export class PortLink {
  protected readonly port: MessagePort;
  protected readonly slots: Int32Array;
  protected readonly reply: Int32Array;
  protected readonly timeouts: LinkTimeouts;
  readonly #probe: LivenessProbe;
  readonly #pending = new Map<number, Pending>();
  readonly #onChanges: (message: ChangesMessage) => void;
  #asyncCount = 0;
  #nextId = 1;
  #appliedSeq: number;
  #failure: CatalogError | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  /** Async requests of this tick, sent together by {@link #flush}. */
  #outbox: object[] = [];
  /** Resolved each time the last async call settles (see {@link settled}). */
  #idle: Array<() => void> = [];

  constructor(
    port: MessagePort,
    slots: Int32Array,
    reply: Int32Array,
    timeouts: LinkTimeouts,
    appliedSeq: number,
    onChanges: (message: ChangesMessage) => void,
  ) {
    this.port = port;
    this.slots = slots;
    this.reply = reply;
    this.timeouts = timeouts;
    this.#appliedSeq = appliedSeq;
    this.#onChanges = onChanges;
    this.#probe = new LivenessProbe(slots, timeouts.hangTimeoutMs);
    port.on('message', (message: WorkerToMain) => this.dispatch(message));
    // The writer's end closed: its thread ended, or (a process's link) the owner went away.
    port.on('close', () => this.#lost(this.ownerClosed ? 'ERR_CATALOG_CLOSED' : 'ERR_CATALOG_WRITER_EXITED'));
    port.unref();
  }

  /**
   * Told once when the writer or the owner goes away (`ERR_CATALOG_CLOSED` for a clean
   * close); the handle turns it into its 'disconnect' event.
   */
  onLost: ((code: 'ERR_CATALOG_CLOSED' | 'ERR_CATALOG_WRITER_EXITED') => void) | undefined;
  #lostSaid = false;

  #lost(code: 'ERR_CATALOG_CLOSED' | 'ERR_CATALOG_WRITER_EXITED'): void {
    if (this.#lostSaid) return;
    this.#lostSaid = true;
    this.onLost?.(code);
  }

  /** True while the writer can answer: not poisoned, and its thread (or the link to its process) runs. */
  get connected(): boolean {
    return this.#failure === undefined && Atomics.load(this.slots, Slot.WORKER_STATE) === WorkerState.RUNNING;
  }

  /** The owner closed the catalog cleanly (every party then reads ERR_CATALOG_CLOSED). */
  get ownerClosed(): boolean {
    return Atomics.load(this.slots, Slot.WORKER_STATE) === WorkerState.CLOSED;
  }

  /** The error that poisoned this link, if any. */
  get failure(): CatalogError | undefined {
    return this.#failure;
  }

  /**
   * Applies every batch committed so far by any thread. One Atomics.load when nothing is
   * new, so reads stay map-fast; it is what makes a write acknowledged on one thread
   * visible to a later read on any other.
   */
  catchUp(): void {
    const committed = Atomics.load(this.slots, Slot.COMMITTED_SEQ);
    if (committed === this.#appliedSeq) return;
    this.drain();
    if (this.#appliedSeq >= committed || this.#failure !== undefined) return;
    // The writer moves COMMITTED_SEQ just before it posts the batch's changes (so no thread
    // can hold a reply the others cannot yet see): they are on their way. Wait the few
    // microseconds they take, bounded, rather than answer from the older map.
    blockUntil(this.reply, REPLY_SEQ, () => {
      this.drain();
      return this.#appliedSeq >= committed || Atomics.load(this.slots, Slot.WORKER_STATE) !== WorkerState.RUNNING ? true : undefined;
    }, performance.now() + CATCH_UP_WAIT_MS, 1);
  }

  /**
   * Sends a request and blocks this thread until its reply, the deadline or the writer's death.
   * @throws {CatalogError} ERR_CATALOG_TIMEOUT or ERR_CATALOG_WRITER_EXITED (the link is then poisoned).
   */
  callSync(outgoing: Outgoing): Reply {
    const started = performance.now();
    this.#flush();
    const pending = this.#post(outgoing, started, false);
    stamp(this.timeouts.trace, TraceField.POSTED);
    this.#probe.startWaiting(started);
    try {
      // No deadline of its own: #deadlineError judges it, leaving out time the process was paused.
      return blockUntil(this.reply, REPLY_SEQ, (now) => {
        this.drain();
        if (pending.reply !== undefined) return pending.reply;
        const problem = this.#failure ?? this.#probe.check(now) ?? this.#deadlineError(pending, now);
        if (problem === undefined) return undefined;
        // The reply may have been posted just before the worker stopped: look once more.
        this.drain();
        if (pending.reply !== undefined) return pending.reply;
        pending.abandoned = true;
        this.fail(problem);
        throw this.#failure ?? problem;
      }, Number.POSITIVE_INFINITY)!;
    } finally {
      if (this.#asyncCount === 0) this.#probe.stopWaiting();
    }
  }

  /** Sends a request; the promise settles with its reply or rejects like {@link callSync} throws. */
  call(outgoing: Outgoing): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const pending = this.#post(outgoing, performance.now(), true);
      pending.resolve = resolve;
      pending.reject = reject;
      if (this.#asyncCount++ === 0) {
        this.#probe.startWaiting(performance.now());
        this.port.ref();
        // Ref'd on purpose: a pending promise must settle even if the writer dies and its
        // port closes; the watchdog then rejects it within a slice or two.
        this.#watchdog = setInterval(() => this.#watch(), WAIT_SLICE_MS);
      }
    });
  }

  /** Poisons the link and fails every waiting async caller with `error`. */
  protected fail(error: CatalogError): void {
    if (this.#failure !== undefined) return;
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

  /** Whether a problem seen by the watchdog should poison the link (not while closing). */
  protected shouldFailOn(_problem: CatalogError): boolean {
    return true;
  }

  protected drain(): void {
    for (let received = receiveMessageOnPort(this.port); received !== undefined; received = receiveMessageOnPort(this.port)) {
      this.dispatch(received.message as WorkerToMain);
    }
  }

  protected dispatch(message: WorkerToMain): void {
    switch (message.kind) {
      case 'changes':
        this.#appliedSeq = message.seq;
        this.#onChanges(message);
        if (message.replies !== undefined) for (const reply of message.replies) this.#settle(reply);
        return;
      case 'fatal':
        this.fail(fromWireError(message.error));
        this.#lost('ERR_CATALOG_WRITER_EXITED');
        return;
      case 'owner-closed':
        this.#lost('ERR_CATALOG_CLOSED');
        return;
      case 'owner-gone':
        this.#lost('ERR_CATALOG_WRITER_EXITED');
        return;
      case 'replies':
        for (const reply of message.replies) this.#settle(reply);
        return;
      case 'reply':
        this.#settle(message);
        return;
      default:
        return;
    }
  }

  #settle(message: Reply): void {
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    this.#pending.delete(message.id);
    if (pending.abandoned) return;
    pending.reply = message;
    if (pending.async) {
      this.#asyncDone();
      pending.resolve?.(message);
    }
  }

  protected stopWatchdog(): void {
    if (this.#watchdog !== undefined) clearInterval(this.#watchdog);
    this.#watchdog = undefined;
  }

  protected get hasPending(): boolean {
    return this.#pending.size > 0;
  }

  protected nextId(): number {
    return this.#nextId++;
  }

  /**
   * Sends this tick's async requests at once (a close must not leave them behind), then
   * resolves once no async call of this link is waiting (each answered or failed).
   */
  settled(): Promise<void> {
    this.#flush();
    if (this.#asyncCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Sends the async requests of this tick in one message. */
  #flush(): void {
    if (this.#outbox.length === 0) return;
    const requests = this.#outbox;
    this.#outbox = [];
    this.port.postMessage(requests.length === 1 ? requests[0] : { kind: 'bundle', requests });
    ringDoorbell(this.slots);
  }

  #post(outgoing: Outgoing, now: number, isAsync: boolean): Pending {
    if (this.#failure !== undefined) throw this.#failure;
    const id = this.#nextId++;
    const pending: Pending = { started: now, pausedAtStart: this.#probe.pausedMs, async: isAsync, abandoned: false };
    this.#pending.set(id, pending);
    if (!isAsync) {
      this.port.postMessage({ ...outgoing, id });
      ringDoorbell(this.slots);
    } else {
      // Callers resumed by one batch's replies issue their next writes in the same tick:
      // one message carries them all.
      if (this.#outbox.length === 0) queueMicrotask(() => this.#flush());
      this.#outbox.push({ ...outgoing, id });
    }
    return pending;
  }

  #watch(): void {
    this.drain();
    const now = performance.now();
    let problem = this.#probe.check(now);
    for (const pending of this.#pending.values()) {
      if (problem !== undefined) break;
      if (pending.async && !pending.abandoned && this.#waited(pending, now) > this.timeouts.timeoutMs) {
        problem = new CatalogTimeoutError(`the writer did not answer within timeoutMs (${this.timeouts.timeoutMs} ms)`);
      }
    }
    if (problem !== undefined && this.shouldFailOn(problem)) this.fail(problem);
  }

  /** How long `pending` has waited, leaving out time the process was seen paused. */
  #waited(pending: Pending, now: number): number {
    return now - pending.started - (this.#probe.pausedMs - pending.pausedAtStart);
  }

  #deadlineError(pending: Pending, now: number): CatalogError | undefined {
    const waited = this.#waited(pending, now);
    if (waited < this.timeouts.timeoutMs) return undefined;
    return new CatalogTimeoutError(`the writer did not answer within timeoutMs (${this.timeouts.timeoutMs} ms, waited ${Math.round(waited)} ms)`);
  }

  #asyncDone(): void {
    if (--this.#asyncCount === 0) {
      this.port.unref();
      this.stopWatchdog();
      this.#probe.stopWaiting();
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }
}
