/**
 * The renderer: one SELECT statement from a {@link SemanticViewPlan}. The last step of
 * query expansion, and the only one that writes SQL text.
 *
 * Two shapes. When the plan has at most one group of metrics and it is `direct`, a single
 * SELECT … GROUP BY (or SELECT DISTINCT for dimensions alone), as a person would write it.
 * Otherwise a WITH statement: the groups (distinct dimension values of the joined rows),
 * one CTE per metric group, LEFT JOINed to the groups on every dimension (NULL matches
 * NULL), and the conditions on metrics as a WHERE over the result.
 */
import type { MetricGroup, PlannedAggregate, SemanticViewPlan, Template } from './semantic-view-plan.js';
import { quoteIdentifier } from './sql-fragment.js';

/** Renders `plan` as one SELECT statement, without a trailing semicolon. */
export function renderSemanticViewPlan(plan: SemanticViewPlan): string {
  const single = plan.groups.length === 0 || (plan.groups.length === 1 && plan.groups[0]!.strategy === 'direct');
  return single ? renderSingle(plan) : renderGeneral(plan);
}

function renderSingle(plan: SemanticViewPlan): string {
  const aggregates = new Map<string, PlannedAggregate>((plan.groups[0]?.aggregates ?? []).map((a) => [a.name, a]));
  const dimensionSql = new Map(plan.dimensions.map((d) => [d.name, d.sql]));
  const resolve = (column: string) => `(${aggregates.get(column)?.sql ?? dimensionSql.get(column)!})`;
  const columns = plan.columns.map((column) => {
    const aggregate = aggregates.get(column.name);
    const sql = column.kind === 'dimension' ? `(${dimensionSql.get(column.name)!})` : aggregate !== undefined ? aggregate.sql : metricSql(plan, column.name, resolve);
    return `${sql} AS ${quoteIdentifier(column.name)}`;
  });
  const grouped = plan.groups.length > 0;
  const lines = [`SELECT ${grouped ? '' : 'DISTINCT '}${columns.join(', ')}`, ...fromLines(plan)];
  const ordinals = plan.columns.flatMap((c, i) => (c.kind === 'dimension' ? [String(i + 1)] : []));
  if (grouped && ordinals.length > 0) lines.push(`GROUP BY ${ordinals.join(', ')}`);
  if (plan.groupConditions.length > 0) lines.push(`HAVING ${plan.groupConditions.map((t) => `(${fill(t, resolve)})`).join(' AND ')}`);
  lines.push(...tailLines(plan));
  return lines.join('\n');
}

function renderGeneral(plan: SemanticViewPlan): string {
  const dims = plan.dimensions;
  const dimensionColumns = dims.map((d) => `(${d.sql}) AS ${quoteIdentifier(d.name)}`);
  const dimensionNames = dims.map((d) => quoteIdentifier(d.name));
  const ordinals = dims.map((_, i) => String(i + 1)).join(', ');
  // One scan of the joined rows, materialized once: every dimension and the key columns of
  // every keyed group. The groups and the keyed metrics all read it, so the statement holds
  // no two copies of the same join (DuckDB 1.5.6's common-subplan optimizer mixes up the
  // columns of such copies: found by test/semantic-differential.test.ts).
  const keyed = plan.groups.map((group, g) => (group.strategy === 'keyed' ? group.table.primaryKey!.map((column, k) => ({ sql: `${group.table.ref!}.${column}`, name: `__key_${g + 1}_${k + 1}`, column })) : []));
  const keyColumns = keyed.flat().map((key) => `${key.sql} AS ${key.name}`);
  const ctes = [`__rows AS MATERIALIZED (\n  SELECT ${[...dimensionColumns, ...keyColumns].join(', ') || '1 AS __one'}\n  ${fromLines(plan).join('\n  ')}\n)`];
  if (dims.length > 0) ctes.push(`__groups AS (\n  SELECT DISTINCT ${dimensionNames.join(', ')} FROM __rows\n)`);
  const owner = new Map<string, { cte: string; aggregate: PlannedAggregate; group: MetricGroup }>();
  plan.groups.forEach((group, g) => {
    const cte = `__metrics_${g + 1}`;
    group.aggregates.forEach((aggregate) => owner.set(aggregate.name, { cte, aggregate, group }));
    const aggregates = [...group.aggregates.map((a) => `${a.sql} AS ${quoteIdentifier(a.name)}`), 'true AS __present'];
    const groupBy = ordinals.length > 0 ? [`GROUP BY ${ordinals}`] : [];
    let body: string[];
    if (group.strategy === 'direct') {
      body = [`SELECT ${[...dimensionColumns, ...aggregates].join(', ')}`, ...fromLines(plan), ...groupBy];
    } else {
      // The distinct (dimensions, key) pairs, joined back to the table by key: each of its
      // rows counts once per group, however many joined rows repeat it.
      const keys = keyed[g]!;
      const ref = group.table.ref!;
      body = [
        `SELECT ${[...dims.map((d) => `__keys.${quoteIdentifier(d.name)}`), ...aggregates].join(', ')}`,
        `FROM (SELECT DISTINCT ${[...dimensionNames, ...keys.map((k) => k.name)].join(', ')} FROM __rows) AS __keys`,
        `JOIN ${group.table.sql} ON ${keys.map((k) => `${ref}.${k.column} = __keys.${k.name}`).join(' AND ')}`,
        ...groupBy,
      ];
    }
    ctes.push(`${cte} AS (\n  ${body.join('\n  ')}\n)`);
  });
  const resolve = (column: string): string => {
    const found = owner.get(column);
    if (found === undefined) return `__groups.${quoteIdentifier(column)}`;
    const ref = `${found.cte}.${quoteIdentifier(column)}`;
    // A group that reaches no row of the grain table has no row in the metric's CTE.
    switch (found.aggregate.empty) {
      case 'zero':
        return `coalesce(${ref}, 0)`;
      case 'null':
        return ref;
      case 'evaluate':
        return `CASE WHEN ${found.cte}.__present THEN ${ref} ELSE (SELECT ${found.aggregate.sql} FROM ${found.group.table.sql} WHERE false) END`;
    }
  };
  const columns = plan.columns.map((column) => {
    const sql = column.kind === 'dimension' ? `__groups.${quoteIdentifier(column.name)}` : metricSql(plan, column.name, resolve);
    return `${sql} AS ${quoteIdentifier(column.name)}`;
  });
  const from: string[] = [];
  plan.groups.forEach((_, g) => {
    const cte = `__metrics_${g + 1}`;
    if (dims.length === 0) {
      from.push(g === 0 ? `FROM ${cte}` : `CROSS JOIN ${cte}`);
      return;
    }
    if (g === 0) from.push('FROM __groups');
    const on = dims.map((d) => `__groups.${quoteIdentifier(d.name)} IS NOT DISTINCT FROM ${cte}.${quoteIdentifier(d.name)}`);
    from.push(`LEFT JOIN ${cte} ON ${on.join(' AND ')}`);
  });
  const lines = [`WITH ${ctes.join(',\n')}`, `SELECT ${columns.join(', ')}`, ...from];
  if (plan.groupConditions.length > 0) lines.push(`WHERE ${plan.groupConditions.map((t) => `(${fill(t, resolve)})`).join(' AND ')}`);
  lines.push(...tailLines(plan));
  return lines.join('\n');
}

function fromLines(plan: SemanticViewPlan): string[] {
  const [base, ...joins] = plan.tables;
  const lines = [`FROM ${base!.sql}`];
  for (const table of joins) lines.push(`${table.join!.type === 'inner' ? 'INNER' : 'LEFT'} JOIN ${table.sql} ON (${table.join!.on})`);
  if (plan.rowConditions.length > 0) lines.push(`WHERE ${plan.rowConditions.map((c) => `(${c})`).join(' AND ')}`);
  return lines;
}

function tailLines(plan: SemanticViewPlan): string[] {
  const lines: string[] = [];
  if (plan.order.length > 0) lines.push(`ORDER BY ${plan.order.map((t) => `${t.position}${t.descending ? ' DESC' : ''}`).join(', ')}`);
  if (plan.limit !== undefined) lines.push(`LIMIT ${plan.limit}`);
  if (plan.offset !== undefined) lines.push(`OFFSET ${plan.offset}`);
  return lines;
}

function metricSql(plan: SemanticViewPlan, name: string, resolve: (column: string) => string): string {
  const template = plan.derived.get(name);
  return template === undefined ? resolve(name) : `(${fill(template, resolve)})`;
}

function fill(template: Template, resolve: (column: string) => string): string {
  return template.map((part) => (typeof part === 'string' ? part : resolve(part.column))).join('');
}
