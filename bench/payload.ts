/**
 * Builds the definition written by every op: a semantic-view-like object of about 300 bytes
 * of JSON, the size the catalog is designed around. Each name is new, so every op is an
 * insert, never an update of a hot row.
 */

export interface SemanticView {
  kind: 'semantic_view';
  table: string;
  dimensions: Array<{ name: string; expr: string }>;
  metrics: Array<{ name: string; expr: string }>;
  owner: string;
  revision: number;
}

/** The name defined by op `i`. */
export function nameFor(i: number): string {
  return `sales.orders_by_region_${i}`;
}

/** The definition written by op `i`; its JSON text is 297 to 306 bytes for any i below 1e9. */
export function definitionFor(i: number): SemanticView {
  return {
    kind: 'semantic_view',
    table: 'analytics.orders',
    dimensions: [
      { name: 'region', expr: 'o.ship_region' },
      { name: 'order_month', expr: "date_trunc('month', o.ordered_at)" },
    ],
    metrics: [
      { name: 'revenue', expr: 'sum(o.amount_usd)' },
      { name: 'orders', expr: 'count(*)' },
    ],
    owner: `team-${i % 97}`,
    revision: i,
  };
}

/** The JSON text of op `i`'s definition, for stores that take text. */
export function jsonFor(i: number): string {
  return JSON.stringify(definitionFor(i));
}
