import { execFileSync, spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collect, fixture } from './helpers/child.js';
import { tempDir } from './helpers/temp-catalog.js';

// Issue 15, item 15: a catalog file made read-only was taken for damage, renamed aside and
// rebuilt from the journal. A permission problem is reported as one: ERR_CATALOG_STORAGE
// naming the file and the permission, with nothing renamed, created or deleted.
//
// Root ignores file modes, so as root (CI) the opening code runs in a child process as
// user `nobody`; as anyone else it runs as that user.

interface Attempt {
  readonly ok: boolean;
  readonly entries?: number;
  readonly code?: string;
  readonly message?: string;
}

interface Outcome {
  readonly uid: number;
  readonly before: Record<string, string>;
  readonly readWrite: Attempt;
  readonly afterReadWrite: Record<string, string>;
  readonly readOnly: Attempt;
  readonly afterReadOnly: Record<string, string>;
}

function unprivileged(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

async function runScenario(scenario: string): Promise<Outcome> {
  const dir = tempDir();
  const user = unprivileged();
  // The unprivileged child makes its catalog in a directory of its own under this one.
  if (user !== undefined) chmodSync(dir, 0o777);
  const child = spawn(process.execPath, [fixture('permission-open.mjs'), dir, scenario], { stdio: ['ignore', 'pipe', 'pipe'], ...(user ?? {}) });
  const result = await collect(child, 60_000);
  expect(result.code, result.stderr).toBe(0);
  const outcome = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Outcome;
  expect(outcome.uid).not.toBe(0);
  return outcome;
}

function expectTypedRefusal(attempt: Attempt, file: RegExp): void {
  expect(attempt.ok).toBe(false);
  expect(attempt.code).toBe('ERR_CATALOG_STORAGE');
  expect(attempt.message).toMatch(file);
  expect(attempt.message).toMatch(/permission denied|EACCES|EPERM/i);
}

describe('permission errors are not damage', () => {
  it('a catalog file made read-only (0444): the read-write open is refused, typed, naming the file; nothing renamed; a read-only open works', async () => {
    const outcome = await runScenario('catalog-file');
    expectTypedRefusal(outcome.readWrite, /catalog\.duckdb\b/);
    expect(outcome.afterReadWrite).toEqual(outcome.before);
    expect(outcome.readOnly).toEqual({ ok: true, entries: 20 });
    expect(outcome.afterReadOnly).toEqual(outcome.before);
  });

  it('a journal file made read-only (0444): the read-write open is refused, typed, naming the journal; nothing changed; a read-only open works', async () => {
    const outcome = await runScenario('journal-file');
    expectTypedRefusal(outcome.readWrite, /catalog\.duckdb\.journal\b/);
    expect(outcome.afterReadWrite).toEqual(outcome.before);
    expect(outcome.readOnly).toEqual({ ok: true, entries: 20 });
    expect(outcome.afterReadOnly).toEqual(outcome.before);
  });

  it('a directory the process may not write in: the read-write open is refused, typed, naming the directory; nothing created', async () => {
    const outcome = await runScenario('directory');
    expect(outcome.readWrite.ok).toBe(false);
    expect(outcome.readWrite.code).toBe('ERR_CATALOG_STORAGE');
    expect(outcome.readWrite.message).toMatch(/permission denied|EACCES/i);
    expect(outcome.readWrite.message).toMatch(/catalog\b/);
    expect(outcome.afterReadWrite).toEqual(outcome.before);
    // Reading needs no new file: a read-only open still works.
    expect(outcome.readOnly).toEqual({ ok: true, entries: 20 });
    expect(outcome.afterReadOnly).toEqual(outcome.before);
  });
});
