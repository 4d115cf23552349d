import { CatalogInvalidError } from './errors.js';
import type { CatalogOptions } from './options.js';

/**
 * PostgreSQL settings of a PostgreSQL-backed catalog: `retainChanges`, and connection
 * settings passed to the `pg` package. Only these keys are accepted (the connection ones
 * are `pg`'s own, with its meaning); the rest of the connection comes from the URL.
 */
export interface PgConnectionOptions {
  /**
   * How many of the newest changes the `changes` log keeps: older ones are deleted by the
   * writers from time to time (in rounds, once the log has grown a tenth past this). A
   * replica that falls further behind than this (a process cut off for long) reloads every
   * row from a snapshot instead of reading the log. A positive integer, or `Infinity` to
   * keep every change.
   * @default 100000
   */
  retainChanges?: number;
  /** Longest a connection attempt may take, in ms. Default: `openTimeoutMs` at open, then at most `timeoutMs`. */
  connectionTimeoutMillis?: number;
  /** TLS: `true`, or `pg`'s / `tls.connect`'s options object (`ca`, `rejectUnauthorized`, ...). */
  ssl?: boolean | Record<string, unknown>;
  /** Shown in `pg_stat_activity`. @default 'duckcat' */
  application_name?: string;
  /** TCP keepalive on both connections, so a dead peer is noticed. @default true */
  keepAlive?: boolean;
  /** Delay before the first keepalive probe, in ms. @default 10000 */
  keepAliveInitialDelayMillis?: number;
}

/** Options of `Catalog.open` for a `postgres://` or `postgresql://` URL. */
export interface PgCatalogOptions extends Pick<CatalogOptions, (typeof PG_CATALOG_OPTION_KEYS)[number]> {
  /**
   * PostgreSQL schema holding the catalog's tables (`definitions`, `changes`, `counter`);
   * created if missing. Every process that opens the same URL and schema shares one catalog.
   * @default 'duckcat'
   */
  schema?: string;
  /** Connection settings for the `pg` package. */
  pg?: PgConnectionOptions;
}

/** The options of {@link CatalogOptions} that mean something for a PostgreSQL catalog. */
export const PG_CATALOG_OPTION_KEYS = ['timeoutMs', 'hangTimeoutMs', 'openTimeoutMs', 'readOnly', 'maxNameBytes', 'maxDefinitionBytes'] as const;

/** What the PostgreSQL worker is given, validated. */
export interface ResolvedPgSettings {
  readonly url: string;
  readonly schema: string;
  /** Connection settings for `pg` (without `retainChanges`). */
  readonly connection: Readonly<Omit<PgConnectionOptions, 'retainChanges'>>;
  /** See {@link PgConnectionOptions.retainChanges}; `Infinity` keeps every change. */
  readonly retainChanges: number;
}

/** Default of {@link PgConnectionOptions.retainChanges}. */
export const DEFAULT_RETAIN_CHANGES = 100_000;

const POSTGRES_URL = /^postgres(ql)?:\/\//i;
/** A plain lower-case identifier: no quoting needed, no surprises in `search_path` or NOTIFY channel names. */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const CONNECTION_KEYS: ReadonlySet<string> = new Set(['connectionTimeoutMillis', 'ssl', 'application_name', 'keepAlive', 'keepAliveInitialDelayMillis', 'retainChanges']);

/** True for a `postgres://` or `postgresql://` URL: such a path opens a PostgreSQL-backed catalog. */
export function isPostgresUrl(path: unknown): boolean {
  return typeof path === 'string' && POSTGRES_URL.test(path);
}

/**
 * Takes `schema` and `pg` out of the options (the rest go through the usual resolver) and
 * checks them and the URL.
 * @throws {CatalogInvalidError} naming the bad field.
 */
export function splitPgOptions(url: string, options: unknown): { readonly rest: Record<string, unknown> | undefined; readonly settings: ResolvedPgSettings } {
  try {
    new URL(url);
  } catch {
    throw new CatalogInvalidError('path', `is not a valid PostgreSQL URL: ${JSON.stringify(redactUrl(url).slice(0, 120))}`);
  }
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new CatalogInvalidError('options', 'must be an object');
  }
  const { schema = 'duckcat', pg = {}, ...rest } = (options ?? {}) as Record<string, unknown>;
  if (typeof schema !== 'string' || !IDENTIFIER.test(schema)) {
    throw new CatalogInvalidError('options.schema', `must be a lower-case SQL identifier (letters, digits, _; at most 63), got ${JSON.stringify(String(schema)).slice(0, 80)}`);
  }
  if (typeof pg !== 'object' || pg === null || Array.isArray(pg)) throw new CatalogInvalidError('options.pg', 'must be an object');
  const { retainChanges = DEFAULT_RETAIN_CHANGES, ...connection } = pg as Record<string, unknown>;
  if (retainChanges !== Number.POSITIVE_INFINITY && (typeof retainChanges !== 'number' || !Number.isSafeInteger(retainChanges) || retainChanges <= 0)) {
    throw new CatalogInvalidError('options.pg.retainChanges', `must be a positive integer or Infinity, got ${String(retainChanges)}`);
  }
  for (const key of Object.keys(connection)) {
    if (!CONNECTION_KEYS.has(key)) throw new CatalogInvalidError(`options.pg.${key}`, `unknown option (supported: ${[...CONNECTION_KEYS].join(', ')}; the rest goes in the URL)`);
  }
  for (const key of ['connectionTimeoutMillis', 'keepAliveInitialDelayMillis'] as const) {
    const value = connection[key];
    if (value !== undefined && (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)) {
      throw new CatalogInvalidError(`options.pg.${key}`, `must be a positive integer, got ${String(value)}`);
    }
  }
  if (connection.ssl !== undefined && typeof connection.ssl !== 'boolean' && (typeof connection.ssl !== 'object' || connection.ssl === null)) {
    throw new CatalogInvalidError('options.pg.ssl', 'must be a boolean or an object of TLS options');
  }
  if (connection.application_name !== undefined && typeof connection.application_name !== 'string') throw new CatalogInvalidError('options.pg.application_name', 'must be a string');
  if (connection.keepAlive !== undefined && typeof connection.keepAlive !== 'boolean') throw new CatalogInvalidError('options.pg.keepAlive', 'must be a boolean');
  // Symbols (test hooks) are kept: the usual resolver reads them.
  for (const symbol of Object.getOwnPropertySymbols(options ?? {})) (rest as Record<symbol, unknown>)[symbol] = (options as Record<symbol, unknown>)[symbol];
  return { rest: options === undefined ? undefined : rest, settings: Object.freeze({ url, schema, connection: Object.freeze({ ...connection }) as PgConnectionOptions, retainChanges: retainChanges as number }) };
}

/** The URL without its password: what error messages and `catalog.path` show. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}
