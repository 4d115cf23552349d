import type { Client, ClientConfig } from 'pg';
import { CatalogInvalidError, CatalogStorageError } from '../shared/errors.js';
import type { ResolvedPgSettings } from '../shared/pg-options.js';

type PgModule = typeof import('pg');

let loaded: PgModule | undefined;

/**
 * The `pg` package, imported on first use: it is an optional peer dependency, needed only
 * by catalogs opened on a PostgreSQL URL.
 * @throws {CatalogInvalidError} naming `npm install pg` when it is not installed.
 */
export async function loadPg(): Promise<PgModule> {
  if (loaded !== undefined) return loaded;
  try {
    const module = (await import('pg')) as PgModule & { default?: PgModule };
    loaded = module.default ?? module;
    return loaded;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error;
    throw new CatalogInvalidError('path', 'a PostgreSQL catalog needs the optional peer dependency "pg": run `npm install pg`', { cause: error });
  }
}

/**
 * A new connection, open, or an error within `timeoutMs`. Its 'error' event (the server
 * went away while idle) is handed to `onError` rather than crashing the thread.
 */
export async function connectClient(pg: PgModule, settings: ResolvedPgSettings, timeoutMs: number, onError: (error: Error) => void): Promise<Client> {
  const { connectionTimeoutMillis, keepAlive = true, keepAliveInitialDelayMillis = 10_000, application_name = 'duckcat', ssl } = settings.connection;
  const config: ClientConfig = {
    connectionString: settings.url,
    connectionTimeoutMillis: Math.max(1, Math.min(connectionTimeoutMillis ?? timeoutMs, timeoutMs)),
    keepAlive,
    keepAliveInitialDelayMillis,
    application_name,
    ...(ssl === undefined ? {} : { ssl: ssl as ClientConfig['ssl'] }),
  };
  const client = new pg.Client(config);
  client.on('error', onError);
  try {
    await client.connect();
  } catch (error) {
    destroyClient(client);
    throw error;
  }
  return client;
}

/**
 * Drops a connection at once, without the goodbye `end()` sends (which waits on a server
 * that may not answer): its queries in flight fail, and the server rolls back an open
 * transaction when it sees the socket close.
 */
export function destroyClient(client: Client): void {
  const stream = (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream;
  try {
    if (typeof stream?.destroy === 'function') stream.destroy();
    else void client.end().catch(() => undefined);
  } catch {
    // already gone
  }
}

/** Ends a connection politely, bounded: what close() does. */
export async function endClient(client: Client, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    client.end().then(() => true, () => true),
    new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false))),
  ]);
  clearTimeout(timer);
  if (!ended) destroyClient(client);
}

/** The SQLSTATE of a server error, if it is one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** A pg or network error as ERR_CATALOG_STORAGE, with the SQLSTATE (or errno code) in the message and the error as cause. */
export function storageError(what: string, error: unknown): CatalogStorageError {
  const message = error instanceof Error ? error.message : String(error);
  const state = sqlState(error);
  const errno = (error as { code?: unknown } | null)?.code;
  const tag = state !== undefined ? ` (SQLSTATE ${state})` : typeof errno === 'string' ? ` (${errno})` : '';
  return new CatalogStorageError(`${what}: ${message}${tag}`, { cause: error });
}

/**
 * True when an error means the session is gone: a connection exception (08…), operator
 * intervention (57…: shutdown, crash, pg_terminate_backend), or a socket/driver error with
 * no SQLSTATE. Not a server's refusal of a statement, nor duckcat's own typed errors.
 */
export function isConnectionLoss(error: unknown): boolean {
  const state = sqlState(error);
  if (state !== undefined) return state.startsWith('08') || state.startsWith('57');
  const code = (error as { code?: unknown } | null)?.code;
  return !(typeof code === 'string' && code.startsWith('ERR_CATALOG'));
}
