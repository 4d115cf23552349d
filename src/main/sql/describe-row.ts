/**
 * The row of describe_semantic_view(name), in the seeds' shape: one row per view with the
 * stored dimensions, metrics, filters and joins as JSON text. Pure, like view-rows.ts.
 */
import type { SemanticView } from '../../shared/semantic-view.js';
import type { Cell, ColumnSpec } from './view-rows.js';

/** describe_semantic_view's result columns, as the seeds name them. */
export const DESCRIBE_VIEW_COLUMNS: readonly ColumnSpec[] = [
  { name: 'name', type: 'VARCHAR' },
  { name: 'base_table', type: 'VARCHAR' },
  { name: 'dimensions', type: 'VARCHAR' },
  { name: 'metrics', type: 'VARCHAR' },
  { name: 'filters', type: 'VARCHAR' },
  { name: 'joins', type: 'VARCHAR' },
];

/**
 * `name, base_table, dimensions, metrics, filters, joins`: the last four as JSON text with
 * every object's keys in sorted order (`[{"expr":"region","name":"region"}]`), and the
 * text `null` (not SQL NULL) for a list the definition leaves out, as the seeds answer.
 */
export function describeViewRow(name: string, view: SemanticView): Cell[] {
  return [name, view.base_table, sortedJson(view.dimensions), sortedJson(view.metrics), sortedJson(view.filters), sortedJson(view.joins)];
}

/** JSON text of `value` with object keys sorted; `undefined` is written as `null`. */
export function sortedJson(value: unknown): string {
  return JSON.stringify(value ?? null, (_key, item: unknown) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
    const source = item as Record<string, unknown>;
    return Object.fromEntries(Object.keys(source).sort().map((key) => [key, source[key]]));
  });
}
