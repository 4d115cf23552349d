import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { drive } from './drive.js';
import { medianOfRuns, summarize } from './stats.js';
import type { Summary } from './stats.js';
import type { WriteTarget } from './write-target.js';

/** Everything measured for one target across all rounds. */
export interface TargetResult {
  label: string;
  durable: boolean;
  concurrency: number;
  rounds: Summary[];
  /** Field-wise median of `rounds`; null when no round completed. */
  median: Summary | null;
  /** This target's median p50 divided by the reference's; above 1 means slower than it. */
  ratioP50: number | null;
  /** The first failure, after which the target is skipped; null when every round ran. */
  error: string | null;
}

export interface RoundOptions {
  rounds: number;
  ops: number;
  warmup: number;
  budgetMs: number;
}

function slug(label: string): string {
  return label.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/**
 * More callers need more ops for their p99 to mean as much; the square root keeps the x64
 * round to seconds even if group commit is missing.
 */
function opsFor(target: WriteTarget, ops: number): number {
  return ops * Math.ceil(Math.sqrt(target.concurrency));
}

async function runOnce(target: WriteTarget, dir: string, options: RoundOptions): Promise<Summary> {
  await mkdir(dir, { recursive: true });
  try {
    await target.setup(dir);
    const { latenciesUs, wallMs } = await drive(target, { ...options, ops: opsFor(target, options.ops) });
    return summarize(latenciesUs, wallMs);
  } finally {
    try {
      await target.teardown();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/**
 * Runs every target once per round, starting each round one target later, so that drift
 * (page-cache writeback, a noisy neighbour, thermal state) hits every target alike rather
 * than whichever always runs after the heaviest one. Progress goes to stderr.
 */
export async function runRounds(targets: WriteTarget[], root: string, options: RoundOptions): Promise<TargetResult[]> {
  const results = targets.map((target): TargetResult => ({
    label: target.label,
    durable: target.durable,
    concurrency: target.concurrency,
    rounds: [],
    median: null,
    ratioP50: null,
    error: null,
  }));
  for (let round = 0; round < options.rounds; round++) {
    for (let k = 0; k < targets.length; k++) {
      const index = (k + round) % targets.length;
      const target = targets[index];
      const result = results[index];
      if (target === undefined || result === undefined || result.error !== null) continue;
      // Collect the previous target's garbage now rather than inside this one's timings.
      globalThis.gc?.();
      const dir = join(root, `r${round + 1}-${slug(target.label)}`);
      try {
        const summary = await runOnce(target, dir, options);
        result.rounds.push(summary);
        process.stderr.write(
          `round ${round + 1}/${options.rounds}  ${target.label.padEnd(22)} ` +
            `p50 ${summary.p50.toFixed(0).padStart(7)} µs  p99 ${summary.p99.toFixed(0).padStart(7)} µs  n=${summary.count}\n`,
        );
      } catch (error) {
        result.error = messageOf(error);
        process.stderr.write(`round ${round + 1}/${options.rounds}  ${target.label}: FAILED, skipped from now on\n${result.error}\n`);
      }
    }
  }
  for (const result of results) {
    if (result.rounds.length > 0) result.median = medianOfRuns(result.rounds);
  }
  return results;
}

/** Fills `ratioP50` against the result labelled `referenceLabel`, when it has a median. */
export function addRatios(results: TargetResult[], referenceLabel: string): void {
  const reference = results.find((result) => result.label === referenceLabel)?.median?.p50;
  if (reference === undefined || !(reference > 0)) return;
  for (const result of results) {
    if (result.median !== null) result.ratioP50 = result.median.p50 / reference;
  }
}
