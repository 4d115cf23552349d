import { Catalog } from 'duckcat';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryMap, runAckWriter, sorted } from './helpers/ack-writer.js';
import { readDuckdbFile } from './helpers/duckdb-file.js';
import { journalFiles, siblings } from './helpers/journal-bytes.js';
import { HELD_BEHIND_WRITER, expectCleanRun, reopenTwice, verifyAfterKill } from './helpers/reopen.js';
import { seededRandom } from './helpers/seeded-random.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

// How a catalog left behind by a killed journal-first writer opens in the other modes:
// after DuckDB caught up on its own, read-only, with the journal turned off, and after a
// kill in the middle of close() draining the lag.

describe('reopening a killed journal-first catalog', () => {
  it('DuckDB catches up on its own once writes stop: a kill after that needs no roll-forward', async () => {
    const path = tempCatalogPath();
    // Default lag bounds and apply window; the writer idles a while after its last write.
    const run = await runAckWriter({ path, seed: 14, names: 60, limit: 300 }, { afterDoneMs: 1_500 });
    expectCleanRun(run);
    expect(run.model.pending).toBe(0);
    const expected = run.model.expected();
    expect(await reopenTwice(path, expected)).toBeUndefined();
  });

  it('a read-only open after a kill -9 with lag shows every acknowledged write and changes no file', async () => {
    const path = tempCatalogPath();
    const run = await runAckWriter(
      { path, seed: 15, names: 60, limit: 300, ...HELD_BEHIND_WRITER },
      { atDone: true },
    );
    expectCleanRun(run);
    const expected = run.model.expected();
    const names = siblings(path).filter((name) => !name.endsWith('.owner') && !name.endsWith('.sock'));
    const before = names.map((name) => readFileSync(join(dirname(path), name)));

    for (let round = 0; round < 2; round++) {
      const readOnly = await Catalog.open(path, { readOnly: true });
      expect(sorted(entryMap(readOnly.entries()))).toEqual(sorted(expected));
      await readOnly.close();
      names.forEach((name, i) => expect(readFileSync(join(dirname(path), name)).equals(before[i]!), name).toBe(true));
    }
    const recovery = await reopenTwice(path, expected);
    expect(recovery?.kind).toBe('rolled-forward');
  });

  it('opening with journal: false after a kill -9 with lag keeps every acknowledged write, then drops the journal', async () => {
    const path = tempCatalogPath();
    const run = await runAckWriter(
      { path, seed: 16, names: 60, limit: 300, ...HELD_BEHIND_WRITER },
      { atDone: true },
    );
    expectCleanRun(run);
    const expected = run.model.expected();
    const cat = await Catalog.open(path, { journal: false });
    expect(sorted(entryMap(cat.entries()))).toEqual(sorted(expected));
    cat.defineSync('unjournaled', { after: true });
    expected.set('unjournaled', { after: true });
    await cat.close();
    // (The prepared next log is left behind too; a test of its own below.)
    expect(journalFiles(path).filter((name) => !name.endsWith('.journal.next'))).toEqual([]);
    expect(sorted((await readDuckdbFile(path)).rows)).toEqual(sorted(expected));
    await reopenTwice(path, expected, { journal: false });
    await reopenTwice(path, expected);
  });

  it('opening with journal: false after a kill -9 leaves no journal file behind, not even the prepared next log', async () => {
    const path = tempCatalogPath();
    const run = await runAckWriter({ path, seed: 17, names: 20, limit: 50 }, { atDone: true });
    expectCleanRun(run);
    expect(journalFiles(path)).toContain('catalog.duckdb.journal.next');
    const cat = await Catalog.open(path, { journal: false });
    expect(sorted(entryMap(cat.entries()))).toEqual(sorted(run.model.expected()));
    await cat.close();
    // A killed writer leaves its zero-filled next log (compactAfterBytes + 1 MiB); with the
    // journal off nothing will ever use or remove it.
    expect(journalFiles(path)).toEqual([]);
  });

  it('a kill -9 during close(), while it drains the lag into DuckDB, loses nothing', { timeout: 60_000 }, async () => {
    const random = seededRandom(18);
    const kinds: string[] = [];
    for (let trial = 0; trial < 4; trial++) {
      const path = tempCatalogPath();
      const run = await runAckWriter(
        { path, seed: 1800 + trial, names: 2000, padMax: 300, asyncShare: 0.8, limit: 2000, after: 'close', ...HELD_BEHIND_WRITER },
        { afterDoneMs: Math.floor(random() * 60) },
      );
      expectCleanRun(run);
      expect(run.model.pending).toBe(0);
      const { recovery } = await verifyAfterKill(path, run.model);
      kinds.push(`${run.closed ? 'close finished' : 'killed in close'}: ${recovery?.kind ?? 'no recovery'}`);
    }
    console.log(kinds.join('; '));
    // Otherwise every close finished before its kill, and the trials proved nothing.
    expect(kinds.filter((kind) => kind.startsWith('killed in close')).length).toBeGreaterThan(0);
  });
});
