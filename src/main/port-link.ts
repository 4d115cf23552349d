import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { CatalogTimeoutError, type CatalogError } from '../shared/errors.js';
import type { ChangesMessage, ClientToWorker, Reply, WorkerToMain } from '../shared/protocol.js';
import { REPLY_SEQ, Slot, TraceField, WAIT_SLICE_MS, ringDoorbell, stamp } from '../shared/slots.js';
import { fromWireError } from '../shared/wire-error.js';
import { LivenessProbe } from './liveness-probe.js';

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
  readonly deadline: number;
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
    port.unref();
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
    if (Atomics.load(this.slots, Slot.COMMITTED_SEQ) !== this.#appliedSeq) this.drain();
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
    for (;;) {
      const seen = Atomics.load(this.reply, REPLY_SEQ);
      this.drain();
      if (pending.reply !== undefined) return pending.reply;
      const now = performance.now();
      const problem = this.#failure ?? this.#probe.check(now) ?? this.#deadlineError(pending, now, started);
      if (problem !== undefined) {
        // The reply may have been posted just before the worker stopped: look once more.
        this.drain();
        if (pending.reply !== undefined) return pending.reply;
        pending.abandoned = true;
        this.fail(problem);
        throw this.#failure ?? problem;
      }
      Atomics.wait(this.reply, REPLY_SEQ, seen, Math.min(WAIT_SLICE_MS, pending.deadline - now));
    }
  }

  /** Sends a request; the promise settles with its reply or rejects like {@link callSync} throws. */
  call(outgoing: Outgoing): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const pending = this.#post(outgoing, performance.now(), true);
      pending.resolve = resolve;
      pending.reject = reject;
      if (this.#asyncCount++ === 0) {
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

  #post(outgoing: Outgoing, now: number, isAsync: boolean): Pending {
    if (this.#failure !== undefined) throw this.#failure;
    const id = this.#nextId++;
    const pending: Pending = { deadline: now + this.timeouts.timeoutMs, async: isAsync, abandoned: false };
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

  #flush(): void {
    if (this.#outbox.length === 0) return;
    const requests = this.#outbox;
    this.#outbox = [];
    this.port.postMessage(requests.length === 1 ? requests[0] : { kind: 'bundle', requests });
    ringDoorbell(this.slots);
  }

  #watch(): void {
    this.drain();
    const now = performance.now();
    let problem = this.#probe.check(now);
    for (const pending of this.#pending.values()) {
      if (problem !== undefined) break;
      if (pending.async && !pending.abandoned && now > pending.deadline) {
        problem = new CatalogTimeoutError(`the writer did not answer within timeoutMs (${this.timeouts.timeoutMs} ms)`);
      }
    }
    if (problem !== undefined && this.shouldFailOn(problem)) this.fail(problem);
  }

  #deadlineError(pending: Pending, now: number, started: number): CatalogError | undefined {
    if (now < pending.deadline) return undefined;
    return new CatalogTimeoutError(`the writer did not answer within timeoutMs (${this.timeouts.timeoutMs} ms, waited ${Math.round(now - started)} ms)`);
  }

  #asyncDone(): void {
    if (--this.#asyncCount === 0) {
      this.port.unref();
      this.stopWatchdog();
    }
  }
}
