/**
 * Entry point of `npm run bench`: every write path in interleaved rounds in one fresh temp
 * directory (the PostgreSQL-backed ones on a throwaway cluster of the run's own), then the
 * stage breakdown of one defineSync, the cold open, and cross-process visibility on PostgreSQL. Table on
 * stdout, progress on stderr, and bench/results/latest.json and latest.svg for the record
 * (partial.* for --only/--quick runs).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs } from './args.js';
import { runColdOpenInChild } from './cold-open.js';
import type { ColdOpenResult } from './cold-open.js';
import { describeEnvironment } from './environment.js';
import { PgBenchServer } from './pg-server.js';
import { measurePgVisibility, renderPgVisibility } from './pg-visibility.js';
import type { PgVisibilityResult } from './pg-visibility.js';
import { renderStageBreakdown } from './report-stages.js';
import { renderColdOpen, renderTable } from './report-table.js';
import { renderSvg } from './report-svg.js';
import { addRatios, runRounds } from './rounds.js';
import { measureStageBreakdown } from './stage-breakdown.js';
import type { StageBreakdownResult } from './stage-breakdown.js';
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

/** What an optional step measured, or why it could not. */
interface StepOutcome<T> {
  result: T | null;
  error: string | null;
}

/**
 * Runs an optional step in a directory of its own under the temp dir; a failure becomes the
 * step's error line in the report instead of ending the run.
 */
async function runStep<T>(name: string, measure: (dir: string) => Promise<T>): Promise<StepOutcome<T>> {
  const dir = join(root, name);
  await mkdir(dir);
  try {
    return { result: await measure(dir), error: null };
  } catch (error) {
    return { result: null, error: error instanceof Error ? error.message : String(error) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function selected(step: string, skipped: boolean): boolean {
  return !skipped && (args.only.length === 0 || args.only.includes(step));
}

/** Labels of the PostgreSQL rows and step: a cluster starts only when one of them is selected. */
const PG_SELECTORS = ['duckcat defineSync (postgres)', 'duckcat define x64 (postgres)', 'pg-visibility'];
const wantPg = !args.skipPg && (args.only.length === 0 || args.only.some((f) => PG_SELECTORS.some((label) => label.includes(f.toLowerCase()))));
let pgServer: PgBenchServer | undefined;
/** Why the PostgreSQL rows are missing from this run, when they are. */
let pgSkipped: string | null = args.skipPg ? 'skipped (--skip-pg)' : null;
if (wantPg) {
  process.stderr.write('postgres: starting a throwaway cluster...\n');
  const started = await PgBenchServer.start();
  if (started instanceof PgBenchServer) pgServer = started;
  else {
    pgSkipped = started.skipped;
    process.stderr.write(`postgres rows SKIPPED: ${pgSkipped}\n`);
  }
}

try {
  const targets = selectTargets(allTargets(pgServer), args.only);
  const results = await runRounds(targets, root, args);
  addRatios(results, REFERENCE_LABEL);

  let stages: StepOutcome<StageBreakdownResult> = { result: null, error: null };
  if (selected('stages', args.skipStages)) {
    process.stderr.write(`stage breakdown: ${args.ops} traced defineSync calls...\n`);
    globalThis.gc?.();
    stages = await runStep('stages', (dir) => measureStageBreakdown(dir, { writes: args.ops, warmup: args.warmup }));
  }

  let cold: StepOutcome<ColdOpenResult> = { result: null, error: null };
  if (selected('cold-open', args.skipCold)) {
    process.stderr.write(`cold open: seeding ${args.coldEntries} entries...\n`);
    cold = await runStep('cold-open', (dir) => runColdOpenInChild(dir, args.coldEntries, args.gets));
  }

  let visibility: StepOutcome<PgVisibilityResult> = { result: null, error: null };
  if (pgServer !== undefined && selected('pg-visibility', false)) {
    const server = pgServer;
    process.stderr.write(`pg visibility: ${args.pgSamples} writes in one process, seen by another...\n`);
    visibility = await runStep('pg-visibility', () => measurePgVisibility(server, args.pgSamples, args.warmup));
  }

  const environmentLine =
    `node ${env.node} · ${env.platform} · ${env.cpuCount} × ${env.cpuModel} · ${env.totalMemMB} MB RAM · ` +
    `${env.tmpFilesystem} · ${env.date}`;
  const versionsLine = Object.entries(env.versions).map(([name, version]) => `${name} ${version}`).join(' · ');
  console.log(environmentLine);
  console.log(versionsLine);
  console.log();
  if (results.length > 0) console.log(renderTable(results, args.rounds));
  if (stages.result !== null) console.log(`\n${renderStageBreakdown(stages.result)}`);
  if (stages.error !== null) console.log(`\nstage breakdown failed: ${stages.error}`);
  if (cold.result !== null) console.log(`\n${renderColdOpen(cold.result)}`);
  if (cold.error !== null) console.log(`\ncold open failed: ${cold.error}`);
  if (visibility.result !== null) console.log(`\n${renderPgVisibility(visibility.result)}`);
  if (visibility.error !== null) console.log(`\npg visibility failed: ${visibility.error}`);
  if (pgSkipped !== null) console.log(`\nPostgreSQL rows SKIPPED: ${pgSkipped}`);

  // A filtered or quick run must not overwrite the full results the README points at.
  const base = args.only.length > 0 || args.quick ? 'partial' : 'latest';
  await mkdir(outDir, { recursive: true });
  const config = { rounds: args.rounds, ops: args.ops, warmup: args.warmup, budgetMs: args.budgetMs, quick: args.quick, only: args.only };
  const report = {
    environment: env,
    config,
    reference: REFERENCE_LABEL,
    targets: results,
    stageBreakdown: stages.result,
    stageBreakdownError: stages.error,
    coldOpen: cold.result,
    coldOpenError: cold.error,
    pgVisibility: visibility.result,
    pgVisibilityError: visibility.error,
    pgSkipped,
  };
  await writeFile(join(outDir, `${base}.json`), `${JSON.stringify(report, null, 2)}\n`);
  if (results.length > 0) await writeFile(join(outDir, `${base}.svg`), renderSvg(results, env, args.rounds));
  process.stderr.write(`wrote ${join(outDir, `${base}.json`)}${results.length > 0 ? ` and ${base}.svg` : ''}\n`);
} finally {
  await pgServer?.stop();
  await rm(root, { recursive: true, force: true });
}
