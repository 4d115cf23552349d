import { debug } from '../shared/debug-log.js';
import type { PgSql } from './pg-schema.js';
import type { PgSession } from './pg-session.js';

/** Most change rows one prune deletes: a backlog is worked off over several rounds, each short. */
export const PRUNE_ROWS = 10_000;

/**
 * Keeps the `changes` log bounded: the newest `retain` changes stay, older ones are
 * deleted by the writer from time to time (at most {@link PRUNE_ROWS} a round, once the
 * log has grown a tenth past `retain`). Each process prunes after its own writes; two
 * pruning at once delete the same rows, harmlessly. A replica that falls behind the pruned
 * point finds a gap in the log and reloads from a snapshot (pg-feed).
 */
export class LogPruner {
  readonly #session: PgSession;
  readonly #sql: PgSql;
  readonly #retain: number;
  /** Changes past `retain` tolerated before a round: prunes come in steps, not per write. */
  readonly #slack: number;
  /** Everything at or below this seq is gone (as far as this process knows). */
  #prunedTo = 0;

  constructor(session: PgSession, sql: PgSql, retain: number) {
    this.#session = session;
    this.#sql = sql;
    this.#retain = retain;
    this.#slack = Number.isFinite(retain) ? Math.max(1, Math.min(PRUNE_ROWS, Math.ceil(retain / 10))) : Infinity;
  }

  /** Whether a round is due, with the log at `seq`. */
  due(seq: number): boolean {
    return seq - this.#retain - this.#prunedTo >= this.#slack;
  }

  /** One round, within `deadline`; failures are only logged (the next round tries again). */
  async run(seq: number, deadline: number): Promise<void> {
    const cutoff = seq - this.#retain;
    try {
      const deleted = await this.#session.use(deadline, async (client) => {
        const result = await client.query({ name: this.#sql.statement('prune'), text: this.#sql.prune, values: [cutoff, PRUNE_ROWS] });
        return result.rowCount ?? 0;
      });
      // A full round may have left more: stay due. Otherwise everything up to the cutoff is gone.
      if (deleted < PRUNE_ROWS) this.#prunedTo = cutoff;
      debug('pg change log pruned: %d rows at or below seq %d', deleted, cutoff);
    } catch (error) {
      debug('pg change log prune failed: %s', error instanceof Error ? error.message : String(error));
    }
  }
}
