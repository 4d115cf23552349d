import { Catalog } from 'duckcat';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { spawnFixture, waitForLine } from './helpers/child.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

// A long-lived process that opens and closes catalogs (or connects and disconnects) must
// end each cycle where it started: no descriptor and no thread may outlive its catalog.

interface Counts {
  readonly fds: number;
  readonly threads: number;
}

function counts(): Counts {
  return { fds: readdirSync('/proc/self/fd').length, threads: readdirSync('/proc/self/task').length };
}

/** Allowance for what comes and goes on its own (vitest's own pipes, libuv's pool warming up). */
const SLACK = { fds: 4, threads: 2 };

/** Counts once ended threads are reaped: a terminated worker's thread may take a moment to go. */
async function settledCounts(before: Counts): Promise<Counts> {
  let now = counts();
  for (let i = 0; i < 50 && (now.fds > before.fds + SLACK.fds || now.threads > before.threads + SLACK.threads); i++) {
    await sleep(100);
    now = counts();
  }
  return now;
}

// 60 cycles in `npm test` (a leak of one descriptor or thread per cycle shows at once);
// DUCKCAT_CYCLES raises it, and the soak's --fd-cycles phase runs 200.
const CYCLES = Number(process.env.DUCKCAT_CYCLES ?? 60);

describe.skipIf(process.platform !== 'linux')('descriptors and threads across cycles', () => {
  it(`are the same after ${CYCLES} open/write/close cycles of a file catalog in one process`, { timeout: 600_000 }, async () => {
    const path = tempCatalogPath();
    // One warm-up cycle: DuckDB's library, libuv's thread pool and the like load once.
    const first = await Catalog.open(path);
    first.defineSync('n', 0);
    await first.close();
    const before = counts();
    for (let i = 1; i <= CYCLES; i++) {
      const cat = await Catalog.open(path);
      cat.replaceSync('n', i);
      await cat.close();
    }
    const after = await settledCounts(before);
    expect(after.fds).toBeLessThanOrEqual(before.fds + SLACK.fds);
    expect(after.threads).toBeLessThanOrEqual(before.threads + SLACK.threads);
    const check = await Catalog.open(path, { readOnly: true });
    expect(check.get('n')).toBe(CYCLES);
    await check.close();
  });

  it('are the same after 50 connect/write/close cycles against an owner process, on a path too long for a socket', { timeout: 300_000 }, async () => {
    // Long enough that every connect goes through a /proc/self/fd alias, which must be closed.
    const path = tempCatalogPath(`${'x'.repeat(100)}.duckdb`);
    const owner = spawnFixture('own-catalog.mjs', [path]);
    try {
      await waitForLine(owner, /^owning/);
      const warm = await Catalog.connect(path);
      warm.replaceSync('m', 0);
      await warm.close();
      const before = counts();
      for (let i = 1; i <= 50; i++) {
        const remote = await Catalog.connect(path);
        remote.replaceSync('m', i);
        await remote.close();
      }
      const after = await settledCounts(before);
      expect(after.fds).toBeLessThanOrEqual(before.fds + SLACK.fds);
      expect(after.threads).toBeLessThanOrEqual(before.threads + SLACK.threads);
    } finally {
      owner.kill('SIGKILL');
    }
  });
});
