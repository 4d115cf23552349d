/** Every statement the writer runs. The table layout is part of the file format: change it with a migration. */

export const SCHEMA_NAME = 'semantic_layer';
export const TABLE_NAME = '_definitions';
export const TABLE = `${SCHEMA_NAME}.${TABLE_NAME}`;

export const CREATE_SCHEMA = `
CREATE SCHEMA IF NOT EXISTS semantic_layer;
CREATE TABLE IF NOT EXISTS ${TABLE} (
  name VARCHAR PRIMARY KEY,
  definition JSON NOT NULL,
  version BIGINT NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS ${SCHEMA_NAME}._journal_position (
  id INTEGER PRIMARY KEY,
  applied_seq BIGINT NOT NULL
);`;

/**
 * The journal position the table reflects, written in the same transaction as the rows:
 * after any crash, the rows and the position agree, so open knows exactly which
 * journaled batches DuckDB still lacks.
 */
export const SELECT_APPLIED_SEQ = `SELECT applied_seq::BIGINT FROM ${SCHEMA_NAME}._journal_position WHERE id = 1`;

export const SET_APPLIED_SEQ = `INSERT OR REPLACE INTO ${SCHEMA_NAME}._journal_position VALUES (1, $1)`;

export const HAS_ROWS = `SELECT EXISTS (SELECT 1 FROM ${TABLE}) AS has_rows`;

export const UPSERT_MANY = `
INSERT OR REPLACE INTO ${TABLE}
SELECT unnest($1::VARCHAR[]), unnest($2::VARCHAR[])::JSON, unnest($3::INTEGER[]), now()`;

export const TABLE_EXISTS = `
SELECT count(*)::INTEGER AS n FROM duckdb_tables()
WHERE schema_name = 'semantic_layer' AND table_name = '_definitions' AND database_name = current_database()`;

/**
 * Names come back as UTF-8 bytes: @duckdb/node-api decodes VARCHAR with a decoder that drops
 * a leading U+FEFF, which would merge '\uFEFFx' into 'x' (measured on 1.5.6-r.1).
 */
export const SELECT_ALL = `SELECT encode(name) AS name, definition::VARCHAR AS definition, version::INTEGER AS version FROM ${TABLE}`;

export const UPDATE_ONE = `UPDATE ${TABLE} SET definition = $2, version = $3, updated_at = now() WHERE name = $1`;

// One statement for any number of rows: the lists are bound as parameters, so the
// statement is prepared once and a group commit never builds SQL text.
export const UPDATE_MANY = `
UPDATE ${TABLE} SET definition = u.definition::JSON, version = u.version, updated_at = now()
FROM (SELECT unnest($1::VARCHAR[]) AS name, unnest($2::VARCHAR[]) AS definition, unnest($3::INTEGER[]) AS version) AS u
WHERE ${TABLE}.name = u.name`;

export const DELETE_ONE = `DELETE FROM ${TABLE} WHERE name = $1`;

export const DELETE_MANY = `DELETE FROM ${TABLE} WHERE name IN (SELECT unnest($1::VARCHAR[]))`;
