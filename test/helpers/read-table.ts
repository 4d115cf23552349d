import { DuckDBInstance } from '@duckdb/node-api';

/**
 * Every row of a closed catalog file, read with DuckDB directly (not through duckcat), as
 * [name, parsed definition] sorted by name, plus the table's own row count.
 */
export async function readTable(path: string): Promise<{ rows: Array<[string, unknown]>; count: number }> {
  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll('SELECT name, definition::VARCHAR FROM semantic_layer._definitions');
    const rows = reader
      .getRows()
      .map(([name, json]) => [String(name), JSON.parse(String(json))] as [string, unknown])
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const counted = await connection.runAndReadAll('SELECT count(*)::INTEGER FROM semantic_layer._definitions');
    return { rows, count: Number(counted.getRows()[0]?.[0]) };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
