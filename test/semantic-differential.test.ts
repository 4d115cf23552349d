/**
 * Differential test of query expansion (issue 17's evidence): small generated star
 * schemas — a fact table `f`, a many-to-one join `c` and a one-to-many join `i`, with NULL
 * keys, unmatched keys and empty tables — random views over them (join types, declared
 * keys) and random queries (dimensions, metrics, row and group conditions). Every answer
 * DuckDB gives for the generated SQL is compared with a reference computed here in plain
 * JavaScript from the same rows, following README "How numbers are computed"; every
 * refusal must be one the reference expects (a metric whose rows would repeat, no key).
 *
 * Reproduce a failure with DUCKCAT_DIFF_SEED=<seed printed> (and DUCKCAT_DIFF_RUNS).
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogInvalidError } from '../src/shared/errors.js';
import { validateSemanticView } from '../src/shared/semantic-view.js';
import { semanticViewSql, type SemanticViewQuery } from '../src/shared/semantic-view-sql.js';

const RUNS = Number(process.env.DUCKCAT_DIFF_RUNS ?? 400);
const SEED = Number(process.env.DUCKCAT_DIFF_SEED ?? 20261129);
const QUERIES_PER_SCHEMA = 6;

interface F { id: number; c_id: number | null; amount: number | null; cat: string | null }
interface C { id: number; region: string | null; credit: number | null }
interface I { id: number; f_id: number | null; qty: number | null; sku: string | null }
interface Schema { f: F[]; c: C[]; i: I[] }
interface ViewShape { baseKey: boolean; cKey: boolean; iKey: boolean; cInner: boolean; iInner: boolean }
type Table = 'f' | 'c' | 'i';
type Row = { f: F; c: C | null; i: I | null };

const nullable = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null, freq: 4 });
const schemaArb: fc.Arbitrary<Schema> = fc
  .record({
    f: fc.array(fc.record({ c_id: nullable(fc.integer({ min: 1, max: 4 })), amount: nullable(fc.integer({ min: 1, max: 9 })), cat: nullable(fc.constantFrom('x', 'y')) }), { maxLength: 6 }),
    c: fc.uniqueArray(fc.record({ id: fc.integer({ min: 1, max: 4 }), region: nullable(fc.constantFrom('EU', 'US')), credit: nullable(fc.integer({ min: 1, max: 9 })) }), { maxLength: 4, selector: (r) => r.id }),
    i: fc.array(fc.record({ f_id: nullable(fc.integer({ min: 1, max: 7 })), qty: nullable(fc.integer({ min: 1, max: 3 })), sku: nullable(fc.constantFrom('a', 'b')) }), { maxLength: 7 }),
  })
  .map(({ f, c, i }) => ({ f: f.map((r, n) => ({ id: n + 1, ...r })), c, i: i.map((r, n) => ({ id: n + 1, ...r })) }));
// Keys are declared more often than not, so most queries are answered rather than refused.
const usually = fc.constantFrom(true, true, true, false);
const shapeArb: fc.Arbitrary<ViewShape> = fc.record({ baseKey: usually, cKey: usually, iKey: usually, cInner: fc.boolean(), iInner: fc.boolean() });

// The members: how the view defines them, and how the reference computes them.
const DIMENSIONS: Record<string, { expr: string; table: Table; value: (r: Row) => unknown }> = {
  cat: { expr: 'f.cat', table: 'f', value: (r) => r.f.cat },
  big: { expr: 'f.amount > 5', table: 'f', value: (r) => (r.f.amount === null ? null : r.f.amount > 5) },
  region: { expr: 'c.region', table: 'c', value: (r) => r.c?.region ?? null },
  sku: { expr: 'i.sku', table: 'i', value: (r) => r.i?.sku ?? null },
};
type Agg = (rows: readonly Row[]) => number | null;
const sum = (values: Array<number | null>) => (values.some((v) => v !== null) ? values.reduce<number>((a, v) => a + (v ?? 0), 0) : null);
const present = (values: Array<number | null>) => values.filter((v): v is number => v !== null);
const METRICS: Record<string, { def: Record<string, string>; table: Table; agg: Agg }> = {
  revenue: { def: { expr: 'f.amount', agg: 'sum' }, table: 'f', agg: (rows) => sum(rows.map((r) => r.f.amount)) },
  orders: { def: { expr: '*', agg: 'count' }, table: 'f', agg: (rows) => rows.length },
  cats: { def: { expr: 'f.cat', agg: 'count_distinct' }, table: 'f', agg: (rows) => new Set(rows.map((r) => r.f.cat).filter((v) => v !== null)).size },
  avg_amount: { def: { expr: 'f.amount', agg: 'avg' }, table: 'f', agg: (rows) => { const v = present(rows.map((r) => r.f.amount)); return v.length === 0 ? null : v.reduce((a, b) => a + b, 0) / v.length; } },
  max_amount: { def: { expr: 'f.amount', agg: 'max' }, table: 'f', agg: (rows) => { const v = present(rows.map((r) => r.f.amount)); return v.length === 0 ? null : Math.max(...v); } },
  cat_amounts: { def: { expr: 'f.cat, f.amount', agg: 'count' }, table: 'f', agg: (rows) => rows.filter((r) => r.f.cat !== null && r.f.amount !== null).length },
  credit: { def: { expr: 'c.credit', agg: 'sum' }, table: 'c', agg: (rows) => sum(rows.map((r) => r.c!.credit)) },
  customers: { def: { expr: 'c.id', agg: 'count' }, table: 'c', agg: (rows) => rows.length },
  items: { def: { expr: '*', agg: 'count', source_table: 'i' }, table: 'i', agg: (rows) => rows.length },
  qty: { def: { expr: 'i.qty', agg: 'sum' }, table: 'i', agg: (rows) => sum(rows.map((r) => r.i!.qty)) },
  // An aggregate expression without agg: over no rows of its table it is still 0 + 1.
  items_plus_one: { def: { expr: 'count(i.id) + 1' }, table: 'i', agg: (rows) => rows.length + 1 },
};
// Derived metrics: combine other metrics after aggregation.
const DERIVED: Record<string, { expr: string; uses: string[]; value: (m: Record<string, number | null>) => number | null }> = {
  revenue_plus_items: { expr: 'revenue + items', uses: ['revenue', 'items'], value: (m) => (m.revenue === null || m.items === null ? null : m.revenue! + m.items!) },
  credit_per_order: { expr: 'credit * 1.0 / nullif(orders, 0)', uses: ['credit', 'orders'], value: (m) => (m.credit === null || m.orders === 0 || m.orders === null ? null : m.credit! / m.orders!) },
};
// Conditions for `where`: on rows (with the tables they read) or on groups (with the metrics they name).
const CONDITIONS: Array<{ sql: string; rows?: { table: Table; test: (r: Row) => boolean }; groups?: { uses: string[]; test: (m: Record<string, number | null>) => boolean } }> = [
  { sql: 'f.amount > 3', rows: { table: 'f', test: (r) => r.f.amount !== null && r.f.amount > 3 } },
  { sql: "region = 'EU'", rows: { table: 'c', test: (r) => r.c?.region === 'EU' } },
  { sql: 'i.qty >= 2', rows: { table: 'i', test: (r) => r.i !== null && r.i.qty !== null && r.i.qty >= 2 } },
  { sql: 'orders >= 2', groups: { uses: ['orders'], test: (m) => m.orders != null && m.orders >= 2 } },
  { sql: 'qty > 2', groups: { uses: ['qty'], test: (m) => m.qty != null && m.qty > 2 } },
];

interface Query { dimensions: string[]; metrics: string[]; conditions: number[] }
const queryArb: fc.Arbitrary<Query> = fc
  .record({
    dimensions: fc.subarray(Object.keys(DIMENSIONS), { maxLength: 2 }),
    metrics: fc.subarray([...Object.keys(METRICS), ...Object.keys(DERIVED)], { maxLength: 3 }),
    conditions: fc.subarray([0, 1, 2, 3, 4], { maxLength: 2 }),
  })
  .filter((q) => q.dimensions.length + q.metrics.length > 0);

function viewOf(shape: ViewShape): unknown {
  return {
    base_table: 'f',
    ...(shape.baseKey ? { primary_key: 'id' } : {}),
    joins: [
      { table: 'c', on: 'f.c_id = c.id', ...(shape.cInner ? { type: 'inner' } : {}), ...(shape.cKey ? { primary_key: 'id' } : {}) },
      { table: 'i', on: 'i.f_id = f.id', ...(shape.iInner ? { type: 'inner' } : {}), ...(shape.iKey ? { primary_key: 'id' } : {}) },
    ],
    dimensions: Object.entries(DIMENSIONS).map(([name, d]) => ({ name, expr: d.expr })),
    metrics: [...Object.entries(METRICS).map(([name, m]) => ({ name, ...m.def })), ...Object.entries(DERIVED).map(([name, d]) => ({ name, expr: d.expr }))],
  };
}

type Expected = { refused: true } | { refused: false; rows: Array<Record<string, unknown>> };

/** The answer README "How numbers are computed" promises, from the rows alone. */
function reference(schema: Schema, shape: ViewShape, query: Query): Expected {
  const conditions = query.conditions.map((n) => CONDITIONS[n]!);
  const aggregates = new Set<string>();
  for (const name of query.metrics) for (const used of DERIVED[name]?.uses ?? [name]) aggregates.add(used);
  for (const condition of conditions) for (const used of condition.groups?.uses ?? []) aggregates.add(used);
  const needed = new Set<Table>(['f']);
  query.dimensions.forEach((d) => needed.add(DIMENSIONS[d]!.table));
  aggregates.forEach((m) => needed.add(METRICS[m]!.table));
  conditions.forEach((c) => c.rows && needed.add(c.rows.table));
  // The planner's rule: the base table's rows repeat unless every needed join is proven
  // to match at most one row (c with its key declared; i never, its key is not in `on`).
  const repeats = (needed.has('c') && !shape.cKey) || needed.has('i');
  const keyOf: Record<Table, boolean> = { f: shape.baseKey, c: shape.cKey, i: shape.iKey };
  for (const m of aggregates) {
    const table = METRICS[m]!.table;
    if (!(table === 'f' && !repeats) && !keyOf[table]) return { refused: true };
  }
  // The joined rows.
  let rows: Row[] = schema.f.map((f) => ({ f, c: null, i: null }));
  if (needed.has('c')) {
    rows = rows.flatMap((r) => {
      const matches = schema.c.filter((c) => r.f.c_id !== null && c.id === r.f.c_id);
      if (matches.length === 0) return shape.cInner ? [] : [r];
      return matches.map((c) => ({ ...r, c }));
    });
  }
  if (needed.has('i')) {
    rows = rows.flatMap((r) => {
      const matches = schema.i.filter((i) => i.f_id !== null && i.f_id === r.f.id);
      if (matches.length === 0) return shape.iInner ? [] : [r];
      return matches.map((i) => ({ ...r, i }));
    });
  }
  rows = rows.filter((r) => conditions.every((c) => c.rows === undefined || c.rows.test(r)));
  // The groups, and each metric over the distinct rows of its table in the group.
  const groups = new Map<string, Row[]>();
  if (query.dimensions.length === 0) groups.set('[]', []);
  for (const r of rows) {
    const key = JSON.stringify(query.dimensions.map((d) => DIMENSIONS[d]!.value(r)));
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(r);
  }
  const out: Array<Record<string, unknown>> = [];
  for (const [key, members] of groups) {
    const values: Record<string, number | null> = {};
    for (const m of aggregates) {
      const table = METRICS[m]!.table;
      const distinct = new Map<number, Row>();
      for (const r of members) {
        const row = r[table];
        if (row !== null && !distinct.has(row.id)) distinct.set(row.id, r);
      }
      values[m] = METRICS[m]!.agg([...distinct.values()]);
    }
    if (!conditions.every((c) => c.groups === undefined || c.groups.test(values))) continue;
    const dims = JSON.parse(key) as unknown[];
    const row: Record<string, unknown> = {};
    query.dimensions.forEach((d, n) => (row[d] = dims[n]));
    for (const m of query.metrics) row[m] = DERIVED[m] === undefined ? values[m] : DERIVED[m]!.value(values);
    out.push(row);
  }
  return { refused: false, rows: out };
}

function canonical(rows: Array<Record<string, unknown>>): string[] {
  return rows
    .map((row) => JSON.stringify(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? Math.round(v * 1e6) / 1e6 : v])))
    .sort();
}

describe('semantic view answers (property-based, against a plain-JS reference)', () => {
  let host: DuckDBInstance;
  let connection: DuckDBConnection;

  beforeAll(async () => {
    host = await DuckDBInstance.create(':memory:');
    connection = await host.connect();
  });

  afterAll(() => {
    connection?.closeSync();
    host?.closeSync();
  });

  it('answers every generated query as the reference does, or refuses it when the reference does', { timeout: 120_000 }, async () => {
    const stats = { schemas: 0, queries: 0, answered: 0, refused: 0, mismatches: 0 };
    console.log(`semantic differential: seed ${SEED}, ${RUNS} schemas (DUCKCAT_DIFF_SEED / DUCKCAT_DIFF_RUNS to change)`);
    try {
      await fc.assert(
        fc.asyncProperty(schemaArb, shapeArb, fc.array(queryArb, { minLength: QUERIES_PER_SCHEMA, maxLength: QUERIES_PER_SCHEMA }), async (schema, shape, queries) => {
          stats.schemas++;
          await load(connection, schema);
          const view = validateSemanticView(viewOf(shape));
          for (const query of queries) {
            stats.queries++;
            const expected = reference(schema, shape, query);
            const request: SemanticViewQuery = {
              dimensions: query.dimensions,
              metrics: query.metrics,
              ...(query.conditions.length > 0 ? { where: query.conditions.map((n) => CONDITIONS[n]!.sql).join(' AND ') } : {}),
            };
            let sql: string;
            try {
              sql = semanticViewSql('v', view, request);
            } catch (error) {
              if (expected.refused && error instanceof CatalogInvalidError && /declare primary_key/.test(error.message)) {
                stats.refused++;
                continue;
              }
              stats.mismatches++;
              throw new Error(`refused ${JSON.stringify(request)} with ${String(error)}, expected ${JSON.stringify(expected)}`);
            }
            if (expected.refused) {
              stats.mismatches++;
              throw new Error(`answered ${JSON.stringify(request)}, expected a refusal\n${sql}`);
            }
            const actual = (await connection.runAndReadAll(sql)).getRowObjectsJS();
            const got = canonical(actual);
            const want = canonical(expected.rows);
            if (JSON.stringify(got) !== JSON.stringify(want)) {
              stats.mismatches++;
              throw new Error(`mismatch for ${JSON.stringify(request)} on ${JSON.stringify(shape)}\n${sql}\ngot  ${got.join(' ')}\nwant ${want.join(' ')}`);
            }
            stats.answered++;
          }
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
    } finally {
      console.log(`semantic differential: seed ${SEED}, ${stats.schemas} schemas, ${stats.queries} queries, ${stats.answered} answered, ${stats.refused} refused as expected, ${stats.mismatches} mismatches`);
    }
    expect(stats.mismatches).toBe(0);
    expect(stats.answered).toBeGreaterThan(RUNS);
  });
});

async function load(connection: DuckDBConnection, schema: Schema): Promise<void> {
  const values = (rows: unknown[][]) => rows.map((r) => `(${r.map((v) => (v === null ? 'NULL' : typeof v === 'string' ? `'${v}'` : String(v))).join(', ')})`).join(', ');
  const statements = [
    'CREATE OR REPLACE TABLE f (id INTEGER, c_id INTEGER, amount INTEGER, cat VARCHAR)',
    'CREATE OR REPLACE TABLE c (id INTEGER, region VARCHAR, credit INTEGER)',
    'CREATE OR REPLACE TABLE i (id INTEGER, f_id INTEGER, qty INTEGER, sku VARCHAR)',
  ];
  if (schema.f.length > 0) statements.push(`INSERT INTO f VALUES ${values(schema.f.map((r) => [r.id, r.c_id, r.amount, r.cat]))}`);
  if (schema.c.length > 0) statements.push(`INSERT INTO c VALUES ${values(schema.c.map((r) => [r.id, r.region, r.credit]))}`);
  if (schema.i.length > 0) statements.push(`INSERT INTO i VALUES ${values(schema.i.map((r) => [r.id, r.f_id, r.qty, r.sku]))}`);
  await connection.run(statements.join(';\n'));
}
