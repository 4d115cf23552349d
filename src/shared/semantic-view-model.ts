/**
 * What the planner knows about a validated view: its tables (the base table and each
 * join, with the name expressions qualify columns with), which members each member names,
 * which tables each expression reads, the grain of each metric, and which joins are
 * proven not to repeat rows. Built at define time too, so a view whose members cannot be
 * planned is refused when it is defined, not when it is queried.
 *
 * The rules, all over tokens (never a regex over SQL text):
 * - a table is used by an expression when the expression qualifies a column with the
 *   table's alias (or, without an alias, its plain table name): `o.amount` uses `o`;
 *   an expression with no qualified column uses the base table; `source_table` adds one;
 * - a bare word that is the name of another dimension or metric (ignoring case) means that
 *   member; a quoted identifier ("region") always means the column; a member's own name in
 *   its own expression means the column;
 * - a join's `on` equalities (`a.x = b.y`) prove a join does not repeat rows when they cover
 *   every column of a declared `primary_key`.
 */
import { CatalogInvalidError } from './errors.js';
import type { SemanticView, SemanticViewDimension, SemanticViewJoin, SemanticViewMetric } from './semantic-view.js';
import { bareWords, conjuncts, identifierOf, nextSolid, qualifiers, tokenize, type Token } from './sql-tokens.js';

/** The base table (position 0) or a join (position i + 1 for `joins[i]`). */
export interface ModelTable {
  readonly position: number;
  /** The name expressions qualify columns with (alias, else the plain table name). */
  readonly ref: string | undefined;
  /** `orders AS o`: the FROM/JOIN text. */
  readonly sql: string;
  /** For messages: `join "c" (customers)` or `the base table "o" (orders)`. */
  readonly label: string;
  readonly join: SemanticViewJoin | undefined;
  readonly primaryKey: readonly string[] | undefined;
  /** Positions of the tables this join's `on` reads (empty for the base table). */
  readonly uses: ReadonlySet<number>;
  /** Lower-case columns of each table that `on` equates with a column of another table. */
  readonly equated: ReadonlyMap<number, ReadonlySet<string>>;
}

export interface ModelMember {
  readonly kind: 'dimension' | 'metric';
  readonly name: string;
  readonly path: string;
  readonly definition: SemanticViewDimension | SemanticViewMetric;
  /** Other members this member's expression names. */
  readonly refs: readonly ModelMember[];
  /** A metric without `agg` that combines other metrics (computed after aggregation). */
  readonly derived: boolean;
}

export interface ViewModel {
  readonly view: SemanticView;
  readonly tables: readonly ModelTable[];
  readonly tableByRef: ReadonlyMap<string, number>;
  readonly members: ReadonlyMap<string, ModelMember>;
}

/** Aggregate functions DuckDB knows (the common ones): a call to one makes an expression an aggregate. */
const AGGREGATE_FUNCTIONS: ReadonlySet<string> = new Set(
  ('sum count avg mean min max median mode quantile quantile_cont quantile_disc approx_quantile approx_count_distinct ' +
    'string_agg group_concat listagg list array_agg first last any_value arbitrary arg_max arg_min argmax argmin max_by min_by ' +
    'bool_and bool_or every stddev stddev_pop stddev_samp variance var_pop var_samp product bit_and bit_or bit_xor histogram ' +
    'entropy kurtosis kurtosis_pop skewness corr covar_pop covar_samp fsum favg sumkahan kahan_sum geomean geometric_mean ' +
    'count_star bitstring_agg mad regr_avgx regr_avgy regr_count regr_intercept regr_r2 regr_slope regr_sxx regr_sxy regr_syy ' +
    'sem weighted_avg wavg').split(' '),
);

const PLAIN_TABLE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * Builds the model of a structurally valid view.
 * @throws {CatalogInvalidError} naming the field at fault: two tables with the same name,
 *   an unknown `source_table`, a join that reads a table joined after it, a dimension that
 *   aggregates or names a metric, a metric that neither has `agg` nor aggregates, a metric
 *   with `agg` that aggregates again, a cycle of references, a metric over several tables
 *   without `source_table`, a filter that names a metric.
 */
export function modelSemanticView(view: SemanticView): ViewModel {
  const tables: ModelTable[] = [];
  const tableByRef = new Map<string, number>();
  const addTable = (sql: string, alias: string | undefined, join: SemanticViewJoin | undefined, path: string, key: string | readonly string[] | undefined) => {
    const position = tables.length;
    const plain = PLAIN_TABLE.test(sql.trim()) ? sql.trim().split('.').at(-1) : undefined;
    const ref = alias ?? plain;
    if (ref !== undefined) {
      const clash = tableByRef.get(ref.toLowerCase());
      if (clash !== undefined) throw new CatalogInvalidError(path, `two tables are both named "${ref}"; give one an alias`);
      tableByRef.set(ref.toLowerCase(), position);
    }
    const primaryKey = key === undefined ? undefined : typeof key === 'string' ? [key] : [...key];
    if (primaryKey !== undefined && ref === undefined) throw new CatalogInvalidError(`${path}.primary_key`, 'needs an alias to name the key columns with');
    const label = position === 0 ? `the base table "${ref ?? sql}"` : `join "${ref ?? sql}"`;
    tables.push({ position, ref, sql: alias === undefined ? sql : `${sql} AS ${alias}`, label, join, primaryKey, uses: new Set(), equated: new Map() });
  };
  addTable(view.base_table, view.alias, undefined, 'definition', view.primary_key);
  (view.joins ?? []).forEach((join, i) => addTable(join.table, join.alias, join, `definition.joins[${i}]`, join.primary_key));
  // Each join's `on`: which tables it reads and which columns it equates.
  (view.joins ?? []).forEach((join, i) => {
    const table = tables[i + 1]!;
    const uses = table.uses as Set<number>;
    const tokens = tokenize(join.on);
    for (const qualifier of qualifiers(tokens)) {
      const position = tableByRef.get(qualifier.toLowerCase());
      if (position === undefined || position === table.position) continue;
      if (position > table.position) {
        throw new CatalogInvalidError(`definition.joins[${i}].on`, `reads "${qualifier}", which is joined after it; list joins in the order they depend on each other`);
      }
      uses.add(position);
    }
    if (uses.size === 0) uses.add(0);
    const equated = table.equated as Map<number, Set<string>>;
    for (const part of conjuncts(tokens)) {
      const sides = equalitySides(part, tableByRef, table.position);
      if (sides === undefined || sides[0].table === sides[1].table) continue;
      for (const side of sides) {
        if (!equated.has(side.table)) equated.set(side.table, new Set());
        equated.get(side.table)!.add(side.column);
      }
    }
  });

  const members = new Map<string, ModelMember>();
  const raw: Array<{ member: ModelMember; tokens: Token[] }> = [];
  const add = (kind: 'dimension' | 'metric', definition: SemanticViewDimension | SemanticViewMetric, path: string) => {
    const member: ModelMember = { kind, name: definition.name, path, definition, refs: [], derived: false };
    members.set(definition.name.toLowerCase(), member);
    raw.push({ member, tokens: tokenize(definition.expr) });
  };
  view.dimensions.forEach((d, i) => add('dimension', d, `definition.dimensions[${i}]`));
  view.metrics.forEach((m, i) => add('metric', m, `definition.metrics[${i}]`));
  const model: ViewModel = { view, tables, tableByRef, members };

  for (const { member, tokens } of raw) {
    const refs = member.refs as ModelMember[];
    for (const i of bareWords(tokens)) {
      const other = members.get(tokens[i]!.text.toLowerCase());
      if (other !== undefined && other !== member && !refs.includes(other)) refs.push(other);
    }
    const source = member.definition.source_table;
    if (source !== undefined && !tableByRef.has(source.toLowerCase())) {
      throw new CatalogInvalidError(`${member.path}.source_table`, `names no table of the view; tables: ${[...tables].map((t) => t.ref).filter(Boolean).join(', ')}`);
    }
    const aggregates = callsAggregate(tokens);
    const metricRefs = refs.filter((r) => r.kind === 'metric');
    if (member.kind === 'dimension') {
      if (aggregates) throw new CatalogInvalidError(`${member.path}.expr`, 'is an aggregate; a dimension must be a per-row expression (make it a metric)');
      if (metricRefs.length > 0) throw new CatalogInvalidError(`${member.path}.expr`, `names metric "${metricRefs[0]!.name}"; a dimension cannot use a metric`);
      continue;
    }
    const agg = (member.definition as SemanticViewMetric).agg;
    if (agg !== undefined) {
      if (aggregates) throw new CatalogInvalidError(`${member.path}.expr`, `is already an aggregate; drop "agg" or aggregate a per-row expression`);
      if (metricRefs.length > 0) throw new CatalogInvalidError(`${member.path}.expr`, `names metric "${metricRefs[0]!.name}" inside agg "${agg}"; metrics cannot be aggregated again`);
    } else if (metricRefs.length > 0) {
      if (aggregates || qualifiers(tokens).some((q) => tableByRef.has(q.toLowerCase()))) {
        throw new CatalogInvalidError(`${member.path}.expr`, 'combines other metrics and must use nothing else (no aggregates or columns of its own); make those a metric first');
      }
      (member as { derived: boolean }).derived = true;
    } else if (!aggregates) {
      throw new CatalogInvalidError(`${member.path}.expr`, 'is not an aggregate: give the metric an "agg" or use an aggregate expression such as sum(x)');
    }
  }
  // Cycles: a member that names itself through others could never be expanded.
  const state = new Map<ModelMember, 'visiting' | 'done'>();
  const visit = (member: ModelMember, trail: ModelMember[]) => {
    if (state.get(member) === 'done') return;
    if (state.get(member) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(member)), member].map((m) => m.name).join(' → ');
      throw new CatalogInvalidError(`${member.path}.expr`, `members name each other in a cycle: ${cycle}`);
    }
    state.set(member, 'visiting');
    for (const ref of member.refs) visit(ref, [...trail, member]);
    state.set(member, 'done');
  };
  for (const member of members.values()) visit(member, []);
  // Every metric that aggregates rows needs one grain table.
  for (const member of members.values()) if (member.kind === 'metric' && !member.derived) metricGrain(model, member);
  (view.filters ?? []).forEach((filter, i) => {
    const named = expandRow(model, filter);
    if (named.metrics.length > 0) {
      throw new CatalogInvalidError(`definition.filters[${i}]`, `names metric "${named.metrics[0]!.name}"; filters apply before aggregation (use a query's where for conditions on metrics)`);
    }
  });
  return model;
}

/** A row-level expression with dimension names replaced by their expressions. */
export interface Expanded {
  readonly sql: string;
  /** Positions of the tables the expanded SQL reads (qualified columns and source_table of named dimensions). */
  readonly tables: ReadonlySet<number>;
  /** Metrics the text names (left in place). */
  readonly metrics: readonly ModelMember[];
  /** Dimensions the text names. */
  readonly dimensions: readonly ModelMember[];
}

/**
 * Replaces each bare dimension name in `text` by `(its expansion)`, recursively, and
 * reports the tables read and metrics named. `self` is left alone (its name is a column).
 */
export function expandRow(model: ViewModel, text: string, self?: ModelMember): Expanded {
  const tokens = tokenize(text);
  const tables = new Set<number>();
  const metrics: ModelMember[] = [];
  const dimensions: ModelMember[] = [];
  for (const q of qualifiers(tokens)) {
    const position = model.tableByRef.get(q.toLowerCase());
    if (position !== undefined) tables.add(position);
  }
  const source = self?.definition.source_table;
  if (source !== undefined) tables.add(model.tableByRef.get(source.toLowerCase())!);
  const out = tokens.map((t) => t.text);
  for (const i of bareWords(tokens)) {
    const member = model.members.get(tokens[i]!.text.toLowerCase());
    if (member === undefined || member === self) continue;
    if (member.kind === 'metric') {
      if (!metrics.includes(member)) metrics.push(member);
      continue;
    }
    if (!dimensions.includes(member)) dimensions.push(member);
    const inner = expandDimension(model, member);
    for (const t of inner.tables) tables.add(t);
    out[i] = `(${inner.sql})`;
  }
  return { sql: out.join(''), tables, metrics, dimensions };
}

/** A dimension's expression with the dimensions it names expanded; reads the base table when it qualifies nothing. */
export function expandDimension(model: ViewModel, dimension: ModelMember): Expanded {
  const expanded = expandRow(model, dimension.definition.expr, dimension);
  if (expanded.tables.size === 0) return { ...expanded, tables: new Set([0]) };
  return expanded;
}

/** The position of the table whose rows a (non-derived) metric aggregates. */
export function metricGrain(model: ViewModel, metric: ModelMember): number {
  const source = metric.definition.source_table;
  if (source !== undefined) return model.tableByRef.get(source.toLowerCase())!;
  const { tables } = expandRow(model, metric.definition.expr, metric);
  if (tables.size > 1) {
    const names = [...tables].map((t) => model.tables[t]!.ref).join(', ');
    throw new CatalogInvalidError(`${metric.path}.source_table`, `is needed: the metric reads several tables (${names}); name the one whose rows it aggregates`);
  }
  return tables.size === 1 ? [...tables][0]! : 0;
}

/** True when `on` of join `via` proves each row of the other side matches at most one row of `table`. */
export function joinIsUniqueOn(model: ViewModel, via: number, table: number): boolean {
  const key = model.tables[table]!.primaryKey;
  const equated = model.tables[via]!.equated.get(table);
  return key !== undefined && equated !== undefined && key.every((column) => equated.has(column.toLowerCase()));
}

function callsAggregate(tokens: readonly Token[]): boolean {
  return tokens.some((token, i) => {
    if (token.kind !== 'word' || !AGGREGATE_FUNCTIONS.has(token.text.toLowerCase())) return false;
    const next = nextSolid(tokens, i);
    return next >= 0 && tokens[next]!.text === '(';
  });
}

// `a.x = b.y` (either side may be an unqualified column of the base table when the join is
// not the base): the two sides as table position and lower-case column, or undefined.
function equalitySides(part: readonly Token[], tableByRef: ReadonlyMap<string, number>, self: number): [Side, Side] | undefined {
  const solid = part.filter((t) => t.kind !== 'space');
  const eq = solid.findIndex((t) => t.text === '=');
  if (eq < 0) return undefined;
  const left = columnRef(solid.slice(0, eq), tableByRef, self);
  const right = columnRef(solid.slice(eq + 1), tableByRef, self);
  return left === undefined || right === undefined ? undefined : [left, right];
}

interface Side {
  readonly table: number;
  readonly column: string;
}

function columnRef(tokens: readonly Token[], tableByRef: ReadonlyMap<string, number>, self: number): Side | undefined {
  if (tokens.length === 1) {
    const column = identifierOf(tokens[0]);
    return column === undefined || self === 0 ? undefined : { table: 0, column: column.toLowerCase() };
  }
  if (tokens.length !== 3 || tokens[1]!.text !== '.') return undefined;
  const qualifier = identifierOf(tokens[0]);
  const column = identifierOf(tokens[2]);
  const table = qualifier === undefined ? undefined : tableByRef.get(qualifier.toLowerCase());
  return table === undefined || column === undefined ? undefined : { table, column: column.toLowerCase() };
}
