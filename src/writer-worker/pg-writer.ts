import type { Client } from 'pg';
import { parseClientRequest, unbundle } from '../shared/client-request.js';
import { CatalogClosedError, CatalogInvalidError, CatalogReadOnlyError, CatalogStorageError } from '../shared/errors.js';
import type { Liveness } from '../shared/liveness.js';
import type { PgThreadConfig } from '../shared/pg-thread-config.js';
import type { ApplyOp, MainToWorker, Reply, WriteRequest } from '../shared/protocol.js';
import { WorkerState } from '../shared/slots.js';
import { toWireError } from '../shared/wire-error.js';
import { debug } from '../shared/debug-log.js';
import { EventParty } from './event-party.js';
import type { Parties } from './parties.js';
import { isConnectionLoss, storageError } from './pg-connect.js';
import { LogPruner } from './pg-prune.js';
import { PgBatch, type Outcome } from './pg-batch.js';
import type { ChangeFeed } from './pg-feed.js';
import type { Replica } from './pg-replica.js';
import type { PgSql } from './pg-schema.js';
import { DeadlineError, PgSession, within } from './pg-session.js';
import { StatsRecorder } from './writer-stats.js';
import { runWork } from './work-runs.js';

type PgModule = typeof import('pg');

interface Work {
  readonly party: EventParty;
  readonly message: MainToWorker;
  /** performance.now() when it arrived: its deadline runs from here. */
  readonly at: number;
}

/**
 * The writer of a PostgreSQL-backed catalog. Requests arrive as port events and queue;
 * while one batch's transaction runs, later writes gather into the next (group commit),
 * each batch one transaction ({@link PgBatch}), acknowledged only once COMMIT returned. Any call is answered within its `timeoutMs` (a little less,
 * so the caller never meets ERR_CATALOG_TIMEOUT and the catalog is never poisoned by an
 * unreachable server): the connection is dropped and re-made on the next write.
 */
export class PgWriter {
  readonly #config: PgThreadConfig;
  readonly #replica: Replica;
  readonly #feed: ChangeFeed;
  readonly #parties: Parties<EventParty>;
  readonly #liveness: Liveness;
  readonly #onClosed: () => void;
  readonly #stats = new StatsRecorder();
  readonly #budgetMs: number;
  readonly #session: PgSession;
  readonly #batch: PgBatch;
  readonly #pruner: LogPruner;
  #queue: Work[] = [];
  #running = false;
  #finished = false;

  constructor(config: PgThreadConfig, pg: PgModule, sql: PgSql, replica: Replica, feed: ChangeFeed, parties: Parties<EventParty>, liveness: Liveness, client: Client, onClosed: () => void) {
    this.#config = config;
    this.#replica = replica;
    this.#feed = feed;
    this.#parties = parties;
    this.#liveness = liveness;
    this.#onClosed = onClosed;
    this.#session = new PgSession(pg, config.settings, client);
    // Answer before the caller's own deadline: it started its clock a little earlier,
    // and a reply must still cross the port.
    this.#budgetMs = Math.max(1, config.timeoutMs - Math.min(1_000, Math.max(100, Math.floor(config.timeoutMs / 10))));
    this.#batch = new PgBatch(this.#session, sql, config.displayUrl, this.#budgetMs);
    this.#pruner = new LogPruner(this.#session, sql, config.settings.retainChanges);
  }

  /** A party's message: the owner's requests (and bundles) as they are; a client's checked first. */
  accept(party: EventParty, message: unknown): void {
    const at = performance.now();
    if (this.#finished) {
      for (const request of unbundle(message).requests) {
        const id = (request as { id?: unknown } | null)?.id;
        if (typeof id === 'number') this.#answer(party, id, new CatalogClosedError());
      }
      return;
    }
    if (party.owner) {
      const incoming = message as MainToWorker | { kind: 'bundle'; requests: MainToWorker[] };
      if (incoming.kind === 'bundle') for (const request of incoming.requests) this.#queue.push({ party, message: request, at });
      else this.#queue.push({ party, message: incoming, at });
    } else {
      const { requests, error } = unbundle(message);
      if (error !== undefined) this.#stats.recordRejected();
      for (const request of requests) {
        const parsed = parseClientRequest(request, this.#config);
        if (parsed.ok && parsed.request.kind === 'leave') this.leave(party);
        else if (parsed.ok) this.#queue.push({ party, message: parsed.request, at });
        else {
          this.#stats.recordRejected();
          if (parsed.id !== undefined) this.#answer(party, parsed.id, parsed.error);
        }
      }
    }
    if (!this.#running) void this.#drain();
  }

  /** Forgets a party at once (its 'leave', or its port closed). */
  leave(party: EventParty): void {
    this.#parties.delete(party);
    party.close();
  }

  /** Fails every queued request; used when the thread dies. */
  failQueued(error: Error): void {
    for (const { party, message } of this.#queue.splice(0)) this.#answer(party, message.id, error);
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0 && !this.#finished) {
        const work = this.#queue;
        this.#queue = [];
        const unrun = await runWork(work, {
          batch: (writes) => this.#writeBatch(writes),
          control: (one) => this.#control(one),
          finished: () => this.#finished,
        });
        for (const rest of unrun) this.#answer(rest.party, rest.message.id, new CatalogClosedError());
        // Between rounds (also under a steady load, where the queue is never empty for
        // long): a write that arrives meanwhile waits at most one bounded DELETE, and only
        // about once per tenth of retainChanges changes. A read-only catalog deletes nothing.
        if (!this.#config.readOnly && !this.#finished && this.#pruner.due(this.#replica.seq)) {
          await this.#pruner.run(this.#replica.seq, performance.now() + this.#budgetMs);
        }
      }
    } finally {
      this.#running = false;
    }
  }

  async #writeBatch(batch: readonly Work[]): Promise<void> {
    const requests = batch.map((work) => work.message as WriteRequest);
    if (this.#config.readOnly) {
      for (const { party, message } of batch) this.#answer(party, message.id, new CatalogReadOnlyError());
      return;
    }
    const started = performance.now();
    const result = await this.#batch.run(requests, false, batch[0]!.at);
    if ('failure' in result) {
      this.#stats.recordBatch(requests.length, 0, false, performance.now() - started);
      for (const { party, message } of batch) this.#answer(party, message.id, result.failure);
      return;
    }
    const outcome = result.outcome;
    if (outcome.kind === 'refused') return; // not for a plain batch: refusals are per op
    const replies = outcome.plan.replies;
    this.#stats.recordBatch(requests.length, replies.filter((reply) => !reply.ok).length, true, performance.now() - started);
    await this.#publish(batch, replies, outcome, batch[0]!.at + this.#budgetMs);
  }

  /** An apply: planned as one, all of it or (when any op would be refused) none. */
  async #apply(work: Work, ops: readonly ApplyOp[]): Promise<void> {
    const { party, message } = work;
    if (this.#config.readOnly) {
      this.#answer(party, message.id, new CatalogReadOnlyError());
      return;
    }
    const started = performance.now();
    const requests = ops.map((op, i): WriteRequest => ({ kind: 'write', id: i, ...op }));
    const result = await this.#batch.run(requests, true, work.at);
    if ('failure' in result) {
      this.#stats.recordBatch(1, 0, false, performance.now() - started);
      this.#answer(party, message.id, result.failure);
      return;
    }
    const outcome = result.outcome;
    if (outcome.kind === 'refused') {
      this.#stats.recordBatch(ops.length, ops.length, true, 0);
      this.#replica.sendReplies(new Map([[party, [{ kind: 'reply', id: message.id, ok: false, error: outcome.error }]]]));
      return;
    }
    this.#stats.recordBatch(ops.length, 0, true, performance.now() - started);
    await this.#publish([work], [{ kind: 'reply', id: message.id, ok: true }], outcome, work.at + this.#budgetMs);
  }

  /**
   * Answers a batch. A committed one goes out after every change before it (read from the
   * log when another process committed them and the feed has not posted them yet), so each
   * party's map moves in commit order and holds the batch when its reply arrives.
   */
  async #publish(batch: readonly Work[], replies: readonly Reply[], outcome: Outcome, deadline: number): Promise<void> {
    const byParty = new Map<EventParty, Reply[]>();
    batch.forEach(({ party }, i) => {
      const list = byParty.get(party);
      if (list === undefined) byParty.set(party, [replies[i]!]);
      else list.push(replies[i]!);
    });
    if (outcome.kind !== 'committed') {
      this.#replica.sendReplies(byParty);
      return;
    }
    debug('pg batch seq %d..%d: %d ops', outcome.before + 1, outcome.after, batch.length);
    if (this.#replica.seq < outcome.before) {
      // Bounded by the batch's deadline like the transaction: a reply must never wait past
      // it (the caller would time out and poison the catalog for a committed write).
      const client = this.#session.client;
      const catchUp = async () => {
        try {
          await this.#feed.catchUp();
        } catch {
          // the feed's connection is down: read the log on the writer's
        }
        if (this.#replica.seq < outcome.before && client !== undefined) await this.#feed.catchUpWith(client);
      };
      try {
        await within(deadline, catchUp, () => client !== undefined && this.#session.drop(client));
      } catch {
        // Committed, but the changes before it cannot be read right now: the write is
        // acknowledged without them; the feed posts it, in order, once it can read the log.
      }
    }
    if (this.#replica.seq >= outcome.before) this.#replica.postOwn(outcome.before, outcome.after, outcome.plan.changes, byParty);
    else this.#replica.sendReplies(byParty);
  }

  async #control(work: Work): Promise<void> {
    const { party, message } = work;
    if (!party.owner && (message.kind === 'close' || message.kind === 'subscribe')) {
      this.#answer(party, message.id, new CatalogInvalidError('request', `${String(message.kind)} is for the owner only`));
      return;
    }
    switch (message.kind) {
      case 'stats': {
        const seq = this.#replica.seq;
        const stats = this.#stats.snapshot(this.#queue.length, this.#parties.size, { rows: 0, bytes: 0, ms: 0, journaledSeq: seq, appliedSeq: seq, backpressureWaits: 0, throttledBatches: 0, throttledMs: 0 });
        this.#reply(party, { kind: 'reply', id: message.id, ok: true, stats });
        return;
      }
      case 'checkpoint':
        // PostgreSQL checkpoints on its own; every acknowledged write is already committed there.
        this.#reply(party, { kind: 'reply', id: message.id, ok: true });
        return;
      case 'subscribe': {
        const client = new EventParty(message.port, message.reply, false, (from, incoming) => this.accept(from, incoming), (gone) => this.#parties.delete(gone));
        this.#parties.add(client);
        this.#reply(party, { kind: 'reply', id: message.id, ok: true });
        return;
      }
      case 'hello':
        this.#parties.add(party);
        party.listen();
        party.send({ kind: 'hello', seq: this.#replica.seq, rows: this.#replica.columns(), commit: 'postgres', persistent: true, pid: process.pid });
        party.wake();
        return;
      case 'sync':
        await this.#sync(work);
        return;
      case 'leave':
        this.leave(party);
        return;
      case 'close':
        await this.#close(party, message.id);
        return;
      case 'apply':
        await this.#apply(work, message.ops);
        return;
      case 'write':
        return;
      default:
        assertNever(message);
    }
  }

  /**
   * A read fence across processes: the counter's value now, then the log up to it, then
   * the reply, so the party's map holds every change committed anywhere before the call.
   */
  async #sync({ party, message, at }: Work): Promise<void> {
    const deadline = at + this.#budgetMs;
    try {
      const target = await this.#committedSeq(deadline);
      let viaFeed = true;
      for (let round = 0; this.#replica.seq < target; round++) {
        if (viaFeed && round < 2) {
          try {
            await within(deadline, () => this.#feed.catchUp(), () => undefined);
            continue;
          } catch (error) {
            if (error instanceof DeadlineError) throw error;
            viaFeed = false; // it reconnects with backoff; this call reads on the writer's connection
          }
        }
        // The feed cannot read the log, or read it and this replica is still behind: read it
        // on the writer's connection; still behind after that, the log no longer reaches back
        // here (pruned to nothing past this replica), so reload from a snapshot.
        const reload = round >= 3;
        await this.#session.use(deadline, (client) => (reload ? this.#feed.resync(client) : this.#feed.catchUpWith(client)));
      }
      this.#reply(party, { kind: 'reply', id: message.id, ok: true });
    } catch (error) {
      this.#answer(party, message.id, error instanceof DeadlineError
        ? new CatalogStorageError(`sync: PostgreSQL (${this.#config.displayUrl}) did not answer within ${this.#budgetMs} ms`, { cause: error })
        : error instanceof CatalogStorageError ? error : storageError(`sync: cannot read PostgreSQL (${this.#config.displayUrl})`, error));
    }
  }

  /**
   * The counter now, read on the feed's connection, or on the writer's when the feed's is
   * down or found dead (a session cut while idle is reconnected, not reported).
   */
  async #committedSeq(deadline: number): Promise<number> {
    const feedClient = this.#feed.client;
    if (feedClient !== undefined) {
      try {
        return await within(deadline, () => this.#feed.committedSeqOn(feedClient), () => undefined);
      } catch (error) {
        if (error instanceof DeadlineError || !isConnectionLoss(error)) throw error;
        this.#feed.lost(feedClient, error);
      }
    }
    return this.#session.use(deadline, (client) => this.#feed.committedSeqOn(client));
  }

  async #close(owner: EventParty, id: number): Promise<void> {
    this.#finished = true;
    this.failQueued(new CatalogClosedError());
    await this.#feed.close();
    await this.#session.end(1_000);
    this.#reply(owner, { kind: 'reply', id, ok: true });
    this.#liveness.set(WorkerState.CLOSED);
    this.#parties.closeAll();
    owner.close();
    this.#onClosed();
  }

  #answer(party: EventParty, id: number, error: Error): void {
    this.#reply(party, { kind: 'reply', id, ok: false, error: toWireError(error) });
  }

  #reply(party: EventParty, reply: Reply): void {
    party.send(reply);
    party.wake();
  }
}

function assertNever(message: never): never {
  throw new Error(`unhandled request ${JSON.stringify(message)}`);
}
