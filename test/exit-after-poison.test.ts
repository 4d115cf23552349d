import { Catalog } from 'duckcat';
import { describe, expect, it } from 'vitest';
import { runFixture, type ChildResult } from './helpers/child.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

const ACTIONS = ['throw', 'exit', 'hang-sync', 'hang-async'] as const;
const ENDINGS = ['close-then-exit', 'exit-at-once'] as const;
const COMMITS = ['journal', 'duckdb'] as const;
/** Each combination this many times: 32 processes, each ending exactly one way. */
const ROUNDS = 2;
const PARALLEL = 4;

interface Run {
  readonly label: string;
  readonly path: string;
  readonly action: (typeof ACTIONS)[number];
  readonly args: string[];
  result?: ChildResult;
}

const expectedCode = (action: Run['action']): string => (action.startsWith('hang') ? 'ERR_CATALOG_TIMEOUT' : 'ERR_CATALOG_WRITER_EXITED');

async function runAll(runs: Run[]): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let run = runs[next++]; run !== undefined; run = runs[next++]) run.result = await runFixture('exit-after-poison.mjs', run.args, 60_000);
  };
  await Promise.all(Array.from({ length: PARALLEL }, lane));
}

describe('process.exit() after the owner was poisoned', () => {
  it('exits with exactly the code asked for, never by a signal or an abort, with or without close(), and loses no acknowledged write', async () => {
    const runs: Run[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const action of ACTIONS) {
        for (const ending of ENDINGS) {
          const commit = COMMITS[(round + runs.length) % COMMITS.length]!;
          const path = tempCatalogPath();
          runs.push({ label: `${action} ${ending} ${commit} #${round}`, path, action, args: [path, action, ending, commit] });
        }
      }
    }
    await runAll(runs);
    for (const run of runs) {
      const result = run.result!;
      expect({ run: run.label, code: result.code, signal: result.signal }).toEqual({ run: run.label, code: 3, signal: null });
      expect(result.stderr, run.label).not.toMatch(/terminate called|Napi::|Abort|core dumped|FATAL/i);
      const report = JSON.parse(result.stdout.trim().split('\n')[0]!) as { poisoned: string; acked: string[] };
      expect(report.poisoned, run.label).toBe(expectedCode(run.action));
      // The file the poisoned process left opens, with every write it acknowledged.
      const cat = await Catalog.open(run.path);
      const missing = report.acked.filter((name) => !cat.has(name));
      await cat.close();
      expect(missing, run.label).toEqual([]);
    }
  }, 300_000);
});
