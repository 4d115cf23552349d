import { DuckDBInstance } from '@duckdb/node-api';

/**
 * Pre-creates the catalog table in `path` with a CHECK that names are shorter than 10
 * characters: a real DuckDB failure (ERR_CATALOG_STORAGE) that input validation cannot
 * catch, for the tests of failing commits.
 */
export async function createCheckedTable(path: string): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  await connection.run(`CREATE SCHEMA semantic_layer;
    CREATE TABLE semantic_layer._definitions(name VARCHAR NOT NULL, definition JSON NOT NULL,
      version BIGINT NOT NULL, updated_at TIMESTAMPTZ NOT NULL, CHECK (length(name) < 10))`);
  connection.closeSync();
  instance.closeSync();
}
