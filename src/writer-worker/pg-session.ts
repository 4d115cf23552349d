import type { Client } from 'pg';
import type { ResolvedPgSettings } from '../shared/pg-options.js';
import { debug } from '../shared/debug-log.js';
import { connectClient, destroyClient, endClient, isConnectionLoss } from './pg-connect.js';

type PgModule = typeof import('pg');

/** A call's deadline passed before PostgreSQL answered; the connection was dropped. */
export class DeadlineError extends Error {}

/**
 * The writer's connection: made on demand (at open, and on the first call after a
 * failure) within the caller's deadline, dropped at once when it fails or does not answer
 * in time, so one unreachable server never holds a call past its deadline.
 */
export class PgSession {
  readonly #pg: PgModule;
  readonly #settings: ResolvedPgSettings;
  #client: Client | undefined;
  #connecting: Promise<Client> | undefined;

  constructor(pg: PgModule, settings: ResolvedPgSettings, client: Client) {
    this.#pg = pg;
    this.#settings = settings;
    this.#adopt(client);
  }

  /** The open connection, if there is one now. */
  get client(): Client | undefined {
    return this.#client;
  }

  /** The connection, made if needed within `deadline` (performance.now() time). */
  async connection(deadline: number): Promise<Client> {
    if (this.#client !== undefined) return this.#client;
    const left = deadline - performance.now();
    if (left <= 0) throw new DeadlineError('no time left to connect');
    this.#connecting ??= (async () => {
      let client: Client | undefined;
      try {
        client = await connectClient(this.#pg, this.#settings, left, (error) => {
          debug('pg writer connection error: %s', error.message);
          if (client !== undefined) this.drop(client);
        });
        this.#adopt(client);
        return client;
      } finally {
        this.#connecting = undefined;
      }
    })();
    return this.#connecting;
  }

  /**
   * Runs `work` on the connection within `deadline`. A session found dead when used (cut
   * while idle: pg_terminate_backend, a server restart) is replaced once, within the same
   * deadline: an idle connection's death is only noticed by the next query. For reads and
   * work that is safe to repeat; a batch's transaction has its own rule (pg-batch).
   */
  async use<T>(deadline: number, work: (client: Client) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.connection(deadline);
      try {
        return await within(deadline, () => work(client), () => this.drop(client));
      } catch (error) {
        if (error instanceof DeadlineError || !isConnectionLoss(error)) throw error;
        this.drop(client);
        if (attempt > 1 || performance.now() >= deadline) throw error;
        debug('pg session found dead, reconnecting once: %s', error instanceof Error ? error.message : String(error));
      }
    }
  }

  /** Drops a connection that failed or did not answer in time; the next call makes a new one. */
  drop(client: Client): void {
    if (this.#client === client) this.#client = undefined;
    destroyClient(client);
  }

  /** Ends the connection (close()), bounded. */
  async end(ms: number): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client !== undefined) await endClient(client, ms);
  }

  #adopt(client: Client): void {
    this.#client = client;
    client.on('end', () => {
      if (this.#client === client) this.#client = undefined;
    });
  }
}

/** Runs `work`, or throws DeadlineError at `deadline` after `onLate` (which should make `work` fail too). */
export async function within<T>(deadline: number, work: () => Promise<T>, onLate: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onLate();
      reject(new DeadlineError('no answer before the deadline'));
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
