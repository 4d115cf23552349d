import type { Client } from 'pg';
import type { Columns } from '../shared/protocol.js';

/**
 * The SQL of a PostgreSQL-backed catalog, for one schema. The schema name was validated
 * as a plain lower-case identifier (see pg-options), so it is inlined unquoted.
 *
 * - `definitions`: the current rows.
 * - `changes`: one row per committed change, `seq` gapless and in commit order (every
 *   writer takes the `counter` row's lock first), so a replica catches up with
 *   `seq > last` and never skips one; `batch_end` (the batch's last seq) keeps a batch
 *   whole across pages. Pruned from the oldest end (see `pg.retainChanges`).
 * - `counter`: one row, the newest `seq`; its row lock serializes writers.
 */
export class PgSql {
  readonly schema: string;
  /** The LISTEN/NOTIFY channel of this catalog. */
  readonly channel: string;
  readonly lockCounter: string;
  readonly readCounter: string;
  readonly readVersions: string;
  readonly readChanges: string;
  /** The rest of a batch a page of {@link readChanges} cut: `seq` in `($1, $2]`. */
  readonly readBatchRest: string;
  /** Deletes the oldest changes at or below a seq, at most so many (retention). */
  readonly prune: string;
  readonly readDefinitions: string;
  readonly write: string;

  constructor(schema: string) {
    const s = schema;
    this.schema = s;
    this.channel = `duckcat_${s}`.slice(0, 63);
    this.lockCounter = `BEGIN; SELECT seq FROM ${s}.counter WHERE id = 1 FOR UPDATE`;
    this.readCounter = `SELECT seq FROM ${s}.counter WHERE id = 1`;
    this.readVersions = `SELECT name, version FROM ${s}.definitions WHERE name = ANY($1::text[])`;
    this.readChanges = `SELECT seq, name, json, version, batch_end FROM ${s}.changes WHERE seq > $1 ORDER BY seq LIMIT $2`;
    this.readBatchRest = `SELECT seq, name, json, version, batch_end FROM ${s}.changes WHERE seq > $1 AND seq <= $2 ORDER BY seq`;
    // The oldest rows first, at most $2 of them: a replica behind the new oldest row finds a
    // gap and reloads from a snapshot, so a round may end inside a batch.
    this.prune = `DELETE FROM ${s}.changes WHERE seq IN (SELECT seq FROM ${s}.changes WHERE seq <= $1::bigint ORDER BY seq LIMIT $2)`;
    this.readDefinitions = `SELECT name, json, version FROM ${s}.definitions`;
    // One statement for the whole batch: upserts, deletes, change rows, the counter and the
    // notification (delivered at COMMIT), and how many rows each part touched, so the
    // writer checks rows expected == rows found before it commits.
    this.write = `WITH up AS (
        INSERT INTO ${s}.definitions (name, json, version)
        SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
        ON CONFLICT (name) DO UPDATE SET json = EXCLUDED.json, version = EXCLUDED.version
        RETURNING 1),
      del AS (DELETE FROM ${s}.definitions WHERE name = ANY($4::text[]) RETURNING 1),
      ch AS (
        INSERT INTO ${s}.changes (seq, name, json, version, batch_end, at)
        SELECT $5::bigint + t.o, t.n, t.j, t.v, $5::bigint + $9::bigint, now() FROM unnest($6::text[], $7::text[], $8::bigint[]) WITH ORDINALITY AS t(n, j, v, o)
        RETURNING 1),
      ctr AS (UPDATE ${s}.counter SET seq = $5::bigint + $9::bigint WHERE id = 1 RETURNING seq)
      SELECT (SELECT count(*) FROM up)::int AS up, (SELECT count(*) FROM del)::int AS del, (SELECT count(*) FROM ch)::int AS ch,
        (SELECT seq FROM ctr) AS seq, pg_notify($10, ($5::bigint + $9::bigint)::text) AS notified`;
  }

  /**
   * The name of a prepared statement of this schema's: `pg` prepares a named statement once
   * per connection, so a batch skips parsing and planning (measured: the write statement
   * 0.62 → 0.33 ms at p50 on loopback).
   */
  statement(kind: 'versions' | 'write' | 'changes' | 'rest' | 'prune'): string {
    return `duckcat_${this.schema}_${kind}`;
  }

  /**
   * Creates the schema and tables if missing. Idempotent and safe when several processes
   * open at once: the DDL runs under a transaction-scoped advisory lock of this schema.
   */
  async create(client: Client): Promise<void> {
    const s = this.schema;
    await client.query('BEGIN');
    try {
      await client.query(`SELECT pg_advisory_xact_lock(hashtext($1)::bigint)`, [`duckcat:${s}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${s}.definitions (name text PRIMARY KEY, json text NOT NULL, version bigint NOT NULL)`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${s}.changes (seq bigint PRIMARY KEY, name text NOT NULL, json text, version bigint NOT NULL, batch_end bigint NOT NULL, at timestamptz NOT NULL DEFAULT now())`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${s}.counter (id int PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL)`);
      await client.query(`INSERT INTO ${s}.counter (id, seq) VALUES (1, 0) ON CONFLICT (id) DO NOTHING`);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /** Every row and the seq they reflect, from one REPEATABLE READ snapshot. */
  async snapshot(client: Client): Promise<{ readonly seq: number; readonly rows: Columns }> {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const counter = await client.query<{ seq: string }>(this.readCounter);
      const result = await client.query<{ name: string; json: string; version: string }>({ text: this.readDefinitions, rowMode: 'array' } as never);
      await client.query('COMMIT');
      const rows: Columns = { names: [], jsons: [], versions: [] };
      for (const row of result.rows as unknown as Array<[string, string, string]>) {
        rows.names.push(row[0]);
        rows.jsons.push(row[1]);
        rows.versions.push(Number(row[2]));
      }
      return { seq: Number(counter.rows[0]?.seq ?? 0), rows };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
}

/** A row of `changes`, as read back. */
export interface ChangeRow {
  readonly seq: number;
  readonly name: string;
  readonly json: string | null;
  readonly version: number;
  /** The seq of its batch's last change: a batch is posted whole or not at all. */
  readonly batchEnd: number;
}
