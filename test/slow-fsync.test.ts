import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collect, fixture } from './helpers/child.js';
import { reopenTwice } from './helpers/reopen.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

// Longer than the default hangTimeoutMs (2 s) of the child's catalog, shorter than its timeoutMs (10 s).
const DELAY_US = 3_000_000;
const WRITES = 400;
const PAD = 'x'.repeat(1_000);
// Small enough that 400 writes of ~1 KB seal the journal and write snapshots.
const COMPACT_AFTER_BYTES = 64 * 1024;

/** strace can trace (and delay) a child here: installed, and ptrace allowed. */
const straceWorks = spawnSync('strace', ['-f', '-qq', '-e', 'trace=none', 'true']).status === 0;

interface Report {
  readonly acked: number;
  readonly error?: { code: string; message: string };
  /** Calls strace delayed (its log marks them DELAYED). */
  delayed: number;
}

/**
 * Runs test/fixtures/slow-fsync-writer.mjs under strace, which delays the `when`-th
 * `syscall` (per thread) on `file` by 3 s before it runs: a slow disk, not a hung writer.
 */
async function writeThroughSlowSync(path: string, syscall: 'fsync' | 'fdatasync', file: string, when: string, compact: boolean): Promise<Report> {
  const log = `${path}.strace`;
  const args = ['-f', '-qq', '-o', log, '-e', `trace=${syscall}`, '-e', `inject=${syscall}:delay_enter=${DELAY_US}:when=${when}`, '-P', file];
  const writer = [process.execPath, fixture('slow-fsync-writer.mjs'), path, String(WRITES), ...(compact ? [String(COMPACT_AFTER_BYTES)] : [])];
  const result = await collect(spawn('strace', [...args, ...writer], { stdio: ['ignore', 'pipe', 'pipe'] }), 120_000);
  expect({ code: result.code, signal: result.signal, stderr: result.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Report;
  report.delayed = readFileSync(log, 'utf8').split('\n').filter((line) => line.includes('(DELAYED)')).length;
  return report;
}

async function expectAllWritten(path: string, report: Report): Promise<void> {
  // No ERR_CATALOG_TIMEOUT: the writer was slow, never dead.
  expect(report.error).toBeUndefined();
  expect(report.acked).toBe(WRITES);
  // The delay really happened.
  expect(report.delayed).toBeGreaterThan(0);
  const expected = new Map<string, unknown>(Array.from({ length: WRITES }, (_, i) => [`w${i}`, { i, pad: PAD }]));
  await reopenTwice(path, expected);
}

describe.skipIf(!straceWorks)('a slow fsync longer than hangTimeoutMs', () => {
  it('does not time out a write whose journal fdatasync takes 3 s', async () => {
    const path = tempCatalogPath();
    // The 5th fdatasync of the journal: a batch's, after open.
    await expectAllWritten(path, await writeThroughSlowSync(path, 'fdatasync', `${path}.journal`, '5', false));
  }, 120_000);

  it('does not time out writes while the snapshot written at compaction takes 3 s to fsync', async () => {
    const path = tempCatalogPath();
    const report = await writeThroughSlowSync(path, 'fsync', `${path}.snapshot.tmp`, '1', true);
    expect(existsSync(`${path}.snapshot`), 'a snapshot was written').toBe(true);
    await expectAllWritten(path, report);
  }, 120_000);

  it('does not time out writes while every directory fsync (journal seal, segment removal, snapshot rename) takes 3 s', async () => {
    const path = tempCatalogPath();
    // From the 2nd on, per thread: the journal thread's seals and segment removals, the store thread's snapshot renames.
    await expectAllWritten(path, await writeThroughSlowSync(path, 'fsync', dirname(path), '2+', true));
  }, 120_000);
});
