/**
 * The rows of list_semantic_views() and describe_semantic_view(name), built from the
 * main thread's map. Pure, so the table functions only copy them into DuckDB vectors.
 */
import type { ReadonlyJson } from '../frozen-json.js';
import { isSemanticViewEntry, type SemanticView } from '../../shared/semantic-view.js';

/** A row value: what the table functions write into VARCHAR / INTEGER columns. */
export type Cell = string | number | null;

/** One result column of a table function. */
export interface ColumnSpec {
  readonly name: string;
  readonly type: 'VARCHAR' | 'INTEGER' | 'JSON';
}

export const LIST_COLUMNS: readonly ColumnSpec[] = [
  { name: 'name', type: 'VARCHAR' },
  { name: 'base_table', type: 'VARCHAR' },
  { name: 'dimension_count', type: 'INTEGER' },
  { name: 'metric_count', type: 'INTEGER' },
  { name: 'comment', type: 'VARCHAR' },
  { name: 'definition', type: 'JSON' },
];

export const DESCRIBE_COLUMNS: readonly ColumnSpec[] = [
  { name: 'kind', type: 'VARCHAR' },
  { name: 'name', type: 'VARCHAR' },
  { name: 'expr', type: 'VARCHAR' },
  { name: 'agg', type: 'VARCHAR' },
  { name: 'comment', type: 'VARCHAR' },
];

/**
 * One row per semantic view, sorted by name. Entries of other kinds are skipped. A view
 * stored invalid through the untyped API is still listed (with what can be read of it),
 * so nothing stored is hidden; describe_semantic_view reports what is wrong with it.
 */
export function listRows(entries: ReadonlyArray<readonly [string, ReadonlyJson]>): Cell[][] {
  const rows: Cell[][] = [];
  for (const [name, value] of entries) {
    if (!isSemanticViewEntry(value)) continue;
    const view = value as Readonly<Record<string, ReadonlyJson>>;
    rows.push([name, textOrNull(view.base_table), lengthOf(view.dimensions), lengthOf(view.metrics), textOrNull(view.comment), JSON.stringify(value)]);
  }
  return rows;
}

/** One row per dimension, then per metric, then per filter, in definition order. */
export function describeRows(view: SemanticView): Cell[][] {
  return [
    ...view.dimensions.map((d): Cell[] => ['dimension', d.name, d.expr, null, d.comment ?? null]),
    ...view.metrics.map((m): Cell[] => ['metric', m.name, m.expr, m.agg ?? null, m.comment ?? null]),
    ...(view.filters ?? []).map((f): Cell[] => ['filter', null, f, null, null]),
  ];
}

function textOrNull(value: ReadonlyJson | undefined): string | null {
  return typeof value === 'string' ? value : null;
}

function lengthOf(value: ReadonlyJson | undefined): number {
  return Array.isArray(value) ? value.length : 0;
}
