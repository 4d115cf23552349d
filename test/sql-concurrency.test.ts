import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collect, fixture, runFixture } from './helpers/child.js';
import { tempCatalogPath, tempDir } from './helpers/temp-catalog.js';

interface Phase {
  readonly phase: 'define' | 'replace' | 'drop';
  readonly completed: number;
  readonly failed: number;
  readonly codes: readonly string[];
  readonly firstError?: string;
  readonly wallMs: number;
  readonly maxMs: number;
  readonly usableAfter: boolean;
}

interface Report {
  readonly n: number;
  readonly pool: string;
  readonly phases: readonly Phase[];
  readonly hostAnswer: number;
}

const POOL_WAIT_MS = 500;
// Must match test/fixtures/sql-concurrency.mjs: the writer's deadline.
const TIMEOUT_MS = 10_000;
const DEFAULT_POOL = 4;
// A hang fails the test: the child is killed long before vitest's own timeout.
const KILL_AFTER_MS = 45_000;

/** Runs N concurrent host queries per DDL phase in a fresh process with the given pool size. */
async function run(n: number, poolSize: number | undefined, commit: 'journal' | 'duckdb' = 'duckdb'): Promise<Report> {
  const env = { ...process.env };
  delete env.UV_THREADPOOL_SIZE;
  if (poolSize !== undefined) env.UV_THREADPOOL_SIZE = String(poolSize);
  const child = spawn(process.execPath, [fixture('sql-concurrency.mjs'), String(n), tempCatalogPath(), String(POOL_WAIT_MS), commit], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result = await collect(child, KILL_AFTER_MS);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Report;
}

describe("concurrent host queries calling the DDL functions (commit: 'journal', the default)", () => {
  // Acknowledged by the journal thread's own fdatasync: no write path needs a pool thread,
  // so every call completes on the default pool of 4, whatever N.
  it.each([1, 4, 8, 16])('N = %i on the default pool: every define, replace and drop completes', async (n) => {
    const report = await run(n, undefined, 'journal');
    expect(report.hostAnswer).toBe(42);
    for (const phase of report.phases) expect(phase, phase.phase).toMatchObject({ completed: n, failed: 0, usableAfter: true });
  });
});

describe("concurrent host queries calling the DDL functions (commit: 'duckdb')", () => {
  // The design that makes every call complete: a pool with a thread to spare for the
  // writer, i.e. UV_THREADPOOL_SIZE >= N + 1, set before the process first uses the pool.
  it.each([1, 4, 8, 16])('N = %i: every call completes when UV_THREADPOOL_SIZE is N + 1', async (n) => {
    const report = await run(n, n + 1);
    expect(report.hostAnswer).toBe(42);
    for (const phase of report.phases) expect(phase, phase.phase).toMatchObject({ completed: n, failed: 0, usableAfter: true });
  });

  // With the default pool of 4: define never needs the pool (the writer's appender flushes
  // on its own thread), so it always completes. replace/drop commit with UPDATE/DELETE
  // statements that need a pool thread. The README's split: N - UV_THREADPOOL_SIZE + 1
  // callers fail fast with ERR_CATALOG_TIMEOUT naming the threadpool (each frees its pool
  // thread for a queued host query, until one is left for the writer), the other
  // UV_THREADPOOL_SIZE - 1 complete; the catalog stays usable, nothing hangs.
  it.each([1, 4, 8, 16])('N = %i on the default pool: max(0, N - 3) callers fail fast with ERR_CATALOG_TIMEOUT, the rest complete', async (n) => {
    const report = await run(n, undefined);
    expect(report.hostAnswer).toBe(42);
    const [define, ...others] = report.phases;
    expect(define).toMatchObject({ phase: 'define', completed: n, failed: 0, usableAfter: true });
    const failing = Math.max(0, n - DEFAULT_POOL + 1);
    expect(others.map((phase) => phase.phase)).toEqual(['replace', 'drop']);
    for (const phase of others) {
      expect(phase, phase.phase).toMatchObject({ completed: n - failing, failed: failing, usableAfter: true });
      if (failing === 0) continue;
      expect(phase.codes).toEqual(['ERR_CATALOG_TIMEOUT']);
      expect(phase.firstError).toMatch(/ERR_CATALOG_TIMEOUT: libuv threadpool exhausted: .*UV_THREADPOOL_SIZE 4/);
      // The pool guard ended them, not the writer's deadline (which would also have
      // poisoned the catalog: usableAfter above).
      expect(phase.maxMs).toBeLessThan(TIMEOUT_MS);
    }
  });
});

describe.skipIf(process.platform === 'win32')('PoolGuard', () => {
  it('sees a saturated pool within poolWaitMs, fails later callers at once, and recovers', async () => {
    const result = await runFixture('sql-pool-guard.mjs', [join(tempDir(), 'fifo')], 20_000);
    expect(result.stderr).toBe('');
    const out = JSON.parse(result.stdout) as Record<string, { ok: boolean; ms: number; code?: string; message?: string }>;
    // Outcomes and their order, not wall-clock bounds (the fixture's poolWaitMs is 200).
    expect(out.healthy).toMatchObject({ ok: true });
    expect(out.starved).toMatchObject({ ok: false, code: 'ERR_CATALOG_TIMEOUT' });
    expect(out.starved!.message).toMatch(/libuv threadpool exhausted/);
    // It waited out poolWaitMs before giving up (a lower bound the guard's deadline ensures).
    expect(out.starved!.ms).toBeGreaterThanOrEqual(200);
    // The next caller is failed on the stalled probe's grace, not after another poolWaitMs.
    expect(out.starvedAgain).toMatchObject({ ok: false, code: 'ERR_CATALOG_TIMEOUT' });
    expect(out.starvedAgain!.ms).toBeLessThan(out.starved!.ms);
    expect(out.recovered).toMatchObject({ ok: true });
  });
});

describe('configuredPoolSize', () => {
  it('reads UV_THREADPOOL_SIZE the way libuv does', async () => {
    const { configuredPoolSize } = await import('../src/main/sql/pool-guard.js');
    expect(configuredPoolSize({})).toBe(4);
    expect(configuredPoolSize({ UV_THREADPOOL_SIZE: '17' })).toBe(17);
    expect(configuredPoolSize({ UV_THREADPOOL_SIZE: '0' })).toBe(1);
    expect(configuredPoolSize({ UV_THREADPOOL_SIZE: 'lots' })).toBe(1);
    expect(configuredPoolSize({ UV_THREADPOOL_SIZE: '5000' })).toBe(1024);
  });
});
