import { Catalog, CatalogError } from 'duckcat';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCheckedTable } from './helpers/checked-table.js';
import { runFixture, type ChildResult } from './helpers/child.js';
import { readTable } from './helpers/read-table.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

// Must match test/fixtures/fault-scenario.mjs.
const TIMEOUT_MS = 1500;
const HANG_TIMEOUT_MS = 500;
// Scheduling noise on a loaded two-core machine. Below TIMEOUT_MS - HANG_TIMEOUT_MS, so a
// hang-sync caught by the heartbeat stays told apart from one caught by timeoutMs.
const SLACK_MS = 950;
// A later call fails without waiting for any deadline: well under the shortest one.
const FAIL_FAST_MS = HANG_TIMEOUT_MS / 2;

const ACTIONS = ['throw', 'exit', 'hang-sync', 'hang-async'] as const;
const POINTS = ['before-commit', 'after-commit'] as const;
const CALLERS = ['sync', 'async'] as const;
type Action = (typeof ACTIONS)[number];
type Point = (typeof POINTS)[number];
type Caller = (typeof CALLERS)[number];
type Ending = 'close' | 'forget-close' | 'close-while-pending';

interface Timed {
  readonly ok?: true;
  readonly code?: string;
  readonly message?: string;
  readonly ms: number;
}
interface Report {
  readonly acked: string[];
  readonly failure?: Timed & { index: number; name: string };
  readonly laterSync?: Timed;
  readonly laterAsync?: Timed;
  readonly laterCheckpoint?: Timed;
  readonly entries?: Array<[string, unknown]>;
  readonly close?: Timed;
  readonly write?: { ok?: true; code?: string };
  readonly settledMs?: number;
}
interface Scenario {
  readonly action: Action;
  readonly at: Point;
  readonly caller: Caller;
  readonly ending: Ending;
  path: string;
  child?: ChildResult;
  report?: Report;
  /** Names found when the file is reopened after the child ended. */
  reopened?: string[];
}

const expectedCode = (action: Action): string => (action.startsWith('hang') ? 'ERR_CATALOG_TIMEOUT' : 'ERR_CATALOG_WRITER_EXITED');
const key = (s: Pick<Scenario, 'action' | 'at' | 'caller' | 'ending'>): string => `${s.ending} ${s.action} ${s.at} ${s.caller}`;

const scenarios = new Map<string, Scenario>();
const add = (action: Action, at: Point, caller: Caller, ending: Ending): void => {
  const scenario = { action, at, caller, ending, path: '' };
  scenarios.set(key(scenario), scenario);
};
for (const action of ACTIONS) {
  for (const at of POINTS) for (const caller of CALLERS) add(action, at, caller, 'close');
  add(action, 'before-commit', 'async', 'forget-close');
  add(action, 'before-commit', 'async', 'close-while-pending');
}

async function reopenNames(path: string): Promise<string[]> {
  const cat = await Catalog.open(path);
  try {
    return cat.list();
  } finally {
    await cat.close();
  }
}

function finished(s: Scenario | undefined): Report {
  expect(s?.child, 'scenario ran').toBeDefined();
  const child = s!.child!;
  expect({ code: child.code, signal: child.signal, stderr: child.stderr.slice(-1500) }).toEqual({ code: 0, signal: null, stderr: '' });
  expect(s!.report, `one JSON line on stdout: ${child.stdout}`).toBeDefined();
  return s!.report!;
}

describe('writer faults', () => {
  // Every scenario runs in its own process, two at a time: a scenario passes only if that
  // process ends by itself, so "never hangs" covers the process, not just the call.
  beforeAll(async () => {
    const queue = [...scenarios.values()];
    const lane = async (): Promise<void> => {
      for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
        s.path = tempCatalogPath();
        s.child = await runFixture('fault-scenario.mjs', [s.path, s.action, s.at, s.caller, s.ending], 20_000).catch(
          (error: Error) => ({ code: null, signal: 'SIGKILL', stdout: '', stderr: error.message }) as ChildResult,
        );
        const line = s.child.stdout.trim().split('\n').pop() ?? '';
        s.report = line.startsWith('{') ? (JSON.parse(line) as Report) : undefined;
        s.reopened = await reopenNames(s.path).catch((error: CatalogError) => [`reopen failed: ${error.code} ${error.message}`]);
      }
    };
    await Promise.all([lane(), lane()]);
  }, 180_000);

  for (const action of ACTIONS) {
    for (const at of POINTS) {
      for (const caller of CALLERS) {
        const code = expectedCode(action);
        it(`gives ${caller === 'async' ? 'an' : 'a'} ${caller} caller ${code} in time when the writer does "${action}" ${at}, then fails fast and keeps the map equal to the file`, () => {
          const s = scenarios.get(key({ action, at, caller, ending: 'close' }));
          const report = finished(s);
          const failure = report.failure;
          expect(failure?.code).toBe(code);
          // The fault trips on the third write: after two committed batches (before-commit),
          // or right after the third one's commit (after-commit).
          expect(failure?.index).toBe(2);
          expect(report.acked).toEqual(Array.from({ length: failure!.index }, (_, i) => `w${i}`));
          const deadline = action === 'hang-sync' ? HANG_TIMEOUT_MS : action === 'hang-async' ? TIMEOUT_MS : 0;
          expect(failure!.ms).toBeLessThan(deadline + SLACK_MS);
          for (const later of [report.laterSync, report.laterAsync, report.laterCheckpoint]) {
            expect(later?.code).toBe(code);
            expect(later!.ms).toBeLessThan(FAIL_FAST_MS);
          }
          // The map holds exactly the acknowledged writes.
          expect(report.entries).toEqual(report.acked.map((name, i) => [name, { i }]));
          expect(report.close).toMatchObject({ ok: true });
          expect(report.close!.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
          // The file holds them too; a fault after the commit leaves that write durable
          // although its caller got an error (the outcome is unknown until reopen).
          const durable = at === 'after-commit' ? [...report.acked, failure!.name] : report.acked;
          expect(s!.reopened).toEqual(durable.sort());
        });
      }
    }
  }

  for (const action of ACTIONS) {
    it(`lets a process that forgets close() exit by itself after the writer does "${action}"`, () => {
      const s = scenarios.get(key({ action, at: 'before-commit', caller: 'async', ending: 'forget-close' }));
      const report = finished(s);
      expect(report.failure?.code).toBe(expectedCode(action));
      expect(s!.reopened).toEqual(report.acked);
    });

    it(`settles both a pending write and close() when close() is called while the writer does "${action}"`, () => {
      const s = scenarios.get(key({ action, at: 'before-commit', caller: 'async', ending: 'close-while-pending' }));
      const report = finished(s);
      expect(report.write?.code).toBe(expectedCode(action));
      // "close() settles" (README, Guarantees): it resolves; the failure belongs to the write.
      expect(report.close).toEqual({ ok: true });
      expect(report.settledMs).toBeLessThan(2 * TIMEOUT_MS + SLACK_MS);
      expect(s!.reopened).toEqual([]);
    });
  }
});

describe('storage errors', () => {
  const LONG = 'a-very-long-name';

  it('turns a DuckDB constraint failure into ERR_CATALOG_STORAGE and reports every op of the batch truthfully', async () => {
    const path = tempCatalogPath();
    await createCheckedTable(path);
    // DuckDB's answer reaches the caller only when the caller waits for DuckDB.
    const cat = await Catalog.open(path, { commit: 'duckdb' });
    cat.defineSync('short', 1);

    let single: unknown;
    try {
      cat.defineSync(LONG, 1);
    } catch (error) {
      single = error;
    }
    expect(single).toBeInstanceOf(CatalogError);
    expect(single).toMatchObject({ code: 'ERR_CATALOG_STORAGE', cause: { message: expect.stringMatching(/CHECK constraint/) } });
    expect(cat.entries()).toEqual([['short', 1]]);

    // Issued together, so they queue while the writer is busy and commit in one or a few
    // batches with the bad name among them. A batch DuckDB refuses is rolled back and each
    // op retried in a commit of its own (README, Guarantees: "only the bad one reports
    // STORAGE"), so every good op succeeds however the batches fell.
    const pending = [cat.define('filler', 0), cat.define('short2', 2), cat.define(LONG, 2), cat.replace('short', 2), cat.drop('filler')];
    const outcomes = await Promise.all(pending.map((p) => p.then(() => 'ok', (error: CatalogError) => error.code as string)));
    expect(outcomes).toEqual(['ok', 'ok', 'ERR_CATALOG_STORAGE', 'ok', 'ok']);

    // A storage error does not poison the catalog.
    cat.defineSync('after', 3);
    const map = cat.entries();
    await cat.close();

    // What succeeded is stored and what failed is not.
    const sorted: Array<[string, unknown]> = [['after', 3], ['short', 2], ['short2', 2]];
    expect(map).toEqual(sorted);
    expect((await readTable(path)).rows).toEqual(sorted);
    const reopened = await Catalog.open(path);
    expect(reopened.entries()).toEqual(sorted);
    await reopened.close();
  });

  // With the default commit: 'journal', the journal acknowledges before DuckDB applies: a
  // row DuckDB's own CHECK refuses is found only behind the caller's back. The README
  // (batch-isolation.test.ts too) promises the catalog then stops loudly, never that DuckDB
  // silently falls behind; every acknowledged write stays.
  async function refusedBehindTheJournal(path: string): Promise<{ outcomes: string[]; checkpoint: string; later: string; map: Array<[string, unknown]> }> {
    await createCheckedTable(path);
    const cat = await Catalog.open(path);
    cat.defineSync('short', 1);
    const pending = [cat.define('filler', 0), cat.define('short2', 2), cat.define(LONG, 2), cat.replace('short', 2), cat.drop('filler')];
    const outcomes = await Promise.all(pending.map((p) => p.then(() => 'ok', (error: CatalogError) => error.code as string)));
    const checkpoint = await cat.checkpoint().then(() => 'ok', (error: CatalogError) => error.code as string);
    let later = 'ok';
    try {
      cat.defineSync('after', 3);
    } catch (error) {
      later = (error as CatalogError).code;
    }
    const map = cat.entries();
    await cat.close();
    return { outcomes, checkpoint, later, map };
  }

  it("acknowledges every op from the journal (commit: 'journal'), then stops the catalog and keeps every acknowledged write", async () => {
    const path = tempCatalogPath();
    const run = await refusedBehindTheJournal(path);
    expect(run.outcomes).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(run.checkpoint).toBe('ERR_CATALOG_WRITER_EXITED');
    expect(run.later).toBe('ERR_CATALOG_WRITER_EXITED');
    const acknowledged: Array<[string, unknown]> = [[LONG, 2], ['short', 2], ['short2', 2]];
    expect(run.map).toEqual(acknowledged);
    const reopened = await Catalog.open(path);
    expect(reopened.entries()).toEqual(acknowledged);
    await reopened.close();
  });

  // A limit, stated in the README: a row the journal acknowledged and DuckDB then refuses
  // (possible only when DuckDB's table was changed behind duckcat, as this test's CHECK
  // constraint does) is never dropped: every open rolls it forward again, reports it, keeps
  // it readable, and stops the writer at the refusal, until the table is repaired.
  it('keeps reporting a row DuckDB refuses at every open, never drops it', async () => {
    const path = tempCatalogPath();
    await refusedBehindTheJournal(path);
    for (let open = 0; open < 2; open++) {
      const again = await Catalog.open(path);
      try {
        expect(again.recovery?.kind, `open ${open}`).toBe('rolled-forward');
        expect(again.get(LONG)).toBe(2);
        // The store thread stops at the refusal first; the journal thread learns it on its next
        // turn, so a write in between is still journaled and acknowledged (and kept).
        let attempt = 0;
        const writeOutcome = () => {
          try {
            again.defineSync(`more-${open}-${attempt++}`, 1);
            return 'ok';
          } catch (error) {
            return (error as CatalogError).code;
          }
        };
        await expect.poll(writeOutcome, { timeout: 10_000 }).toBe('ERR_CATALOG_WRITER_EXITED');
        expect(again.connected).toBe(false);
      } finally {
        await again.close();
      }
    }
  });
});
