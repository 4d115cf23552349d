/**
 * The planner: decides, for one query of one view, which tables and joins are needed,
 * at which grain each metric is computed, which conditions apply to rows (before
 * aggregation) and which to groups (after). Pure: tests drive it without DuckDB, and
 * {@link renderSemanticViewPlan} turns the plan into one SELECT.
 *
 * What the answer means (README "How numbers are computed"):
 * - the rows of a query are the base table's rows joined with the joins the query needs
 *   (a join is needed when a requested dimension, a metric, a filter or a where condition
 *   reads its table, or a needed join's `on` does), filtered by the view's filters and the
 *   row conditions of `where`;
 * - the groups are the distinct values of the requested dimensions over those rows;
 * - a metric aggregates the rows of its grain table that reach the group, each counted
 *   once, however many joined rows repeat it.
 */
import { CatalogInvalidError } from './errors.js';
import type { SemanticView, SemanticViewMetric } from './semantic-view.js';
import { expandDimension, expandRow, joinIsUniqueOn, metricGrain, modelSemanticView, type ModelMember, type ModelTable, type ViewModel } from './semantic-view-model.js';
import { bareWords, conjuncts, isComma, splitTopLevel, textOf, tokenize } from './sql-tokens.js';

/** One term of an ORDER BY: a requested dimension or metric and its direction. */
export interface SemanticViewOrder {
  readonly name: string;
  /** @default 'asc' */
  readonly direction?: 'asc' | 'desc';
}

/** The time granularities a DATE/TIMESTAMP dimension may be asked at (`ordered_at__month`). */
export const TIME_GRAINS = ['day', 'week', 'month', 'quarter', 'year'] as const;
export type TimeGrain = (typeof TIME_GRAINS)[number];

/**
 * Resolves a requested dimension name: a dimension's own name (an exact match wins), or
 * `<dimension>__<grain>` with a grain of {@link TIME_GRAINS} (any case).
 * @param isDimension Whether a name (any case) is a dimension of the view.
 * @returns The dimension's name as requested and the grain, or undefined when the name is neither.
 * @throws {CatalogInvalidError} for `<dimension>__<something>` whose suffix is not a known grain.
 */
export function parseDimensionName(requested: string, isDimension: (name: string) => boolean): { readonly base: string; readonly grain?: TimeGrain } | undefined {
  if (isDimension(requested)) return { base: requested };
  const at = requested.lastIndexOf('__');
  if (at <= 0) return undefined;
  const base = requested.slice(0, at);
  if (!isDimension(base)) return undefined;
  const suffix = requested.slice(at + 2).toLowerCase();
  if (!(TIME_GRAINS as readonly string[]).includes(suffix)) {
    throw new CatalogInvalidError('dimensions', `unknown time granularity "${requested.slice(at + 2)}" for dimension "${base}"; use one of: ${TIME_GRAINS.join(', ')} (as "${base}__month")`);
  }
  return { base, grain: suffix as TimeGrain };
}

/** A query whose keys and values were checked (see `semanticViewSql`). */
export interface CheckedQuery {
  readonly dimensions: readonly string[];
  readonly metrics: readonly string[];
  readonly where: string | undefined;
  readonly order: readonly SemanticViewOrder[];
  readonly limit: number | undefined;
  readonly offset: number | undefined;
}

/** SQL text with references to the query's columns, resolved by the renderer. */
export type Template = ReadonlyArray<string | { readonly column: string }>;

/** A metric computed by aggregating rows of its grain table. */
export interface PlannedAggregate {
  readonly name: string;
  /** The aggregate SQL over the grain table (and, in a direct group, the joined tables). */
  readonly sql: string;
  /**
   * Its value over no rows, for a group that reaches no row of the grain table: `zero`
   * (count, count_distinct, approx_count_distinct), `null` (the other aggs), or `evaluate`
   * (an aggregate expression: the renderer evaluates it over no rows of the table).
   */
  readonly empty: 'zero' | 'null' | 'evaluate';
}

/**
 * The metrics of one grain table. `direct`: the grain is the base table and no needed join
 * repeats its rows, so the metrics aggregate the joined rows as they are. `keyed`: the
 * distinct (dimensions, key of the grain table) pairs of the joined rows are joined back
 * to the grain table, so each of its rows counts once per group.
 */
export interface MetricGroup {
  readonly table: ModelTable;
  readonly strategy: 'direct' | 'keyed';
  readonly aggregates: readonly PlannedAggregate[];
}

export interface PlannedColumn {
  readonly name: string;
  readonly kind: 'dimension' | 'metric';
}

export interface SemanticViewPlan {
  readonly viewName: string;
  /** Tables to emit, base first, in definition order. */
  readonly tables: readonly ModelTable[];
  /** Requested dimensions with their expanded SQL. */
  readonly dimensions: ReadonlyArray<{ readonly name: string; readonly sql: string }>;
  /** Conditions on rows, before aggregation (view filters, then where). */
  readonly rowConditions: readonly string[];
  readonly groups: readonly MetricGroup[];
  /** Requested metrics computed from other metrics, as templates over aggregate columns. */
  readonly derived: ReadonlyMap<string, Template>;
  /** Conditions on groups, after aggregation, as templates over output and aggregate columns. */
  readonly groupConditions: readonly Template[];
  /** The output columns, in requested order. */
  readonly columns: readonly PlannedColumn[];
  readonly order: ReadonlyArray<{ readonly position: number; readonly descending: boolean }>;
  readonly limit: number | undefined;
  readonly offset: number | undefined;
}

/**
 * Plans `query` over `view`.
 * @throws {CatalogInvalidError} for an unknown or repeated name (listing the valid ones),
 *   an empty request, an order term that is not requested, a condition on a metric that
 *   also reads a column or a dimension that is not requested, and a metric whose rows the
 *   needed joins would repeat when no key is declared to count them once (naming the key).
 */
export function planSemanticView(viewName: string, view: SemanticView, query: CheckedQuery): SemanticViewPlan {
  const model = modelSemanticView(view);
  const dimensions = pickDimensions(model, viewName, query.dimensions);
  const metrics = pick(model, viewName, 'metric', query.metrics);
  if (dimensions.length === 0 && metrics.length === 0) {
    throw new CatalogInvalidError('query', `ask semantic view "${viewName}" for at least one dimension or metric`);
  }
  const needed = new Set<number>([0]);
  const plannedDimensions = dimensions.map(({ member, name, grain }) => {
    const expanded = expandDimension(model, member);
    expanded.tables.forEach((t) => needed.add(t));
    return { name, sql: grain === undefined ? expanded.sql : `date_trunc('${grain}', ${expanded.sql})` };
  });

  // Conditions: the view's filters and each conjunct of where that names no metric apply
  // to rows; a conjunct that names a metric applies to groups.
  const rowConditions: string[] = [];
  (view.filters ?? []).forEach((filter) => {
    const expanded = expandRow(model, filter);
    expanded.tables.forEach((t) => needed.add(t));
    rowConditions.push(expanded.sql);
  });
  const aggregatesWanted = new Set<ModelMember>();
  const groupConditions: Template[] = [];
  // A dimension asked for only at a grain has no column of its own values.
  const requestedDimensions = new Set(dimensions.filter((d) => d.grain === undefined).map((d) => d.member));
  for (const part of query.where === undefined ? [] : conjuncts(tokenize(query.where))) {
    const text = textOf(part);
    const expanded = expandRow(model, text);
    if (expanded.metrics.length === 0) {
      expanded.tables.forEach((t) => needed.add(t));
      rowConditions.push(expanded.sql);
      continue;
    }
    groupConditions.push(groupTemplate(model, text, requestedDimensions, aggregatesWanted));
  }

  // Metrics: the requested ones, and the aggregates derived metrics and conditions need.
  const derived = new Map<string, Template>();
  for (const metric of metrics) {
    if (metric.derived) derived.set(metric.name, metricTemplate(metric, aggregatesWanted));
    else aggregatesWanted.add(metric);
  }
  const byGrain = new Map<number, ModelMember[]>();
  for (const metric of aggregatesWanted) {
    const grain = metricGrain(model, metric);
    needed.add(grain);
    if (!byGrain.has(grain)) byGrain.set(grain, []);
    byGrain.get(grain)!.push(metric);
  }
  // A direct group may read joined columns inside its aggregate: those tables are needed too.
  for (const metric of aggregatesWanted) expandRow(model, metric.definition.expr, metric).tables.forEach((t) => needed.add(t));
  closeOverJoins(model, needed);
  const tables = model.tables.filter((t) => needed.has(t.position));

  const groups: MetricGroup[] = [...byGrain.entries()]
    .sort(([a], [b]) => a - b)
    .map(([grain, members]) => planGroup(model, viewName, tables, model.tables[grain]!, members));

  const columns: PlannedColumn[] = [
    ...dimensions.map((d): PlannedColumn => ({ name: d.name, kind: 'dimension' })),
    ...metrics.map((m): PlannedColumn => ({ name: m.name, kind: 'metric' })),
  ];
  const order = planOrder(query.order, columns);
  return { viewName, tables, dimensions: plannedDimensions, rowConditions, groups, derived, groupConditions, columns, order, limit: query.limit, offset: query.offset };
}

// Adds the tables each needed join's `on` reads, until nothing changes.
function closeOverJoins(model: ViewModel, needed: Set<number>): void {
  for (let position = model.tables.length - 1; position > 0; position--) {
    if (needed.has(position)) model.tables[position]!.uses.forEach((t) => needed.add(t));
  }
}

function planGroup(model: ViewModel, viewName: string, tables: readonly ModelTable[], grain: ModelTable, members: readonly ModelMember[]): MetricGroup {
  const aggregates = members.map((m) => aggregateOf(model, m));
  // The base table's rows are never repeated when every needed join matches at most one row.
  const repeating = tables.find((t) => t.position > 0 && !joinIsUniqueOn(model, t.position, t.position));
  if (grain.position === 0 && repeating === undefined) return { table: grain, strategy: 'direct', aggregates };
  const metric = members[0]!;
  if (grain.primaryKey === undefined) {
    const fix =
      grain.position === 0
        ? `declare primary_key on ${repeating!.label} if each row of ${grain.label} matches at most one of its rows, otherwise on the base table ("primary_key" next to "base_table") so the metric is computed at its own grain`
        : `declare primary_key on ${grain.label} so the metric is computed at its own grain`;
    const why =
      grain.position === 0
        ? `${repeating!.label} may match several rows per row of ${grain.label}`
        : `each row of ${grain.label} is repeated for every row of the base table that reaches it`;
    throw new CatalogInvalidError('query', `metric "${metric.name}" of semantic view "${viewName}" could be counted more than once: ${why}; ${fix}`);
  }
  for (const member of members) {
    const reads = expandRow(model, member.definition.expr, member).tables;
    const other = [...reads].find((t) => t !== grain.position);
    if (other !== undefined) {
      throw new CatalogInvalidError(
        'query',
        `metric "${member.name}" of semantic view "${viewName}" is computed at the grain of ${grain.label} for this query, so it may only read that table's columns; it also reads ${model.tables[other]!.label}`,
      );
    }
  }
  return { table: grain, strategy: 'keyed', aggregates };
}

function aggregateOf(model: ViewModel, metric: ModelMember): PlannedAggregate {
  const definition = metric.definition as SemanticViewMetric;
  const expr = expandRow(model, definition.expr, metric).sql;
  if (definition.agg === undefined) return { name: metric.name, sql: `(${expr})`, empty: 'evaluate' };
  // Several arguments (`a, b`): a tuple, and a row with a NULL in it is not counted, as in SQL.
  const args = splitTopLevel(tokenize(expr), isComma).map(textOf);
  const allPresent = args.length > 1 ? ` FILTER (WHERE ${args.map((a) => `(${a}) IS NOT NULL`).join(' AND ')})` : '';
  const argument = expr.trim() === '*' ? '*' : args.length > 1 ? `(${args.map((a) => `(${a})`).join(', ')})` : `(${expr})`;
  switch (definition.agg) {
    case 'count':
      return { name: metric.name, sql: args.length > 1 ? `count(*)${allPresent}` : `count(${argument})`, empty: 'zero' };
    case 'count_distinct':
      return { name: metric.name, sql: `count(DISTINCT ${argument})${allPresent}`, empty: 'zero' };
    case 'approx_count_distinct':
      return { name: metric.name, sql: `approx_count_distinct(${argument})${allPresent}`, empty: 'zero' };
    case 'quantile':
      return { name: metric.name, sql: `quantile_cont(${argument}, ${String(definition.fraction)})`, empty: 'null' };
    default:
      return { name: metric.name, sql: `${definition.agg}(${argument})`, empty: 'null' };
  }
}

// A derived metric as a template: each metric it names becomes its aggregate column, or
// the template of that derived metric, in parentheses.
function metricTemplate(metric: ModelMember, wanted: Set<ModelMember>): Template {
  if (!metric.derived) {
    wanted.add(metric);
    return [{ column: metric.name }];
  }
  const tokens = tokenize(metric.definition.expr);
  const parts: Array<string | { column: string }> = tokens.map((t) => t.text);
  const out: Array<Template> = parts.map((p) => [p as string]);
  for (const i of bareWords(tokens)) {
    const other = metric.refs.find((r) => r.kind === 'metric' && r.name.toLowerCase() === tokens[i]!.text.toLowerCase());
    if (other !== undefined) out[i] = ['(', ...metricTemplate(other, wanted), ')'];
  }
  return out.flat();
}

// A condition on groups: metric names become their values, requested dimension names their
// columns; anything else that reads a row is refused (it has no single value per group).
function groupTemplate(model: ViewModel, text: string, requested: ReadonlySet<ModelMember>, wanted: Set<ModelMember>): Template {
  const tokens = tokenize(text);
  const out: Template[] = tokens.map((t) => [t.text]);
  for (const i of bareWords(tokens)) {
    const member = model.members.get(tokens[i]!.text.toLowerCase());
    if (member === undefined) continue;
    if (member.kind === 'metric') out[i] = ['(', ...metricTemplate(member, wanted), ')'];
    else if (requested.has(member)) out[i] = [{ column: member.name }];
    else throw new CatalogInvalidError('where', `"${text}" compares metrics with dimension "${member.name}", which is not requested; request it or make it a separate condition`);
  }
  const qualified = tokens.findIndex((t, i) => t.text === '.' && i > 0);
  if (qualified >= 0) {
    throw new CatalogInvalidError('where', `"${text}" names a metric and also reads columns; a condition on metrics may use only metric names, requested dimension names and constants`);
  }
  return out.flat();
}

function planOrder(order: readonly SemanticViewOrder[], columns: readonly PlannedColumn[]): SemanticViewPlan['order'] {
  const terms = order.map((term, i) => {
    const position = columns.findIndex((c) => c.name.toLowerCase() === term.name.toLowerCase());
    if (position < 0) {
      throw new CatalogInvalidError(`order[${i}]`, `"${term.name}" is not a requested dimension or metric; requested: ${columns.map((c) => c.name).join(', ')}`);
    }
    return { position: position + 1, descending: term.direction === 'desc' };
  });
  // Then every dimension not ordered yet, so equal keys still come back in a stable order.
  columns.forEach((column, i) => {
    if (column.kind === 'dimension' && !terms.some((t) => t.position === i + 1)) terms.push({ position: i + 1, descending: false });
  });
  return terms;
}

// A requested dimension: its member, its output column name (`ordered_at__month` for a
// grain, with the dimension's own spelling) and its grain.
interface RequestedDimension {
  readonly member: ModelMember;
  readonly name: string;
  readonly grain: TimeGrain | undefined;
}

function pickDimensions(model: ViewModel, view: string, wanted: readonly string[]): RequestedDimension[] {
  const isDimension = (name: string) => model.members.get(name.toLowerCase())?.kind === 'dimension';
  const seen = new Set<string>();
  return wanted.map((wantedName, i) => {
    const parsed = parseDimensionName(wantedName, isDimension);
    if (parsed === undefined) {
      pick(model, view, 'dimension', [wantedName]); // throws: unknown dimension, with the valid names
      throw new Error(`unreachable: "${wantedName}" is not a dimension`);
    }
    const member = model.members.get(parsed.base.toLowerCase())!;
    const name = parsed.grain === undefined ? member.name : `${member.name}__${parsed.grain}`;
    const key = name.toLowerCase();
    if (seen.has(key)) throw new CatalogInvalidError(`dimensions[${i}]`, `dimension "${wantedName}" is asked for twice`);
    seen.add(key);
    return { member, name, grain: parsed.grain };
  });
}

// Names match without regard to case, like DuckDB column names; validation already made
// them unique that way.
function pick(model: ViewModel, view: string, kind: 'dimension' | 'metric', wanted: readonly string[]): ModelMember[] {
  const field = `${kind}s`;
  const available = [...model.members.values()].filter((m) => m.kind === kind);
  const seen = new Set<string>();
  return wanted.map((wantedName, i) => {
    const key = wantedName.toLowerCase();
    const member = model.members.get(key);
    if (member === undefined || member.kind !== kind) {
      const valid = available.length === 0 ? `it has no ${field}` : `valid ${field}: ${available.map((c) => c.name).join(', ')}`;
      const other = member === undefined ? '' : ` ("${member.name}" is a ${member.kind})`;
      throw new CatalogInvalidError(field, `unknown ${kind} "${wantedName}" in semantic view "${view}"${other}; ${valid}`);
    }
    if (seen.has(key)) throw new CatalogInvalidError(`${field}[${i}]`, `${kind} "${wantedName}" is asked for twice`);
    seen.add(key);
    return member;
  });
}
