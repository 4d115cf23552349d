/**
 * Entry point of `npm run bench:scale`: cost against catalog size (issue 19). For each N,
 * in fresh processes under one temp dir: build a catalog of N definitions with 256 async
 * defines in flight (every `--probe-every`-th op a defineSync, to time one caller's wait),
 * then time cold opens of it, then JSON.parse of the same entries into a Map. Table on
 * stdout, progress on stderr, and bench/results/scale.json for the record.
 *
 *   node --expose-gc build/bench/scale.js --sizes 10k,100k,300k,1M
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import type { BuildResult, JsonResult, OpenResult } from './scale-child.js';
import { describeEnvironment } from './environment.js';
import { renderColumns } from './text-table.js';

const USAGE = `usage: node --expose-gc build/bench/scale.js [options]
  --sizes a,b,...   catalog sizes, with k/M suffixes (default 10k,100k,300k)
  --in-flight N     async defines in flight while building (default 256)
  --probe-every N   every N-th op is a defineSync, timing one caller's wait (default 2000; 0: none)
  --opens N         cold opens per size, each in a fresh process (default 3)
  --out DIR         where scale.json goes (default bench/results)`;

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10k,100k,300k' },
    'in-flight': { type: 'string', default: '256' },
    'probe-every': { type: 'string', default: '2000' },
    opens: { type: 'string', default: '3' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

function size(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim());
  if (match === null) throw new TypeError(`--sizes: not a size: ${text}\n${USAGE}`);
  const scale = { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6 }[match[2]!]!;
  return Math.round(Number(match[1]) * scale);
}

const sizes = values.sizes.split(',').map(size);
const inFlight = size(values['in-flight']);
const probeEvery = Number(values['probe-every']);
const opens = size(values.opens);
const child = fileURLToPath(new URL('./scale-child.js', import.meta.url));
const outDir = values.out ?? fileURLToPath(new URL('../../bench/results/', import.meta.url));

async function run<T>(args: string[]): Promise<T> {
  const pending = promisify(execFile)(process.execPath, ['--expose-gc', child, ...args], { maxBuffer: 64 * 2 ** 20 });
  pending.child.stderr?.pipe(process.stderr);
  const { stdout } = await pending;
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? 'null') as T;
}

interface Row {
  entries: number;
  build: BuildResult;
  opens: OpenResult[];
  json: JsonResult[];
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1] ?? Number.NaN;
const fixed = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-');

const root = await mkdtemp(join(tmpdir(), 'duckcat-scale-'));
const env = describeEnvironment(root);
const rows: Row[] = [];
try {
  for (const entries of sizes) {
    const dir = join(root, String(entries));
    await mkdir(dir);
    const path = join(dir, 'scale.duckdb');
    process.stderr.write(`N=${entries}: build (${inFlight} in flight)\n`);
    const build = await run<BuildResult>(['build', path, String(entries), String(inFlight), String(probeEvery)]);
    const opened: OpenResult[] = [];
    const parsed: JsonResult[] = [];
    if (build.failure === null) {
      const jsonPath = join(dir, 'same.json');
      await run(['write-json', jsonPath, String(entries)]);
      // Alternated, so both see the same page cache and the same neighbours on the machine.
      for (let k = 0; k < opens; k++) {
        process.stderr.write(`N=${entries}: open ${k + 1}/${opens}\n`);
        opened.push(await run<OpenResult>(['open', path, String(entries)]));
        parsed.push(await run<JsonResult>(['json', jsonPath, String(entries)]));
      }
    }
    rows.push({ entries, build, opens: opened, json: parsed });
    // Each N on its own as it finishes: a 1M step takes minutes.
    process.stderr.write(`N=${entries}: ${JSON.stringify({ build, opens: opened, json: parsed })}\n`);
    await rm(dir, { recursive: true, force: true });
  }

  const header = ['N', 'build ops/s', 'CPU µs/op', 'load', 'async p50 ms', 'async p99.9 ms', 'async max ms', 'sync max ms', 'compactions', 'max ms in compaction (async/sync)', 'open ms', 'JSON.parse ms', 'open/JSON', 'RSS MB', 'JSON Map MB', 'RSS/JSON', 'TIMEOUTs'];
  const table = rows.map(({ entries, build, opens: o, json: j }) => {
    const openMs = median(o.map((x) => x.openMs));
    const jsonMs = median(j.map((x) => x.parseMs));
    const rss = median(o.map((x) => x.rssDeltaMB));
    const jsonRss = median(j.map((x) => x.rssDeltaMB));
    return [
      entries.toLocaleString('en-US'),
      build.failure === null ? fixed(build.opsPerSec) : `FAILED at ${build.acknowledged}`,
      fixed(build.cpuUsPerOp, 1),
      fixed(build.loadAverage, 1),
      fixed(build.asyncMs.p50, 1),
      fixed(build.asyncMs.p999, 1),
      fixed(build.asyncMs.max, 1),
      fixed(build.syncMs.max, 1),
      String(build.duringCompaction.compactions),
      `${fixed(build.duringCompaction.maxAsyncMs, 1)} / ${fixed(build.duringCompaction.maxSyncMs, 1)}`,
      fixed(openMs),
      fixed(jsonMs),
      `${fixed(openMs / jsonMs, 2)}x`,
      fixed(rss),
      fixed(jsonRss),
      `${fixed(rss / jsonRss, 2)}x`,
      String(build.timeouts),
    ];
  });
  console.log(`node ${env.node} · ${env.platform} · ${env.cpuCount} × ${env.cpuModel} · ${env.tmpFilesystem} · ${env.date}`);
  console.log(`~300 B definitions · ${inFlight} async defines in flight · a defineSync every ${probeEvery} ops · median of ${opens} cold opens (fresh processes)`);
  console.log(renderColumns(header.map((title, c) => ({ title, cell: (row: string[]) => row[c] ?? '' })), table).join('\n'));
  for (const row of rows) if (row.build.failure !== null) console.log(`N=${row.entries}: ${row.build.failure}`);
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'scale.json'), `${JSON.stringify({ environment: env, inFlight, probeEvery, rows }, null, 2)}\n`);
  process.stderr.write(`wrote ${join(outDir, 'scale.json')}\n`);
} finally {
  await rm(root, { recursive: true, force: true });
}
