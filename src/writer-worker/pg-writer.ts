import type { Client, QueryResult } from 'pg';
import { parseClientRequest, unbundle } from '../shared/client-request.js';
import { CatalogClosedError, CatalogInvalidError, CatalogReadOnlyError, CatalogStorageError } from '../shared/errors.js';
import type { Liveness } from '../shared/liveness.js';
import type { PgThreadConfig } from '../shared/pg-thread-config.js';
import type { ApplyOp, MainToWorker, Reply, WireError, WriteRequest } from '../shared/protocol.js';
import { WorkerState } from '../shared/slots.js';
import { toWireError } from '../shared/wire-error.js';
import { debug } from '../shared/debug-log.js';
import { planBatch, type BatchPlan } from './batch-plan.js';
import { EventParty } from './event-party.js';
import type { Parties } from './parties.js';
import { connectClient, destroyClient, endClient, sqlState, storageError } from './pg-connect.js';
import type { ChangeFeed } from './pg-feed.js';
import type { Replica } from './pg-replica.js';
import type { PgSql } from './pg-schema.js';
import { StatsRecorder } from './writer-stats.js';

type PgModule = typeof import('pg');

interface Work {
  readonly party: EventParty;
  readonly message: MainToWorker;
  /** performance.now() when it arrived: its deadline runs from here. */
  readonly at: number;
}

/** Serialization failures and deadlocks: PostgreSQL asks for the transaction to be retried. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 5;

/** Where a batch's transaction was when it failed: only a failure in COMMIT leaves the outcome unknown. */
type Phase = 'connect' | 'transaction' | 'commit';

type Outcome =
  | { readonly kind: 'refused'; readonly error: WireError }
  | { readonly kind: 'nothing'; readonly plan: BatchPlan }
  | { readonly kind: 'committed'; readonly plan: BatchPlan; readonly before: number; readonly after: number };

class DeadlineError extends Error {}

/**
 * The writer of a PostgreSQL-backed catalog. Requests arrive as port events and queue;
 * while one batch's transaction runs, later writes gather into the next (group commit).
 * Each batch is one transaction: the counter row's lock (serializing every writer of every
 * process), the touched names' versions, the refusals planned against them, one statement
 * for rows + change log + counter + NOTIFY, rows expected == found, COMMIT. Acknowledged
 * only once COMMIT returned. Any call is answered within its `timeoutMs` (a little less,
 * so the caller never meets ERR_CATALOG_TIMEOUT and the catalog is never poisoned by an
 * unreachable server): the connection is dropped and re-made on the next write.
 */
export class PgWriter {
  readonly #config: PgThreadConfig;
  readonly #pg: PgModule;
  readonly #sql: PgSql;
  readonly #replica: Replica;
  readonly #feed: ChangeFeed;
  readonly #parties: Parties<EventParty>;
  readonly #liveness: Liveness;
  readonly #onClosed: () => void;
  readonly #stats = new StatsRecorder();
  readonly #budgetMs: number;
  #client: Client | undefined;
  #connecting: Promise<Client> | undefined;
  #queue: Work[] = [];
  #running = false;
  #finished = false;

  constructor(config: PgThreadConfig, pg: PgModule, sql: PgSql, replica: Replica, feed: ChangeFeed, parties: Parties<EventParty>, liveness: Liveness, client: Client, onClosed: () => void) {
    this.#config = config;
    this.#pg = pg;
    this.#sql = sql;
    this.#replica = replica;
    this.#feed = feed;
    this.#parties = parties;
    this.#liveness = liveness;
    this.#onClosed = onClosed;
    this.#adopt(client);
    // Answer before the caller's own deadline: it started its clock a little earlier,
    // and a reply must still cross the port.
    this.#budgetMs = Math.max(1, config.timeoutMs - Math.min(1_000, Math.max(100, Math.floor(config.timeoutMs / 10))));
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
        let at = 0;
        while (at < work.length) {
          let end = at;
          while (end < work.length && work[end]!.message.kind === 'write') end++;
          if (end > at) {
            await this.#writeBatch(work.slice(at, end));
            at = end;
          } else {
            await this.#control(work[at]!);
            at++;
          }
          if (this.#finished) {
            for (const rest of work.slice(at)) this.#answer(rest.party, rest.message.id, new CatalogClosedError());
            break;
          }
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
    const result = await this.#run(requests, false, batch[0]!.at);
    if ('failure' in result) {
      this.#stats.recordBatch(requests.length, 0, false, performance.now() - started);
      for (const { party, message } of batch) this.#answer(party, message.id, result.failure);
      return;
    }
    const outcome = result.outcome;
    if (outcome.kind === 'refused') return; // not for a plain batch: refusals are per op
    const replies = outcome.plan.replies;
    this.#stats.recordBatch(requests.length, replies.filter((reply) => !reply.ok).length, true, performance.now() - started);
    await this.#publish(batch, replies, outcome);
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
    const result = await this.#run(requests, true, work.at);
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
    await this.#publish([work], [{ kind: 'reply', id: message.id, ok: true }], outcome);
  }

  /**
   * Runs a batch's transaction, retrying serialization failures and deadlocks, within the
   * budget of its oldest request.
   * @returns the outcome, or the error every op of the batch gets.
   */
  async #run(requests: readonly WriteRequest[], allOrNothing: boolean, since: number): Promise<{ outcome: Outcome } | { failure: Error }> {
    const deadline = since + this.#budgetMs;
    const phase: { at: Phase } = { at: 'connect' };
    let client: Client | undefined;
    let reconnected = false;
    for (let attempt = 1; ; attempt++) {
      phase.at = 'connect';
      try {
        client = await this.#connection(deadline);
        const connected = client;
        const outcome = await this.#within(deadline, () => this.#transaction(connected, requests, allOrNothing, phase), () => this.#drop(connected));
        return { outcome };
      } catch (error) {
        const state = sqlState(error);
        const broken = client === undefined || client !== this.#client || isConnectionState(state) || error instanceof DeadlineError;
        if (broken) {
          if (client !== undefined) this.#drop(client);
        } else if (client !== undefined) {
          await client.query('ROLLBACK').catch(() => this.#drop(client!));
        }
        // A connection that died before COMMIT was sent committed nothing: one fresh try (a
        // server restarted since the last write leaves an idle connection that only fails now).
        if (broken && (phase.at as Phase) === 'transaction' && !(error instanceof DeadlineError) && !reconnected && performance.now() < deadline) {
          reconnected = true;
          debug('pg batch retried on a new connection after: %s', error instanceof Error ? error.message : String(error));
          continue;
        }
        if (!broken && state !== undefined && RETRYABLE.has(state) && attempt < MAX_ATTEMPTS && performance.now() < deadline) {
          debug('pg batch retried after SQLSTATE %s (attempt %d)', state, attempt);
          await new Promise((resolve) => setTimeout(resolve, attempt * 5));
          continue;
        }
        return { failure: this.#describe(error, phase.at, broken, attempt) };
      }
    }
  }

  #describe(error: unknown, phase: Phase, broken: boolean, attempts: number): Error {
    if (error instanceof CatalogStorageError) return error;
    if (error instanceof DeadlineError) {
      const unknown = phase === 'commit' ? ' while committing: the write may or may not have been committed (the change feed will show it)' : '; nothing was committed';
      return new CatalogStorageError(`PostgreSQL (${this.#config.displayUrl}) did not answer within ${this.#budgetMs} ms${unknown}`, { cause: error });
    }
    if (phase === 'connect') return storageError(`PostgreSQL (${this.#config.displayUrl}) is unreachable`, error);
    if (phase === 'commit' && broken) {
      return storageError('the connection to PostgreSQL was lost during COMMIT: the write may or may not have been committed (the change feed will show it)', error);
    }
    const state = sqlState(error);
    if (state !== undefined && RETRYABLE.has(state)) return storageError(`PostgreSQL refused the transaction ${attempts} times`, error);
    return storageError(broken ? 'the connection to PostgreSQL was lost; nothing was committed' : 'PostgreSQL refused the write; nothing was committed', error);
  }

  async #transaction(client: Client, requests: readonly WriteRequest[], allOrNothing: boolean, phase: { at: Phase }): Promise<Outcome> {
    phase.at = 'transaction';
    const results = (await client.query(this.#sql.lockCounter)) as unknown as Array<QueryResult<{ seq: string }>>;
    const before = Number(results[1]!.rows[0]!.seq);
    const names = [...new Set(requests.map((request) => request.name))];
    const stored = await client.query<{ name: string; version: string }>(this.#sql.readVersions, [names]);
    const index = new Map(stored.rows.map((row) => [row.name, Number(row.version)]));
    const plan = planBatch(index, requests);
    const refusal = plan.replies.find((reply) => !reply.ok);
    if (allOrNothing && refusal !== undefined && !refusal.ok) {
      await client.query('ROLLBACK');
      return { kind: 'refused', error: refusal.error };
    }
    const count = plan.changes.names.length;
    if (count === 0) {
      await client.query('ROLLBACK');
      return { kind: 'nothing', plan };
    }
    const upserts = [...plan.inserts, ...plan.updates];
    const written = await client.query<{ up: number; del: number; ch: number; seq: string }>(this.#sql.write, [
      upserts.map((row) => row[0]),
      upserts.map((row) => row[1]),
      upserts.map((row) => row[2]),
      plan.deletes,
      before,
      plan.changes.names,
      plan.changes.jsons,
      plan.changes.versions,
      count,
      this.#sql.channel,
    ]);
    const found = written.rows[0]!;
    if (found.up !== upserts.length || found.del !== plan.deletes.length || found.ch !== count || Number(found.seq) !== before + count) {
      throw new CatalogStorageError(
        `rows expected != rows found (upserts ${upserts.length}/${found.up}, deletes ${plan.deletes.length}/${found.del}, changes ${count}/${found.ch}, seq ${before + count}/${found.seq}): rolled back, nothing was committed`,
      );
    }
    phase.at = 'commit';
    await client.query('COMMIT');
    return { kind: 'committed', plan, before, after: before + count };
  }

  /**
   * Answers a batch. A committed one goes out after every change before it (read from the
   * log when another process committed them and the feed has not posted them yet), so each
   * party's map moves in commit order and holds the batch when its reply arrives.
   */
  async #publish(batch: readonly Work[], replies: readonly Reply[], outcome: Outcome): Promise<void> {
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
      try {
        await this.#feed.catchUp();
        if (this.#replica.seq < outcome.before && this.#client !== undefined) await this.#feed.catchUpWith(this.#client);
      } catch {
        try {
          if (this.#client !== undefined) await this.#feed.catchUpWith(this.#client);
        } catch {
          // Both connections are gone right after COMMIT: the write is committed and is
          // acknowledged; the feed posts it (in order) once it reconnects.
        }
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
        const stats = this.#stats.snapshot(this.#queue.length, this.#parties.size, { rows: 0, ms: 0, journaledSeq: seq, appliedSeq: seq, backpressureWaits: 0 });
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
        party.send({ kind: 'hello', seq: this.#replica.seq, rows: this.#replica.columns(), commit: 'journal', persistent: true, pid: process.pid });
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
      const target = await this.#within(deadline, () => this.#feed.committedSeq(() => this.#connection(deadline)), () => undefined);
      for (let round = 0; this.#replica.seq < target; round++) {
        if (round < 2) await this.#within(deadline, () => this.#feed.catchUp(), () => undefined);
        else {
          const client = await this.#connection(deadline);
          await this.#within(deadline, () => this.#feed.catchUpWith(client), () => this.#drop(client));
        }
      }
      this.#reply(party, { kind: 'reply', id: message.id, ok: true });
    } catch (error) {
      this.#answer(party, message.id, error instanceof DeadlineError
        ? new CatalogStorageError(`sync: PostgreSQL (${this.#config.displayUrl}) did not answer within ${this.#budgetMs} ms`, { cause: error })
        : error instanceof CatalogStorageError ? error : storageError(`sync: cannot read PostgreSQL (${this.#config.displayUrl})`, error));
    }
  }

  async #close(owner: EventParty, id: number): Promise<void> {
    this.#finished = true;
    this.failQueued(new CatalogClosedError());
    await this.#feed.close();
    const client = this.#client;
    this.#client = undefined;
    if (client !== undefined) await endClient(client, 1_000);
    this.#reply(owner, { kind: 'reply', id, ok: true });
    this.#liveness.set(WorkerState.CLOSED);
    this.#parties.closeAll();
    owner.close();
    this.#onClosed();
  }

  /** The writer's connection, made on demand (after a failure, on the next write) within the deadline. */
  async #connection(deadline: number): Promise<Client> {
    if (this.#client !== undefined) return this.#client;
    const left = deadline - performance.now();
    if (left <= 0) throw new DeadlineError('no time left to connect');
    this.#connecting ??= (async () => {
      let client: Client | undefined;
      try {
        client = await connectClient(this.#pg, this.#config.settings, left, (error) => {
          debug('pg writer connection error: %s', error.message);
          if (client !== undefined) this.#drop(client);
        });
        this.#adopt(client);
        return client;
      } finally {
        this.#connecting = undefined;
      }
    })();
    return this.#connecting;
  }

  #adopt(client: Client): void {
    this.#client = client;
    client.on('end', () => {
      if (this.#client === client) this.#client = undefined;
    });
  }

  /** Drops a connection that failed or did not answer in time; the next write makes a new one. */
  #drop(client: Client): void {
    if (this.#client === client) this.#client = undefined;
    destroyClient(client);
  }

  /** Runs `work`, or throws DeadlineError at `deadline` after `onLate` (which should make `work` fail too). */
  async #within<T>(deadline: number, work: () => Promise<T>, onLate: () => void): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        onLate();
        reject(new DeadlineError(`no answer within ${this.#budgetMs} ms`));
      }, Math.max(0, deadline - performance.now()));
    });
    const running = work();
    running.catch(() => undefined);
    try {
      return await Promise.race([running, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  #answer(party: EventParty, id: number, error: Error): void {
    this.#reply(party, { kind: 'reply', id, ok: false, error: toWireError(error) });
  }

  #reply(party: EventParty, reply: Reply): void {
    party.send(reply);
    party.wake();
  }
}

/** Connection exceptions (08…) and operator intervention (57…: shutdown, crash, cancel): the session is gone. */
function isConnectionState(state: string | undefined): boolean {
  return state === undefined || state.startsWith('08') || state.startsWith('57');
}

function assertNever(message: never): never {
  throw new Error(`unhandled request ${JSON.stringify(message)}`);
}
