import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/temp-catalog.js';

// Issue 11, "as a dependency": the packed tarball installed into a fresh app next to a
// DIFFERENT compatible @duckdb/node-api than the one duckcat is developed with. One native
// DuckDB copy must load (the host's: node-api is a peer dependency), the SQL functions must
// work on the host's connections, the types must refuse non-JSON, the source maps must
// point at shipped files, and `node --input-type=module -e` must work (the writer's threads
// do not inherit the parent's execArgv).

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOST_NODE_API = '1.5.5-r.5';
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const TYPES_NODE = join(ROOT, 'node_modules', '@types', 'node');

let app = '';

function run(args: string[], cwd: string): string {
  const result = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${String(result.status)} (${String(result.signal)})\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

beforeAll(() => {
  app = tempDir();
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', app], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!;
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', join(app, packed), `@duckdb/node-api@${HOST_NODE_API}`], { cwd: app, stdio: 'pipe', timeout: 240_000 });
}, 300_000);

describe('the published package in a fresh app', () => {
  it('uses the host\'s @duckdb/node-api: one native copy, SQL functions work on its connections', () => {
    expect(existsSync(join(app, 'node_modules', 'duckcat', 'node_modules', '@duckdb'))).toBe(false);
    writeFileSync(join(app, 'main.mjs'), `
import { DuckDBInstance } from '@duckdb/node-api';
import { attachCatalog } from 'duckcat';
import { readFileSync } from 'node:fs';
const host = await DuckDBInstance.create('./host.duckdb');
const connection = await host.connect();
await connection.run("CREATE TABLE orders AS SELECT * FROM (VALUES ('EU', 10), ('US', 5), ('EU', 7)) t(region, amount)");
const catalog = await attachCatalog(connection);
await connection.run("SELECT define_semantic_view('sales', $1)", [JSON.stringify({ base_table: 'orders', dimensions: [{ name: 'region', expr: 'region' }], metrics: [{ name: 'revenue', expr: 'amount', agg: 'sum' }] })]);
const rows = (await connection.runAndReadAll("SELECT * FROM semantic_query('sales', dimensions := ['region'], metrics := ['revenue']) ORDER BY region")).getRowObjectsJson();
const engine = (await connection.runAndReadAll('SELECT version()')).getRows()[0][0];
const natives = new Set(readFileSync('/proc/self/maps', 'utf8').split('\\n').map((line) => line.split(/\\s+/)[5]).filter((file) => file !== undefined && file.endsWith('.node') && file.includes('duckdb')));
console.log(JSON.stringify({ rows, engine, natives: [...natives] }));
connection.closeSync();
host.closeSync();
await catalog.close();
`);
    const report = JSON.parse(run(['main.mjs'], app)) as { rows: unknown[]; engine: string; natives: string[] };
    expect(report.rows).toEqual([{ region: 'EU', revenue: '17' }, { region: 'US', revenue: '5' }]);
    expect(report.engine).toBe('v1.5.5');
    expect(report.natives).toHaveLength(1);
    expect(report.natives[0]).toContain(join(app, 'node_modules', '@duckdb'));
  });

  it('works from node --input-type=module -e (the writer threads do not inherit execArgv)', () => {
    const out = run(['--input-type=module', '-e', "import { Catalog } from 'duckcat'; const c = await Catalog.open('./eval.duckdb'); c.defineSync('a', 1); await c.close(); console.log('ok', c.state);"], app);
    expect(out.trim()).toBe('ok closed');
  });

  it('ships LICENSE and the sources its source maps name', () => {
    const pkg = join(app, 'node_modules', 'duckcat');
    expect(readFileSync(join(pkg, 'LICENSE'), 'utf8')).toContain('MIT License');
    const maps = readdirSync(join(pkg, 'dist', 'main')).filter((file) => file.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(5);
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(pkg, 'dist', 'main', map), 'utf8')) as { sources: string[] };
      for (const source of sources) expect(existsSync(join(pkg, 'dist', 'main', source)), `${map} → ${source}`).toBe(true);
    }
  });

  it('its types refuse what is not JSON and a semantic view with an unknown aggregation', () => {
    mkdirSync(join(app, 'node_modules', '@types'), { recursive: true });
    execFileSync('ln', ['-sfn', TYPES_NODE, join(app, 'node_modules', '@types', 'node')]);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, types: ['node'] }, files: ['check.ts'] }));
    writeFileSync(join(app, 'check.ts'), `
import { Catalog, semanticView, type JsonValue } from 'duckcat';
interface Settings { retries: number; tags: string[]; nested?: { on: boolean } }
const catalog = await Catalog.open();
const settings: Settings = { retries: 3, tags: ['a'] };
catalog.defineSync('settings', settings);
catalog.defineSync('json', JSON.parse('{}') as JsonValue);
// @ts-expect-error a bigint is not JSON
catalog.defineSync('bad', { n: 1n });
// @ts-expect-error a Date is not JSON
await catalog.define('when', { at: new Date() });
// @ts-expect-error a function is not JSON
catalog.replaceSync('fn', { run: () => 1 });
catalog.defineSync('sales', semanticView({ base_table: 'orders', dimensions: [], metrics: [{ name: 'n', expr: 'x', agg: 'sum' }] }));
// @ts-expect-error an unknown aggregation does not compile
semanticView({ base_table: 'orders', dimensions: [], metrics: [{ name: 'n', expr: 'x', agg: 'mediann' }] });
await catalog.close();
`);
    const result = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
