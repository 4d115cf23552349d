/**
 * Entry point of `npm run bench`: every write path in interleaved rounds in one fresh temp
 * directory, then the cold open. Table on stdout, progress on stderr, and
 * bench/results/latest.json and latest.svg for the record (partial.* for --only/--quick runs).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs } from './args.js';
import { runColdOpenInChild } from './cold-open.js';
import type { ColdOpenResult } from './cold-open.js';
import { describeEnvironment } from './environment.js';
import { renderColdOpen, renderTable } from './report-table.js';
import { renderSvg } from './report-svg.js';
import { addRatios, runRounds } from './rounds.js';
import { REFERENCE_LABEL, allTargets, selectTargets } from './targets.js';

const args = parseBenchArgs(process.argv.slice(2));
// The compiled file is build/bench/run.js; results belong in the source tree's bench/results.
const outDir = args.outDir ?? fileURLToPath(new URL('../../bench/results/', import.meta.url));
const root = await mkdtemp(join(tmpdir(), 'duckcat-bench-'));
const env = describeEnvironment(root);

if (globalThis.gc === undefined) {
  process.stderr.write('note: run with node --expose-gc so collections happen between targets, not inside them\n');
}
process.stderr.write(`temp dir ${root} (${env.tmpFilesystem}); node ${env.node}; ${env.cpuCount} × ${env.cpuModel}\n`);

try {
  const targets = selectTargets(allTargets(), args.only);
  const results = await runRounds(targets, root, args);
  addRatios(results, REFERENCE_LABEL);

  const runCold = !args.skipCold && (args.only.length === 0 || args.only.includes('cold-open'));
  let coldOpen: ColdOpenResult | null = null;
  let coldOpenError: string | null = null;
  if (runCold) {
    const coldDir = join(root, 'cold-open');
    await mkdir(coldDir);
    process.stderr.write(`cold open: seeding ${args.coldEntries} entries...\n`);
    try {
      coldOpen = await runColdOpenInChild(coldDir, args.coldEntries, args.gets);
    } catch (error) {
      coldOpenError = error instanceof Error ? error.message : String(error);
    } finally {
      await rm(coldDir, { recursive: true, force: true });
    }
  }

  const environmentLine =
    `node ${env.node} · ${env.platform} · ${env.cpuCount} × ${env.cpuModel} · ${env.totalMemMB} MB RAM · ` +
    `${env.tmpFilesystem} · ${env.date}`;
  const versionsLine = Object.entries(env.versions).map(([name, version]) => `${name} ${version}`).join(' · ');
  console.log(environmentLine);
  console.log(versionsLine);
  console.log();
  if (results.length > 0) console.log(renderTable(results, args.rounds));
  if (coldOpen !== null) console.log(`\n${renderColdOpen(coldOpen)}`);
  if (coldOpenError !== null) console.log(`\ncold open failed: ${coldOpenError}`);

  // A filtered or quick run must not overwrite the full results the README points at.
  const base = args.only.length > 0 || args.quick ? 'partial' : 'latest';
  await mkdir(outDir, { recursive: true });
  const config = { rounds: args.rounds, ops: args.ops, warmup: args.warmup, budgetMs: args.budgetMs, quick: args.quick, only: args.only };
  const report = { environment: env, config, reference: REFERENCE_LABEL, targets: results, coldOpen, coldOpenError };
  await writeFile(join(outDir, `${base}.json`), `${JSON.stringify(report, null, 2)}\n`);
  if (results.length > 0) await writeFile(join(outDir, `${base}.svg`), renderSvg(results, env, args.rounds));
  process.stderr.write(`wrote ${join(outDir, `${base}.json`)}${results.length > 0 ? ` and ${base}.svg` : ''}\n`);
} finally {
  await rm(root, { recursive: true, force: true });
}
