import type { Client, QueryResult } from 'pg';
import { CatalogStorageError } from '../shared/errors.js';
import type { WireError, WriteRequest } from '../shared/protocol.js';
import { debug } from '../shared/debug-log.js';
import { planBatch, type BatchPlan } from './batch-plan.js';
import { isConnectionLoss, sqlState, storageError } from './pg-connect.js';
import type { PgSql } from './pg-schema.js';
import { DeadlineError, within, type PgSession } from './pg-session.js';

/** Serialization failures and deadlocks: PostgreSQL asks for the transaction to be retried. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 5;

/** Where a batch's transaction was when it failed: only a failure in COMMIT leaves the outcome unknown. */
type Phase = 'connect' | 'transaction' | 'commit';

/** What a batch's transaction did. */
export type Outcome =
  /** An apply refused whole (one op would be refused): nothing was written. */
  | { readonly kind: 'refused'; readonly error: WireError }
  /** Every op refused, or a net effect of nothing: nothing was written. */
  | { readonly kind: 'nothing'; readonly plan: BatchPlan }
  /** Committed: changes `before + 1 .. after` of the log. */
  | { readonly kind: 'committed'; readonly plan: BatchPlan; readonly before: number; readonly after: number };

/**
 * One batch of writes as one PostgreSQL transaction: the counter row's lock (serializing
 * every writer of every process), the touched names' versions, the refusals planned against
 * them (EXISTS, NOT_FOUND, CONFLICT: PostgreSQL's rows decide, not a replica), one statement
 * for rows + change log + counter + NOTIFY, rows expected == rows found, COMMIT. ROLLBACK
 * only on error; serialization failures and deadlocks retried, a bounded number of times.
 */
export class PgBatch {
  readonly #session: PgSession;
  readonly #sql: PgSql;
  readonly #displayUrl: string;
  readonly #budgetMs: number;

  constructor(session: PgSession, sql: PgSql, displayUrl: string, budgetMs: number) {
    this.#session = session;
    this.#sql = sql;
    this.#displayUrl = displayUrl;
    this.#budgetMs = budgetMs;
  }

  /**
   * Runs a batch's transaction, retrying serialization failures and deadlocks, within the
   * budget of its oldest request.
   * @returns the outcome, or the error every op of the batch gets.
   */
  async run(requests: readonly WriteRequest[], allOrNothing: boolean, since: number): Promise<{ outcome: Outcome } | { failure: Error }> {
    const deadline = since + this.#budgetMs;
    const phase: { at: Phase } = { at: 'connect' };
    let client: Client | undefined;
    let reconnected = false;
    for (let attempt = 1; ; attempt++) {
      phase.at = 'connect';
      try {
        client = await this.#session.connection(deadline);
        const connected = client;
        const outcome = await within(deadline, () => this.#transaction(connected, requests, allOrNothing, phase), () => this.#session.drop(connected));
        return { outcome };
      } catch (error) {
        const state = sqlState(error);
        const broken = client === undefined || client !== this.#session.client || isConnectionLoss(error) || error instanceof DeadlineError;
        if (broken) {
          if (client !== undefined) this.#session.drop(client);
        } else if (client !== undefined) {
          await client.query('ROLLBACK').catch(() => this.#session.drop(client!));
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
      return new CatalogStorageError(`PostgreSQL (${this.#displayUrl}) did not answer within ${this.#budgetMs} ms${unknown}`, { cause: error });
    }
    if (phase === 'connect') return storageError(`PostgreSQL (${this.#displayUrl}) is unreachable`, error);
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
    const stored = await client.query<{ name: string; version: string }>({ name: this.#sql.statement('versions'), text: this.#sql.readVersions, values: [names] });
    const index = new Map(stored.rows.map((row) => [row.name, Number(row.version)]));
    const plan = planVersioned(index, requests, before);
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
    const written = await client.query<{ up: number; del: number; ch: number; seq: string }>({ name: this.#sql.statement('write'), text: this.#sql.write, values: [
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
    ] });
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
}

/**
 * Plans a batch whose changes will be `before + 1 .. before + n`, giving every write the
 * batch's last change seq `before + n` as its version: the seq its change event carries on
 * every handle, as on the journal store. Seqs only grow and each batch takes its own range,
 * so a name's version never repeats, even across a drop and a define by another process.
 * `n` (the net change count) is known only after planning, so a batch of several changes is
 * planned again with it. Only an apply whose op guesses the batch's own version (an
 * `ifVersion` on a name staged earlier in it) can change `n` that way; when no version is
 * consistent, the plan returned refuses that op (and an apply is all or nothing).
 */
export function planVersioned(index: ReadonlyMap<string, number>, requests: readonly WriteRequest[], before: number): BatchPlan {
  let version = before + 1;
  const tried: BatchPlan[] = [];
  for (let tries = 0; tries < 4; tries++) {
    const plan = planBatch(index, requests, version);
    const count = plan.changes.names.length;
    if (count === 0 || before + count === version) return plan;
    tried.push(plan);
    version = before + count;
  }
  // The versions alternate: the op whose guess flips the count is refused in one of them.
  const refusing = tried.find((plan) => plan.replies.some((reply) => !reply.ok));
  if (refusing !== undefined) return refusing;
  throw new CatalogStorageError(`no consistent version for a batch of ${requests.length} writes after seq ${before}: nothing was committed`);
}
