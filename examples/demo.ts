/**
 * `npm run demo`: defines semantic views in a file-backed catalog, restarts (a new
 * process reads the file back), and prints the write latency this machine gave.
 * Usage: node build/examples/demo.js [catalog-path]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

async function writeAndMeasure(path: string): Promise<void> {
  rmSync(dirname(path), { recursive: true, force: true });
  mkdirSync(dirname(path), { recursive: true });
  const catalog = await Catalog.open(path);
  for (const [name, view] of Object.entries(VIEWS)) catalog.defineSync(name, view);
  console.log(`defined ${catalog.size} semantic views in ${catalog.path}`);

  const latencies = new Float64Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) {
    const started = performance.now();
    catalog.defineSync(`scratch_${i}`, { ...VIEWS.orders_by_region, version: i });
    latencies[i] = (performance.now() - started) * 1000;
  }
  const batch = Date.now();
  await Promise.all(Array.from({ length: SAMPLES }, (_, i) => catalog.drop(`scratch_${i}`)));
  const batchMs = Date.now() - batch;
  await catalog.close();

  latencies.sort();
  const at = (q: number) => latencies[Math.min(SAMPLES - 1, Math.floor(q * SAMPLES))]!.toFixed(0);
  console.log(`defineSync latency over ${SAMPLES} durable writes: p50 ${at(0.5)} µs, p99 ${at(0.99)} µs, max ${at(1)} µs`);
  console.log(`${SAMPLES} concurrent async drops (group commit): ${batchMs} ms, ${Math.round(SAMPLES / (batchMs / 1000))} ops/s`);
}

async function readBack(path: string): Promise<void> {
  const catalog = await Catalog.open(path, { readOnly: true });
  console.log(`after restart (pid ${process.pid}): ${catalog.size} definitions`);
  for (const [name, view] of catalog.entries()) {
    const { base_table, dimensions, metrics } = view as { base_table: string; dimensions: unknown[]; metrics: unknown[] };
    console.log(`  ${name.padEnd(18)} base ${base_table.padEnd(10)} ${dimensions.length} dimensions, ${metrics.length} metrics`);
  }
  await catalog.close();
}

const [mode, pathArg] = process.argv[2] === '--read' ? ['read', process.argv[3]] : ['write', process.argv[2]];
const path = pathArg ?? join(tmpdir(), 'duckcat-demo', 'catalog.duckdb');
if (mode === 'read') {
  await readBack(path);
} else {
  await writeAndMeasure(path);
  // A real restart: a fresh process opens the file the first one closed.
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--read', path], { stdio: 'inherit' });
  process.exitCode = child.status ?? 1;
}
