/**
 * The rows of explain_semantic_view(name, dimensions := [...], metrics := [...]). Pure.
 */
import type { SemanticRequest } from './semantic-request.js';
import type { Cell, ColumnSpec } from './view-rows.js';

/** explain_semantic_view's one result column. */
export const EXPLAIN_COLUMNS: readonly ColumnSpec[] = [{ name: 'explain_output', type: 'VARCHAR' }];

/**
 * `-- Semantic View: <name>`, the requested dimensions and metrics, then the expanded SQL
 * one line per row. No DuckDB plan: getting one means running `EXPLAIN`, which is SQL, and
 * no SQL may run inside a function callback.
 */
export function explainRows(request: SemanticRequest): Cell[][] {
  const list = (names: readonly string[]) => (names.length === 0 ? '(none)' : names.join(', '));
  const lines = [
    `-- Semantic View: ${request.name}`,
    `-- Dimensions: ${list(request.dimensions)}`,
    `-- Metrics: ${list(request.metrics)}`,
    '-- Expanded SQL:',
    ...request.sql.split('\n'),
  ];
  return lines.map((line) => [line]);
}
