import type { DuckDBValue } from '@duckdb/node-api';

/**
 * A result value as SQLLogicTest text: NULL as `NULL`, an empty string as `(empty)`,
 * booleans as `true`/`false`, everything else as DuckDB's own text for it.
 */
export function renderValue(value: DuckDBValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'string') return value === '' ? '(empty)' : value;
  return String(value);
}

/** The rows of a result as tab-separated lines, sorted when `rowsort`. */
export function renderRows(rows: readonly (readonly DuckDBValue[])[], sort: 'none' | 'rowsort'): string[] {
  const lines = rows.map((row) => row.map(renderValue).join('\t'));
  return sort === 'rowsort' ? lines.sort() : lines;
}
