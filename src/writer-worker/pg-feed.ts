import type { Client } from 'pg';
import type { ResolvedPgSettings } from '../shared/pg-options.js';
import { debug } from '../shared/debug-log.js';
import { connectClient, destroyClient, endClient, isConnectionLoss, storageError } from './pg-connect.js';
import type { Replica } from './pg-replica.js';
import type { ChangeRow, PgSql } from './pg-schema.js';

type PgModule = typeof import('pg');

/** Rows read per catch-up query: a replica far behind catches up in pages. */
const PAGE_ROWS = 5_000;
/**
 * Safety poll: a notification can be lost (a dropped connection between NOTIFY and
 * LISTEN's re-arm); the log is read this often anyway, so nothing waits on it forever.
 */
const POLL_MS = 1_000;
const BACKOFF_FIRST_MS = 50;
const BACKOFF_MAX_MS = 2_000;

/**
 * The change feed of a PostgreSQL-backed catalog: its own connection LISTENs on the
 * catalog's channel; on a notification, after a reconnect and on a slow poll it reads
 * `changes` after the last posted seq and hands the rows to the {@link Replica}. It never
 * trusts a notification's payload, only the log. A lost connection is reopened with backoff.
 */
export class ChangeFeed {
  readonly #pg: PgModule;
  readonly #settings: ResolvedPgSettings;
  readonly #sql: PgSql;
  readonly #replica: Replica;
  readonly #connectMs: number;
  #client: Client | undefined;
  #connecting: Promise<Client> | undefined;
  #closed = false;
  #backoffMs = BACKOFF_FIRST_MS;
  #retry: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  /** The catch-up in progress, and whether another was asked for while it ran. */
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  #lastError: unknown;

  constructor(pg: PgModule, settings: ResolvedPgSettings, sql: PgSql, replica: Replica, connectMs: number) {
    this.#pg = pg;
    this.#settings = settings;
    this.#sql = sql;
    this.#replica = replica;
    this.#connectMs = connectMs;
  }

  /** Connects, listens and catches up once; throws when that fails (open reports it). */
  async start(): Promise<void> {
    await this.#connect();
    await this.catchUp();
    this.#poll = setInterval(() => {
      // While the connection is down the reconnect timer owns the retries (with backoff).
      if (this.#client !== undefined) void this.catchUp().catch(() => undefined);
    }, POLL_MS);
  }

  /** Why the feed is down, when it is. */
  get lastError(): unknown {
    return this.#client === undefined ? this.#lastError : undefined;
  }

  /**
   * Reads and posts every change after the replica's seq. Resolves after a catch-up that
   * started after this call (concurrent asks share one); rejects when the log cannot be read.
   */
  catchUp(): Promise<void> {
    if (this.#running === undefined) {
      this.#running = this.#catchUpOnce().finally(() => (this.#running = undefined));
      return this.#running;
    }
    this.#queued ??= this.#running.catch(() => undefined).then(() => {
      this.#queued = undefined;
      return this.catchUp();
    });
    return this.#queued;
  }

  /** The feed's connection when it is up (sync() reads the counter on it). */
  get client(): Client | undefined {
    return this.#client;
  }

  /** The newest committed seq, read on `client`. */
  async committedSeqOn(client: Client): Promise<number> {
    const result = await client.query<{ seq: string }>(this.#sql.readCounter);
    return Number(result.rows[0]?.seq ?? 0);
  }

  /** A query on the feed's connection found it dead: drop it and reconnect with backoff. */
  lost(client: Client, error: unknown): void {
    this.#lost(client, error);
  }

  /** Catches up on `client` (the writer's), for when the feed's own connection is down. */
  async catchUpWith(client: Client): Promise<void> {
    await this.#read(client);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#poll);
    clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    if (client !== undefined) await endClient(client, 1_000);
  }

  async #catchUpOnce(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let client = this.#client;
      if (client === undefined) {
        try {
          client = await this.#connect();
        } catch (error) {
          this.#scheduleReconnect();
          throw error;
        }
      }
      try {
        await this.#read(client);
        return;
      } catch (error) {
        this.#lost(client, error);
        // A session cut while idle is only found when used: one fresh connection, at once.
        if (attempt > 1 || !isConnectionLoss(error)) throw error;
      }
    }
  }

  /**
   * Reads the log after the replica's seq in pages and posts it. A batch is posted whole:
   * a page that ends inside one is completed before it is posted, so no replica ever shows
   * part of a batch (an apply of more rows than a page included).
   */
  async #read(client: Client): Promise<void> {
    for (;;) {
      const from = this.#replica.seq;
      const result = await client.query<ChangeRecord>({ name: this.#sql.statement('changes'), text: this.#sql.readChanges, values: [from, PAGE_ROWS] });
      const rows = result.rows.map(toChangeRow);
      const full = rows.length === PAGE_ROWS;
      const last = rows[rows.length - 1];
      if (last !== undefined && last.seq < last.batchEnd) {
        const rest = await client.query<ChangeRecord>({ name: this.#sql.statement('rest'), text: this.#sql.readBatchRest, values: [last.seq, last.batchEnd] });
        for (const row of rest.rows) rows.push(toChangeRow(row));
      }
      if (rows.length > 0 && (rows[0]!.seq > from + 1 || !contiguous(rows))) {
        // Posted meanwhile (an own batch, another read): read again from there.
        if (this.#replica.seq !== from) continue;
        // The log was pruned past this replica (or between the two reads): it converges
        // from a snapshot instead.
        await this.resync(client);
        return;
      }
      this.#replica.postLog(rows);
      if (!full) return;
    }
  }

  /** Brings the replica to a fresh snapshot of every row (see {@link Replica.resync}). */
  async resync(client: Client): Promise<void> {
    const snapshot = await this.#sql.snapshot(client);
    debug('pg change feed: log pruned past seq %d; resynced from a snapshot at seq %d', this.#replica.seq, snapshot.seq);
    this.#replica.resync(snapshot.rows, snapshot.seq);
  }

  #connect(): Promise<Client> {
    if (this.#closed) return Promise.reject(new Error('closed'));
    this.#connecting ??= (async () => {
      let client: Client | undefined;
      try {
        client = await connectClient(this.#pg, this.#settings, this.#connectMs, (error) => this.#lost(client, error));
        client.on('notification', (notice: { payload?: string }) => {
          // The payload is the seq the notifying batch ended at. Only a reason to skip a read:
          // at or below what this replica posted (its own writes, mostly), there is nothing new.
          if (Number(notice.payload) <= this.#replica.seq) return;
          void this.catchUp().catch(() => undefined);
        });
        client.on('end', () => this.#lost(client, new Error('connection ended')));
        await client.query(`LISTEN ${this.#sql.channel}`);
        if (this.#closed) {
          destroyClient(client);
          throw new Error('closed');
        }
        this.#client = client;
        this.#backoffMs = BACKOFF_FIRST_MS;
        return client;
      } catch (error) {
        if (client !== undefined) destroyClient(client);
        this.#lastError = error;
        throw storageError('PostgreSQL change feed cannot connect', error);
      } finally {
        this.#connecting = undefined;
      }
    })();
    return this.#connecting;
  }

  /** The connection broke: drop it and reconnect with backoff, catching up once back. */
  #lost(client: Client | undefined, error: unknown): void {
    if (client !== undefined && client === this.#client) {
      this.#client = undefined;
      this.#lastError = error;
      destroyClient(client);
      debug('pg change feed lost its connection: %s', error instanceof Error ? error.message : String(error));
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#retry !== undefined || this.#client !== undefined) return;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(BACKOFF_MAX_MS, this.#backoffMs * 2);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (this.#client !== undefined || this.#closed) return;
      this.catchUp().then(
        () => debug('pg change feed reconnected'),
        () => this.#scheduleReconnect(),
      );
    }, delay);
  }
}

/** A row of `changes` as `pg` returns it (bigint columns as strings). */
interface ChangeRecord {
  readonly seq: string;
  readonly name: string;
  readonly json: string | null;
  readonly version: string;
  readonly batch_end: string;
}

function toChangeRow(row: ChangeRecord): ChangeRow {
  return { seq: Number(row.seq), name: row.name, json: row.json, version: Number(row.version), batchEnd: Number(row.batch_end) };
}

/** Gapless, and ending at its last batch's end. */
function contiguous(rows: readonly ChangeRow[]): boolean {
  for (let i = 1; i < rows.length; i++) if (rows[i]!.seq !== rows[i - 1]!.seq + 1) return false;
  const last = rows[rows.length - 1]!;
  return last.seq === last.batchEnd;
}
