/**
 * A PostgreSQL-backed catalog's tables read with the `pg` package directly, bypassing
 * duckcat: what "PostgreSQL's rows" means in the tests. The table layout is the library's
 * (src/writer-worker/pg-schema.ts): `definitions(name, json, version)`, `changes(seq,
 * name, json, version)`, `counter(seq)`, all in the catalog's schema.
 */
import { adminQuery, quoteIdent } from './pg-cluster.js';

export interface PgCatalogRows {
  /** name → [definition, version], sorted by name. */
  readonly entries: Array<[string, unknown, number]>;
  /** The change log in seq order; `json` null for a drop. */
  readonly changes: Array<{ seq: number; name: string; json: unknown; version: number }>;
  /** The newest seq, as the counter row says. */
  readonly counter: number;
}

export async function readPgCatalog(url: string, schema = 'duckcat'): Promise<PgCatalogRows> {
  const s = quoteIdent(schema);
  const definitions = await adminQuery(url, `SELECT name, json, version FROM ${s}.definitions ORDER BY name COLLATE "C"`);
  const changes = await adminQuery(url, `SELECT seq, name, json, version FROM ${s}.changes ORDER BY seq`);
  const counter = await adminQuery(url, `SELECT seq FROM ${s}.counter`);
  return {
    entries: definitions.rows.map((row) => [row.name, parseJson(row.json), Number(row.version)]),
    changes: changes.rows.map((row) => ({ seq: Number(row.seq), name: row.name, json: row.json === null ? null : parseJson(row.json), version: Number(row.version) })),
    counter: Number(counter.rows[0]?.seq ?? 0),
  };
}

/** The column may be text (JSON inside) or jsonb (already parsed by `pg`). */
function parseJson(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}
