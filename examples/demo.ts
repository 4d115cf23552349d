/**
 * `npm run demo`: defines semantic views with SQL in a file-backed catalog, restarts (a new
 * process opens the file and lists them with SQL), and prints the write latency this
 * machine gave.
 * Usage: node build/examples/demo.js [catalog-path]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { Catalog } from 'duckcat';

const VIEWS = {
  orders_by_region: {
    base_table: 'orders',
    dimensions: [{ name: 'region', expr: 'region' }, { name: 'month', expr: "date_trunc('month', ordered_at)" }],
    metrics: [{ name: 'revenue', expr: 'amount', agg: 'sum' }, { name: 'orders', expr: '*', agg: 'count' }],
  },
  active_customers: {
    base_table: 'customers',
    dimensions: [{ name: 'country', expr: 'country' }],
    metrics: [{ name: 'customers', expr: 'customer_id', agg: 'count_distinct' }],
    filters: ['active'],
  },
  inventory_levels: {
    base_table: 'inventory',
    dimensions: [{ name: 'warehouse', expr: 'warehouse_id' }],
    metrics: [{ name: 'units', expr: 'quantity', agg: 'sum' }],
  },
};

const SAMPLES = 500;
const SQL_SAMPLES = 100;

/** A host database of the application's own: in memory, never the catalog's file. */
async function hostConnection(): Promise<{ connection: DuckDBConnection; close: () => void }> {
  const host = await DuckDBInstance.create(':memory:');
  const connection = await host.connect();
  await connection.run(`CREATE TABLE orders AS SELECT * FROM (VALUES
    ('EU', DATE '2026-01-03', 120), ('EU', DATE '2026-02-11', 80), ('US', DATE '2026-01-20', 200))
    t(region, ordered_at, amount)`);
  return { connection, close: () => (connection.closeSync(), host.closeSync()) };
}

function percentiles(latencies: Float64Array): string {
  latencies.sort();
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(0);
  return `p50 ${at(0.5)} µs, p99 ${at(0.99)} µs, max ${at(1)} µs`;
}

async function writeAndMeasure(path: string): Promise<void> {
  const catalog = await Catalog.open(path);
  const host = await hostConnection();
  await catalog.attach(host.connection);
  for (const [name, view] of Object.entries(VIEWS)) {
    const reader = await host.connection.runAndReadAll('SELECT define_semantic_view($1, $2)', [name, JSON.stringify(view)]);
    console.log(`  ${String(reader.getRows()[0]?.[0])}`);
  }
  console.log(`${catalog.size} semantic views committed to ${catalog.path}`);

  const viaSql = new Float64Array(SQL_SAMPLES);
  for (let i = 0; i < SQL_SAMPLES; i++) {
    const started = performance.now();
    await host.connection.run('SELECT define_semantic_view($1, $2)', [`sql_scratch_${i}`, JSON.stringify(VIEWS.orders_by_region)]);
    viaSql[i] = (performance.now() - started) * 1000;
  }
  const viaApi = new Float64Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) {
    const started = performance.now();
    catalog.defineSync(`scratch_${i}`, { ...VIEWS.orders_by_region, version: i });
    viaApi[i] = (performance.now() - started) * 1000;
  }
  const batch = performance.now();
  await Promise.all([
    ...Array.from({ length: SAMPLES }, (_, i) => catalog.drop(`scratch_${i}`)),
    ...Array.from({ length: SQL_SAMPLES }, (_, i) => catalog.drop(`sql_scratch_${i}`)),
  ]);
  const batchMs = performance.now() - batch;
  const stats = await catalog.stats();
  host.close();
  await catalog.close();

  console.log(`\nwrite latency on this machine (each write durable before it returns):`);
  console.log(`  catalog.defineSync, ${SAMPLES} writes:              ${percentiles(viaApi)}`);
  console.log(`  SELECT define_semantic_view(...), ${SQL_SAMPLES} statements: ${percentiles(viaSql)}`);
  const drops = SAMPLES + SQL_SAMPLES;
  console.log(`  ${drops} concurrent async drops: ${batchMs.toFixed(0)} ms, ${Math.round(drops / (batchMs / 1000))} ops/s (${stats.commits} commits in all)`);
}

async function readBack(path: string): Promise<void> {
  const catalog = await Catalog.open(path, { readOnly: true });
  const host = await hostConnection();
  await catalog.attach(host.connection);
  console.log(`\nafter restart (new process ${process.pid}): SELECT * FROM list_semantic_views()`);
  const listed = await host.connection.runAndReadAll('SELECT name, base_table, dimension_count, metric_count FROM list_semantic_views()');
  console.table(listed.getRowObjectsJson());
  console.log(`catalog.query(connection, 'orders_by_region', { dimensions: ['region'], metrics: ['revenue'] })`);
  console.table(await catalog.query(host.connection, 'orders_by_region', { dimensions: ['region'], metrics: ['revenue'] }));
  host.close();
  await catalog.close();
}

/**
 * Where the demo's catalog goes. By default a fresh temporary directory, removed at the
 * end (the demo made it). A path given on the command line must be in a directory that
 * does not exist yet or is empty, and is left in place: the demo never deletes what it
 * did not create.
 */
function catalogPath(given: string | undefined): { path: string; ownDir: string | undefined } {
  if (given === undefined) {
    const ownDir = mkdtempSync(join(tmpdir(), 'duckcat-demo-'));
    return { path: join(ownDir, 'catalog.duckdb'), ownDir };
  }
  const dir = dirname(resolve(given));
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    console.error(`demo: ${dir} is not empty; give a path in a new or empty directory (the demo writes a catalog and its side files there)`);
    process.exit(2);
  }
  mkdirSync(dir, { recursive: true });
  return { path: resolve(given), ownDir: undefined };
}

if (process.argv[2] === '--read') {
  await readBack(process.argv[3]!);
} else {
  const { path, ownDir } = catalogPath(process.argv[2]);
  try {
    await writeAndMeasure(path);
    // A real restart: a fresh process opens the file the first one closed.
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--read', path], { stdio: 'inherit' });
    process.exitCode = child.status ?? 1;
  } finally {
    if (ownDir !== undefined) rmSync(ownDir, { recursive: true, force: true });
  }
}
