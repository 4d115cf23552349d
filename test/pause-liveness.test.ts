import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { collect, spawnFixture, waitForLine } from './helpers/child.js';
import { reopenTwice } from './helpers/reopen.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

// Default options of the child's catalog (src/shared/options.ts).
const HANG_TIMEOUT_MS = 2_000;

/**
 * How long the whole process is stopped, each twice (whether a pause is misjudged depends on
 * which thread runs first after SIGCONT). 2.5 s is over hangTimeoutMs; 5.5 s is over it and
 * under timeoutMs; 11 s is over timeoutMs too: the time the process stood still is not time
 * the writer could have answered in, so it counts against neither limit (a call's deadline
 * is on the writer's responsiveness, not on the wall clock of a paused machine).
 */
const PAUSES_MS = [2_500, 5_500, 2_500, 5_500, 11_000];

interface Outcome {
  readonly acked: number;
  readonly error?: { code: string; message: string };
}
interface Mark {
  readonly main: Outcome;
  readonly thread: Outcome;
}

describe('a paused owner process', () => {
  it('declares no hang across SIGSTOPs of 2.5, 5.5 and 11 s, loses no acknowledged write and closes fast', async () => {
    const path = tempCatalogPath();
    const child = spawnFixture('pause-writer.mjs', [path], 'pipe');
    const done = collect(child, 120_000);
    await waitForLine(child, /"ready"/);
    const marks: Mark[] = [];
    const lines: string[] = [];
    child.stdout?.on('data', (chunk: string) => lines.push(...chunk.split('\n').filter((line) => line.length > 0)));
    const mark = async (): Promise<Mark> => {
      const before = lines.length;
      child.stdin!.write('mark\n');
      for (let i = 0; i < 400 && !lines.slice(before).some((line) => line.includes('"mark"')); i++) await sleep(50);
      const line = lines.slice(before).find((each) => each.includes('"mark"'));
      expect(line, 'the child answers mark').toBeDefined();
      return (JSON.parse(line!) as { mark: Mark }).mark;
    };
    await sleep(1_000);
    marks.push(await mark());
    for (const pauseMs of PAUSES_MS) {
      process.kill(child.pid!, 'SIGSTOP');
      await sleep(pauseMs);
      process.kill(child.pid!, 'SIGCONT');
      await sleep(1_500);
      const seen = await mark();
      // No ERR_CATALOG_TIMEOUT, nor any other failure, in either thread.
      expect({ pauseMs, main: seen.main.error, thread: seen.thread.error }).toEqual({ pauseMs, main: undefined, thread: undefined });
      marks.push(seen);
    }
    child.stdin!.write('close\n');
    const result = await done;
    expect({ code: result.code, signal: result.signal, stderr: result.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { main: Outcome; thread: Outcome; closeMs: number };
    expect(report.main.error).toBeUndefined();
    expect(report.thread.error).toBeUndefined();
    // Writes went on after every pause, on both threads.
    for (let i = 1; i < marks.length; i++) {
      expect(marks[i]!.main.acked, `main thread wrote after pause ${i}`).toBeGreaterThan(marks[i - 1]!.main.acked);
      expect(marks[i]!.thread.acked, `client thread wrote after pause ${i}`).toBeGreaterThan(marks[i - 1]!.thread.acked);
    }
    // A healthy catalog closes without waiting out any liveness limit.
    expect(report.closeMs).toBeLessThan(HANG_TIMEOUT_MS);
    const expected = new Map<string, unknown>();
    const names = [...Array.from({ length: report.main.acked }, (_, i) => `m${i}`), ...Array.from({ length: report.thread.acked }, (_, i) => `t${i}`)];
    const first = await reopenNames(path);
    for (const name of names) expected.set(name, first.get(name));
    // Every acknowledged name is there, and nothing else (no write was in flight at close).
    expect(names.filter((name) => !first.has(name))).toEqual([]);
    expect(first.size).toBe(names.length);
    await reopenTwice(path, expected);
  }, 120_000);
});

async function reopenNames(path: string): Promise<Map<string, unknown>> {
  const { Catalog } = await import('duckcat');
  const cat = await Catalog.open(path);
  try {
    return new Map(cat.entries());
  } finally {
    await cat.close();
  }
}
