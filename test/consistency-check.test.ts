import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs module of the soak runner, without types
import { NAMES, buildHistory, check } from './soak/jepsen-check.mjs';
import { collect } from './helpers/child.js';

const JEPSEN = fileURLToPath(new URL('./soak/jepsen.mjs', import.meta.url));

interface Summary {
  readonly kills: number;
  readonly pauses: number;
  readonly acked: number;
  readonly reads: number;
  readonly lost: number;
  readonly readYourWrites: number;
  readonly monotonicReads: number;
  readonly readOfUnwrittenValue: number;
  readonly readFromFuture: number;
  readonly nonLinearizable: number;
  readonly linearizableNames: string;
  readonly divergentMaps: number;
  readonly pastDeadline: number;
  readonly falseTimeouts: number;
  readonly ownerTimeouts: number;
  readonly aborts: number;
}

// One write and reads of one name, on one monotonic clock (ms).
const write = (h: string, i: number, f: string, v: string, t0: number, t1: number | undefined) => [
  { h, i, f, k: 'k00', v, t0 },
  ...(t1 === undefined ? [] : [{ h, i, t1, ok: true }]),
];
const read = (h: string, i: number, r: string | null, t0: number, t1: number, f = 'get') => ({ h, i, f, k: 'k00', r, t0, t1 });
const run = (lines: object[], final: Record<string, string> = {}) =>
  check(buildHistory(lines, NAMES), { names: NAMES, final: new Map(Object.entries(final)), timeoutMs: 10_000, unavailable: [] });

describe('the Jepsen-style checker', () => {
  it('passes a linearizable history and flags a stale read, a lost write and a read of an unwritten value', () => {
    const good = [...write('o0m', 0, 'define', 'a', 0, 2), read('o0t1', 0, 'a', 3, 3), ...write('o0t1', 1, 'replace', 'b', 4, 6), read('o0m', 1, 'b', 7, 7)];
    expect(run(good, { k00: 'b' }).violations).toEqual([]);
    // A read in the owner's process returns `a` after `b` surely replaced it.
    const stale = [...good, read('o0t1', 2, 'a', 8, 8)];
    expect(run(stale, { k00: 'b' }).nonLinearizable).toBeGreaterThan(0);
    // The reopened file lost the acknowledged replace.
    expect(run(good, { k00: 'a' }).lost).toBe(1);
    // The same stale read by a remote handle without sync() is measured, not a violation.
    const remote = run([...good, read('r0c0', 0, 'a', 9, 9)], { k00: 'b' });
    expect({ violations: remote.violations, stale: remote.stale.count }).toEqual({ violations: [], stale: 1 });
    expect(run([...good, read('o0m', 2, 'zzz', 9, 9)], { k00: 'b' }).readOfUnwrittenValue).toBe(1);
    // A write whose process died may or may not have landed: both finals are fine.
    const unknown = [...good, ...write('o0t1', 3, 'replace', 'c', 10, undefined)];
    expect(run(unknown, { k00: 'b' }).violations).toEqual([]);
    expect(run(unknown, { k00: 'c' }).violations).toEqual([]);
  });

  it('finds no violation in 12 s of an owner, two client threads and two remote processes under kills and pauses', async () => {
    const child = spawn(process.execPath, [JEPSEN, '--seconds', '12', '--seed', '7', '--remotes', '2', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const result = await collect(child, 150_000);
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as Summary;
    expect({ code: result.code, stderr: result.stderr.slice(0, 3000) }).toEqual({ code: 0, stderr: '' });
    expect(summary.acked).toBeGreaterThan(0);
    expect(summary.reads).toBeGreaterThan(0);
    expect(summary.kills + summary.pauses).toBeGreaterThan(0);
    expect(summary.linearizableNames).toBe(`${NAMES.length}/${NAMES.length}`);
    expect({
      lost: summary.lost,
      readYourWrites: summary.readYourWrites,
      monotonicReads: summary.monotonicReads,
      readOfUnwrittenValue: summary.readOfUnwrittenValue,
      readFromFuture: summary.readFromFuture,
      nonLinearizable: summary.nonLinearizable,
      divergentMaps: summary.divergentMaps,
      pastDeadline: summary.pastDeadline,
      falseTimeouts: summary.falseTimeouts,
      ownerTimeouts: summary.ownerTimeouts,
      aborts: summary.aborts,
    }).toEqual({
      lost: 0,
      readYourWrites: 0,
      monotonicReads: 0,
      readOfUnwrittenValue: 0,
      readFromFuture: 0,
      nonLinearizable: 0,
      divergentMaps: 0,
      pastDeadline: 0,
      falseTimeouts: 0,
      ownerTimeouts: 0,
      aborts: 0,
    });
  }, 180_000);
});
