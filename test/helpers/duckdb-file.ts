import { DuckDBInstance } from '@duckdb/node-api';

export interface DuckdbContents {
  /** name → parsed definition, from `definition::VARCHAR`. */
  readonly rows: Map<string, unknown>;
  /** `semantic_layer._journal_position.applied_seq`, or null when the file records none. */
  readonly appliedSeq: number | null;
}

/**
 * Reads a closed catalog's DuckDB file with a plain `@duckdb/node-api` instance — not
 * through duckcat — opened read-write, as a user's own tool would, so DuckDB replays its
 * own WAL first. Throws if a name has more than one row.
 */
export async function readDuckdbFile(path: string): Promise<DuckdbContents> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll('SELECT name, definition::VARCHAR FROM semantic_layer._definitions');
    const rows = new Map<string, unknown>();
    for (const [name, json] of reader.getRows()) {
      // The table has no key: one row per name is the writer's promise, checked here for every test that reads a file.
      if (rows.has(String(name))) throw new Error(`${path}: more than one row for ${String(name)}`);
      rows.set(String(name), JSON.parse(String(json)));
    }
    let appliedSeq: number | null = null;
    const hasPosition = await connection.runAndReadAll(
      "SELECT count(*)::INTEGER FROM duckdb_tables() WHERE schema_name = 'semantic_layer' AND table_name = '_journal_position'",
    );
    if (Number(hasPosition.getRows()[0]?.[0]) > 0) {
      const position = await connection.runAndReadAll('SELECT applied_seq::BIGINT FROM semantic_layer._journal_position WHERE id = 1');
      const value = position.getRows()[0]?.[0];
      appliedSeq = value === undefined || value === null ? null : Number(value);
    }
    return { rows, appliedSeq };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
