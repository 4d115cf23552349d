/** Every statement the writer runs. The table layout is part of the file format: change it with a migration. */

export const SCHEMA_NAME = 'semantic_layer';
export const TABLE_NAME = '_definitions';
export const TABLE = `${SCHEMA_NAME}.${TABLE_NAME}`;

/**
 * No key on `name`: the writer is the table's only writer and keeps names unique itself
 * (every change deletes the name's row before it appends the new one). An index on it
 * cost each DuckDB checkpoint time in proportion to the table, not the change: measured on
 * DuckDB 1.5.6, after 500 changed rows, 420 ms at 1M rows of 300 B and 530–600 ms at 60k
 * rows of 8 KB with the key, 14 ms and 11–40 ms without (and the changes themselves 2–10x
 * faster). Those checkpoints were the seconds-long applies that held writers at `maxLagMs`.
 */
const DEFINITIONS_COLUMNS = `(
  name VARCHAR NOT NULL,
  definition JSON NOT NULL,
  version BIGINT NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
)`;

export const CREATE_SCHEMA = `
CREATE SCHEMA IF NOT EXISTS semantic_layer;
CREATE TABLE IF NOT EXISTS ${TABLE} ${DEFINITIONS_COLUMNS};
CREATE TABLE IF NOT EXISTS ${SCHEMA_NAME}._journal_position (
  id INTEGER PRIMARY KEY,
  applied_seq BIGINT NOT NULL
);`;

/** Whether the table still has the primary key on `name` of earlier files (see {@link MIGRATE_TO_UNKEYED}). */
export const HAS_NAME_KEY = `
SELECT count(*)::INTEGER AS n FROM duckdb_constraints()
WHERE schema_name = '${SCHEMA_NAME}' AND table_name = '${TABLE_NAME}' AND database_name = current_database()
  AND constraint_type = 'PRIMARY KEY'`;

/**
 * Rewrites a keyed table as the unkeyed layout, rows unchanged, in one transaction (run
 * inside BEGIN … COMMIT): a crash leaves either layout whole. DuckDB cannot drop a primary
 * key in place. 270 ms for 1M rows here.
 */
export const MIGRATE_TO_UNKEYED = [
  `CREATE TABLE ${TABLE}_unkeyed ${DEFINITIONS_COLUMNS}`,
  `INSERT INTO ${TABLE}_unkeyed SELECT name, definition, version, updated_at FROM ${TABLE} ORDER BY version`,
  `DROP TABLE ${TABLE}`,
  `ALTER TABLE ${TABLE}_unkeyed RENAME TO ${TABLE_NAME}`,
];

/**
 * The journal position the table reflects, written in the same transaction as the rows:
 * after any crash, the rows and the position agree, so open knows exactly which
 * journaled batches DuckDB still lacks.
 */
export const SELECT_APPLIED_SEQ = `SELECT applied_seq::BIGINT FROM ${SCHEMA_NAME}._journal_position WHERE id = 1`;

export const SET_APPLIED_SEQ = `INSERT OR REPLACE INTO ${SCHEMA_NAME}._journal_position VALUES (1, $1)`;

export const HAS_ROWS = `SELECT EXISTS (SELECT 1 FROM ${TABLE}) AS has_rows`;

export const TABLE_EXISTS = `
SELECT count(*)::INTEGER AS n FROM duckdb_tables()
WHERE schema_name = 'semantic_layer' AND table_name = '_definitions' AND database_name = current_database()`;

/**
 * Names come back as UTF-8 bytes: @duckdb/node-api decodes VARCHAR with a decoder that drops
 * a leading U+FEFF, which would merge '\uFEFFx' into 'x' (measured on 1.5.6-r.1).
 */
export const SELECT_ALL = `SELECT encode(name) AS name, definition::VARCHAR AS definition, version::INTEGER AS version FROM ${TABLE}`;

// Lists are bound as parameters, so the statement is prepared once and a group commit never
// builds SQL text. A semi-join: one scan of the name column whatever the list's length.
export const DELETE_MANY = `DELETE FROM ${TABLE} WHERE name IN (SELECT unnest($1::VARCHAR[]))`;

/**
 * Rows are appended in batch order, so `version` (the batch's seq) grows along the table and
 * DuckDB's zone maps skip every row group outside the range: a one-row delete cost ~2 ms at
 * 100k and at 1M rows, against 3 and 17 ms by name alone (one DuckDB thread).
 */
export const DELETE_ONE_VERSIONED = `DELETE FROM ${TABLE} WHERE version = $2 AND name = $1 RETURNING encode(name)`;

// RETURNING the names: rows expected == rows found is checked per name, not as a count
// (one name's extra row must not hide another's missing one).
export const DELETE_MANY_VERSIONED = `DELETE FROM ${TABLE} WHERE version BETWEEN $2 AND $3 AND name IN (SELECT unnest($1::VARCHAR[])) RETURNING encode(name)`;
