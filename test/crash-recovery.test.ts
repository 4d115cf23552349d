import { describe, expect, it } from 'vitest';
import { formatSummary, runTrials, type KillPhase, type TrialMode, type TrialSummary } from './crash/trial.mjs';
import { tempDir } from './helpers/temp-catalog.js';

// 30 SIGKILL trials in CI, split over the kill moments, a fifth of them without the
// recovery journal. DUCKCAT_CRASH_TRIALS scales them; the soak runner
// (test/soak/soak.mjs --trials N) runs the same trials by the thousand.
const TOTAL = Number(process.env.DUCKCAT_CRASH_TRIALS ?? 30);
const PARALLEL = Number(process.env.DUCKCAT_CRASH_PARALLEL ?? 2);
const FIFTH = Math.max(1, Math.round(TOTAL / 5));
const RANDOM = Math.max(1, TOTAL - 3 * FIFTH);

async function run(options: { trials: number; firstSeed: number; mode?: TrialMode; journal?: boolean }): Promise<TrialSummary> {
  const summary = await runTrials({ ...options, parallel: PARALLEL, dir: tempDir() });
  const label = `${options.mode ?? 'mixed'}${options.journal === false ? ', no journal' : ''}`;
  console.log(`crash recovery (${label}): ${formatSummary(summary)}`);
  return summary;
}

function expectNothingLost(summary: TrialSummary, trials: number): void {
  const failures = summary.failures.map((f) => ({
    seed: f.seed,
    mode: f.mode,
    killedDuring: f.killedDuring,
    mismatches: f.mismatches.slice(0, 5),
    writerFailure: f.writerFailure,
    reopenFailure: f.reopenFailure,
    hang: f.hang,
    file: f.path,
  }));
  expect(failures).toEqual([]);
  expect(summary).toMatchObject({ trials, lost: 0, reopenFailures: 0, hangs: 0, writerFailures: 0 });
}

function expectKillsDuring(summary: TrialSummary, phase: KillPhase): void {
  expect(summary.killedDuring[phase], `kills during ${phase}`).toBeGreaterThan(0);
}

describe('crash recovery (SIGKILL of a writing process)', () => {
  it('keeps every acknowledged write and drop when the writer is killed at a random moment', { timeout: 300_000 }, async () => {
    const summary = await run({ trials: RANDOM, firstSeed: 1, mode: 'random' });
    expectNothingLost(summary, RANDOM);
    expectKillsDuring(summary, 'writes');
    expect(summary.acked).toBeGreaterThan(RANDOM * 10);
    // Journal-first: at some kills DuckDB was behind the journal, and reopen rolled it forward.
    expect(summary.rolledForward).toBeGreaterThan(0);
  });

  it('keeps every acknowledged write when the writer is killed during a checkpoint', { timeout: 300_000 }, async () => {
    const summary = await run({ trials: FIFTH, firstSeed: 10_001, mode: 'checkpoint' });
    expectNothingLost(summary, FIFTH);
    expectKillsDuring(summary, 'checkpoint');
  });

  it('keeps every acknowledged write when the writer is killed during close()', { timeout: 300_000 }, async () => {
    const summary = await run({ trials: FIFTH, firstSeed: 20_001, mode: 'close' });
    expectNothingLost(summary, FIFTH);
    expectKillsDuring(summary, 'close');
  });

  it('keeps every acknowledged write with the journal turned off, on DuckDB’s WAL alone', { timeout: 300_000 }, async () => {
    const summary = await run({ trials: FIFTH, firstSeed: 30_001, journal: false });
    expectNothingLost(summary, FIFTH);
    expect(summary.recoveries).toBe(0);
  });
});
