import { Catalog, CatalogCorruptError, CatalogError, type CatalogOptions } from 'duckcat';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryMap, runAckWriter, sorted, type AckRun } from './helpers/ack-writer.js';
import { spawnFixture } from './helpers/child.js';
import { readDuckdbFile } from './helpers/duckdb-file.js';
import { copyDirectory, deleteDuckdbFile, fileBytes, flipBit, journalFiles, readFrames, readRecords, readSnapshotFile, sealedSegments, siblings, snapshotFramesStart } from './helpers/journal-bytes.js';
import { COMPACT_AFTER, HELD_BEHIND_WRITER } from './helpers/reopen.js';
import { seededRandom } from './helpers/seeded-random.js';
import { tempDir } from './helpers/temp-catalog.js';

// Invariants from the security review of recovery. Each names a way the journal and the
// DuckDB file can disagree after a crash or damage, and holds open to: never fewer
// acknowledged writes, never an older value, never a silent rollback, and never a change
// to the evidence when open refuses.

type Model = Map<string, unknown>;

/** Opens `path`; the entries, or the error's code (a typed CatalogError) — anything else fails the test. */
async function openOutcome(path: string): Promise<{ entries: Model; recovery: Catalog['recovery'] } | { code: string }> {
  let cat: Catalog;
  try {
    cat = await Catalog.open(path);
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(CatalogError);
    return { code: (error as CatalogError).code };
  }
  const entries = entryMap(cat.entries());
  const recovery = cat.recovery;
  await cat.close();
  return { entries, recovery };
}

/** Resolves with the first JSON line of a child, or undefined if it ended without one. */
function firstLine(child: ReturnType<typeof spawnFixture>): Promise<unknown> {
  return new Promise((resolve) => {
    let buffer = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf('\n');
      if (end >= 0) resolve(JSON.parse(buffer.slice(0, end)));
    });
    child.on('close', () => resolve(undefined));
  });
}

/** A catalog with `keep` {v:2}, `dropme` dropped and 200 fill definitions, closed cleanly; every batch in the active log. */
async function catalogForBitFlip(): Promise<{ path: string; model: Model }> {
  const path = join(tempDir(), 'catalog.duckdb');
  const cat = await Catalog.open(path);
  const model: Model = new Map();
  cat.defineSync('keep', { v: 1 });
  cat.defineSync('dropme', { doomed: true });
  for (let i = 0; i < 200; i++) {
    const value = { i, base: 'orders', label: `fill number ${i}` };
    cat.defineSync(`fill${i}`, value);
    model.set(`fill${i}`, value);
  }
  cat.replaceSync('keep', { v: 2 });
  cat.dropSync('dropme');
  model.set('keep', { v: 2 });
  await cat.close();
  expect(sealedSegments(path)).toEqual([]);
  return { path, model };
}

/** Flips one bit inside the JSON of the record in the middle of `<file>.journal`; returns the damaged file's bytes. */
function flipMiddleRecord(path: string): Buffer {
  const { records } = readRecords(`${path}.journal`);
  expect(records.length).toBeGreaterThan(200);
  return flipRecord(`${path}.journal`, Math.floor(records.length / 2));
}

/** Flips one bit in the middle of frame `index`'s payload (frames from `start`); returns the file's bytes afterwards. */
function flipRecord(file: string, index: number, start = 0): Buffer {
  const { frames } = readFrames(file, start);
  const frame = frames[index]!;
  expect(index).toBeLessThan(frames.length - 1);
  flipBit(file, frame.payloadStart + Math.floor(frame.payload.length / 2), 2);
  // Only that frame is unreadable now: the intact run stops there, and frames follow it.
  expect(readFrames(file, start).frames.length).toBe(index);
  return readFileSync(file);
}

/** Bytes of records in the active log, or undefined while a seal has renamed it away (it runs after the write's reply). */
function logRecordBytes(path: string): number | undefined {
  try {
    return readRecords(`${path}.journal`).validEnd;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Index of the record of batch `seq` in `file`. */
function recordOfBatch(file: string, seq: number): number {
  const index = readRecords(file).records.findIndex((record) => record.json.t === 'batch' && record.json.seq === seq);
  expect(index, `batch ${seq} in ${file}`).toBeGreaterThanOrEqual(0);
  return index;
}

/**
 * A killed writer whose DuckDB holds batches 1..checkpointedSeq (a checkpoint drained the
 * lag) and whose later batches live only in the journal (DuckDB held a minute behind).
 */
async function killedWithLagAfterCheckpoint(): Promise<{ path: string; run: AckRun; lastSeq: number }> {
  const path = join(tempDir(), 'catalog.duckdb');
  const run = await runAckWriter(
    { path, seed: 41, names: 60, limit: 200, checkpointAfter: 100, ...HELD_BEHIND_WRITER },
    { atDone: true },
  );
  expect(run.error, run.stderr).toBeUndefined();
  expect(run.done).toBe(true);
  expect(run.checkpointedSeq).toBeGreaterThan(10);
  const { records } = readRecords(`${path}.journal`);
  const lastSeq = records.at(-1)!.json.seq;
  expect(lastSeq - run.checkpointedSeq!).toBeGreaterThan(10);
  return { path, run, lastSeq };
}

async function expectCorruptTwice(path: string): Promise<void> {
  const names = journalFiles(path);
  const before = fileBytes(path, names);
  for (let attempt = 0; attempt < 2; attempt++) {
    const error: unknown = await Catalog.open(path).then(
      async (cat) => {
        await cat.close();
        return undefined;
      },
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(CatalogCorruptError);
    expect(error).toMatchObject({ code: 'ERR_CATALOG_CORRUPT' });
    expect(journalFiles(path)).toEqual(names);
    const after = fileBytes(path, names);
    for (const name of names) expect(after.get(name)!.equals(before.get(name)!), name).toBe(true);
    expect(siblings(path).filter((name) => name.includes('.damaged-'))).toEqual([]);
  }
}

describe('recovery invariants', () => {
  it('a kill during the rebuild of a lost DuckDB file never loses the catalog', { timeout: 120_000 }, async () => {
    const random = seededRandom(9);
    const summary: string[] = [];
    let killedMidRebuild = 0;
    // Two journal layouts: one active log holding every batch, and a snapshot + sealed segment + log.
    for (const layout of [{ name: 'log only', options: {} }, { name: 'snapshot + segments', options: { [COMPACT_AFTER]: 256 * 1024 } }]) {
      const template = tempDir();
      const path = join(template, 'catalog.duckdb');
      const model: Model = new Map();
      const cat = await Catalog.open(path, layout.options as CatalogOptions);
      const pending: Array<Promise<void>> = [];
      for (let i = 0; i < 3000; i++) {
        const value = { i, base: 'orders', dimensions: [{ name: `d${i % 17}`, expr: `col_${i % 23}` }], pad: 'p'.repeat(600) };
        model.set(`def${i}`, value);
        pending.push(cat.define(`def${i}`, value));
        if (pending.length >= 40) await Promise.all(pending.splice(0));
      }
      await Promise.all(pending);
      await cat.close();
      deleteDuckdbFile(path);
      if (layout.name !== 'log only') expect(readSnapshotFile(path)!.seq).toBeGreaterThan(0);

      for (let trial = 0; trial < 4; trial++) {
        const dir = join(tempDir(), 'copy');
        copyDirectory(template, dir);
        const copy = join(dir, 'catalog.duckdb');
        const child = spawnFixture('open-and-hold.mjs', [copy]);
        const exited = new Promise((resolve) => child.on('close', resolve));
        const started = performance.now();
        let opened = false;
        void firstLine(child).then((value) => (opened = value !== undefined && 'opened' in (value as object)));
        // Even trials: a random moment 50–1200 ms in. Odd trials: a random moment within
        // 200 ms of the new DuckDB file appearing, i.e. while the rebuild writes it.
        let delay = 50 + Math.floor(random() ** 2 * 1150);
        if (trial % 2 === 1) {
          while (!existsSync(copy) && child.exitCode === null && performance.now() - started < 20_000);
          delay = performance.now() - started + Math.floor(random() * 200);
        }
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + delay - performance.now())));
        const fileExisted = existsSync(copy);
        child.kill('SIGKILL');
        await exited;
        if (!opened && fileExisted) killedMidRebuild++;

        const first = await openOutcome(copy);
        const second = await openOutcome(copy);
        summary.push(`${layout.name}: kill at ${Math.round(delay)} ms, ${opened ? 'after open' : fileExisted ? 'mid-rebuild' : 'before the DuckDB file existed'}: ${'code' in first ? first.code : `${first.entries.size} entries, ${first.recovery?.kind ?? 'no recovery'}`}`);
        if ('code' in first) {
          // Refused: a typed error, the same again, and never a partial catalog.
          expect(second).toEqual(first);
          continue;
        }
        expect(first.entries.size).toBe(3000);
        expect(sorted(first.entries)).toEqual(sorted(model));
        if ('code' in second) throw new Error(`the second open failed with ${second.code} after the first succeeded`);
        expect(sorted(second.entries)).toEqual(sorted(model));
        expect(second.recovery).toBeUndefined();
        expect(sorted((await readDuckdbFile(copy)).rows)).toEqual(sorted(model));
      }
    }
    console.log(summary.join('\n'));
    // Otherwise no kill landed while the rebuild was writing the DuckDB file.
    expect(killedMidRebuild).toBeGreaterThan(0);
  });

  it('a rebuild never writes stale values from an older snapshot or an older DuckDB file', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const path = join(dir, 'catalog.duckdb');
    const options = { [COMPACT_AFTER]: 4096 } as CatalogOptions;
    // An old copy of the DuckDB file, from before everything below: x {k: 0} and `resurrect`.
    const early = await Catalog.open(path, options);
    early.defineSync('x', { k: 0 });
    early.defineSync('resurrect', { dropped: 'later' });
    early.defineSync('other', { stays: true });
    await early.close();
    // (Closed cleanly: the DuckDB file alone holds everything, no WAL.)
    expect(existsSync(`${path}.wal`)).toBe(false);
    const oldFile = join(tempDir(), 'old.duckdb');
    copyFileSync(path, oldFile);

    const cat = await Catalog.open(path, options);
    // Replace x until a log has been sealed and a snapshot written that holds an older x.
    // After each seal, wait for its compaction, and stop while the fresh log still has
    // room: the writes after that must seal nothing.
    let snapshotX: unknown;
    for (let i = 1; i < 2000 && snapshotX === undefined; i++) {
      cat.replaceSync('x', { k: i, pad: 'z'.repeat(300) });
      for (let waited = 0; sealedSegments(path).length > 0 && waited < 5_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
      const snapshot = readSnapshotFile(path);
      const fresh = (logRecordBytes(path) ?? Infinity) < 2_500;
      if (snapshot !== undefined && snapshot.seq > 0 && sealedSegments(path).length === 0 && fresh) snapshotX = snapshot.rows.get('x');
    }
    expect(snapshotX, 'a snapshot with x was written').toBeDefined();
    expect(readSnapshotFile(path)!.rows.get('resurrect')).toEqual({ dropped: 'later' });
    cat.dropSync('resurrect');
    cat.replaceSync('x', { k: 'final' });
    await cat.close();
    // The precondition: the snapshot is older than the last writes, which live only in the log.
    const snapshot = readSnapshotFile(path)!;
    expect(snapshot.rows.get('x')).not.toEqual({ k: 'final' });
    expect(snapshot.rows.has('resurrect')).toBe(true);
    expect(readFileSync(`${path}.journal`, 'utf8')).toContain('final');
    const expected = [['other', { stays: true }], ['x', { k: 'final' }]];

    // (a) the DuckDB file is gone; (b) it was replaced by the old copy, from before the snapshot.
    const behind = join(tempDir(), 'behind');
    copyDirectory(dir, behind);
    const behindPath = join(behind, 'catalog.duckdb');
    deleteDuckdbFile(behindPath);
    copyFileSync(oldFile, behindPath);
    deleteDuckdbFile(path);
    expect((await readDuckdbFile(oldFile)).rows.get('x')).toEqual({ k: 0 });

    for (const [file, kind] of [[path, 'file-missing'], [behindPath, 'file-behind']] as const) {
      for (let round = 0; round < 3; round++) {
        const reopened = await Catalog.open(file);
        if (round === 0) expect(reopened.recovery?.kind).toBe(kind);
        else expect(reopened.recovery).toBeUndefined();
        expect(reopened.entries()).toEqual(expected);
        await reopened.close();
      }
      expect(sorted((await readDuckdbFile(file)).rows)).toEqual(expected);
    }
  });

  it('one flipped bit in the middle of the journal rolls nothing back', async () => {
    const { path, model } = await catalogForBitFlip();
    const damaged = flipMiddleRecord(path);

    const cat = await Catalog.open(path);
    expect(cat.recovery?.kind).toBe('journal-damaged');
    expect(cat.get('keep')).toEqual({ v: 2 });
    expect(cat.has('dropme')).toBe(false);
    expect(sorted(entryMap(cat.entries()))).toEqual(sorted(model));
    // The damaged journal is kept aside, byte for byte, never overwritten.
    const aside = siblings(path, '.journal.damaged-');
    expect(aside).toHaveLength(1);
    expect(cat.recovery?.damagedFiles).toContain(join(dirname(path), aside[0]!));
    expect(readFileSync(join(dirname(path), aside[0]!)).equals(damaged)).toBe(true);
    cat.defineSync('after', { n: 1 });
    model.set('after', { n: 1 });
    await cat.close();

    for (let round = 0; round < 2; round++) {
      const again = await Catalog.open(path);
      expect(again.recovery).toBeUndefined();
      expect(again.get('keep')).toEqual({ v: 2 });
      expect(again.has('dropme')).toBe(false);
      expect(sorted(entryMap(again.entries()))).toEqual(sorted(model));
      await again.close();
    }
    expect(readFileSync(join(dirname(path), aside[0]!)).equals(damaged)).toBe(true);
    expect(sorted((await readDuckdbFile(path)).rows)).toEqual(sorted(model));
  });

  it('damage where DuckDB does not hold the batches is refused with ERR_CATALOG_CORRUPT, changing nothing', async () => {
    const { path } = await catalogForBitFlip();
    flipMiddleRecord(path);
    deleteDuckdbFile(path);
    await expectCorruptTwice(path);
    expect(existsSync(`${path}.journal`)).toBe(true);
  });

  it('a refused open does not leave a new DuckDB file where there was none', async () => {
    const { path } = await catalogForBitFlip();
    flipMiddleRecord(path);
    deleteDuckdbFile(path);
    const before = siblings(path);
    await expect(Catalog.open(path)).rejects.toMatchObject({ code: 'ERR_CATALOG_CORRUPT' });
    // The evidence stays as it was: a later open (after the journal is repaired or a backup
    // of the file restored) must not find an empty catalog file in the way.
    expect(siblings(path)).toEqual(before);
  });

  it('damage to a journaled batch DuckDB already holds, with later batches only in the journal, costs nothing', async () => {
    const { path, run } = await killedWithLagAfterCheckpoint();
    const log = `${path}.journal`;
    const damaged = flipRecord(log, recordOfBatch(log, Math.floor(run.checkpointedSeq! / 2)));
    const expected = run.model.expected();

    const cat = await Catalog.open(path);
    expect(cat.recovery?.kind).toBe('journal-damaged');
    expect(sorted(entryMap(cat.entries()))).toEqual(sorted(expected));
    const aside = siblings(path, '.journal.damaged-');
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(dirname(path), aside[0]!)).equals(damaged)).toBe(true);
    await cat.close();
    for (let round = 0; round < 2; round++) {
      const again = await Catalog.open(path);
      expect(again.recovery).toBeUndefined();
      expect(sorted(entryMap(again.entries()))).toEqual(sorted(expected));
      await again.close();
    }
    expect(sorted((await readDuckdbFile(path)).rows)).toEqual(sorted(expected));
  });

  it('damage to an acknowledged batch DuckDB does not hold yet (lag) is refused with ERR_CATALOG_CORRUPT, changing nothing', async () => {
    const { path, run, lastSeq } = await killedWithLagAfterCheckpoint();
    const log = `${path}.journal`;
    flipRecord(log, recordOfBatch(log, run.checkpointedSeq! + Math.floor((lastSeq - run.checkpointedSeq!) / 2)));
    await expectCorruptTwice(path);
  });

  it('a kill while open rebuilds a damaged journal never loses the batches DuckDB lacked', { timeout: 120_000 }, async () => {
    // The setup of the test above: DuckDB holds batches up to a checkpoint, later batches
    // (over a thousand names) live only in the journal, and a batch DuckDB holds is damaged.
    // open then rebuilds the journal from DuckDB plus those later batches. A process killed
    // in the middle of that must leave a catalog that still has every acknowledged write.
    const template = join(tempDir(), 'catalog.duckdb');
    const run = await runAckWriter(
      { path: template, seed: 43, names: 1500, padMax: 400, asyncShare: 0.8, limit: 2600, checkpointAfter: 100, ...HELD_BEHIND_WRITER },
      { atDone: true, timeoutMs: 60_000 },
    );
    expect(run.error, run.stderr).toBeUndefined();
    expect(run.done).toBe(true);
    const log = `${template}.journal`;
    flipRecord(log, recordOfBatch(log, Math.floor(run.checkpointedSeq! / 2)));
    const expected = run.model.expected();
    expect(expected.size).toBeGreaterThan(800);

    const outcomes: string[] = [];
    let windows = 0;
    for (let trial = 0; trial < 4; trial++) {
      const dir = join(tempDir(), 'copy');
      copyDirectory(dirname(template), dir);
      const path = join(dir, 'catalog.duckdb');
      const child = spawnFixture('open-and-hold.mjs', [path]);
      const exited = new Promise((resolve) => child.on('close', resolve));
      // Kill the moment open has set the damaged journal aside, before anything replaces it
      // (a tight synchronous poll: the window is milliseconds wide).
      const deadline = performance.now() + 20_000;
      let inWindow = false;
      let newJournal = false;
      while (performance.now() < deadline && child.exitCode === null) {
        const names = siblings(path);
        if (names.some((name) => name.includes('.damaged-'))) {
          child.kill('SIGKILL');
          inWindow = true;
          newJournal = names.includes('catalog.duckdb.snapshot') && names.includes('catalog.duckdb.journal');
          break;
        }
      }
      child.kill('SIGKILL');
      await exited;
      if (inWindow) windows++;
      const first = await openOutcome(path);
      const second = await openOutcome(path);
      outcomes.push(`${!inWindow ? 'not killed by the poll' : newJournal ? 'killed as the journal was set aside (new one already written)' : 'killed as the journal was set aside (no new one yet)'}: ${'code' in first ? first.code : `${first.entries.size} entries (${first.recovery?.kind ?? 'no recovery'})`}`);
      if ('code' in first) {
        expect(second).toEqual(first);
        continue;
      }
      const lost = run.model.mismatches(first.entries);
      expect(lost.map((m) => m.name).slice(0, 10), `trial ${trial}: ${lost.length} acknowledged names wrong after the kill\n${outcomes.join('\n')}`).toEqual([]);
      if ('code' in second) throw new Error(`the second open failed with ${second.code}`);
      expect(sorted(second.entries)).toEqual(sorted(first.entries));
    }
    console.log(outcomes.join('\n'));
    // Otherwise no kill landed while the journal was being replaced, and the trials proved nothing.
    expect(windows).toBeGreaterThan(0);
  });

  it('a damaged snapshot is rebuilt from DuckDB when DuckDB holds its batches, and refused when it does not', async () => {
    const path = join(tempDir(), 'catalog.duckdb');
    const cat = await Catalog.open(path, { [COMPACT_AFTER]: 4096 } as CatalogOptions);
    const model: Model = new Map();
    for (let i = 0; i < 300; i++) {
      const value = { i, text: 's'.repeat(150) };
      cat.defineSync(`snap${i}`, value);
      model.set(`snap${i}`, value);
    }
    // Let the last compaction finish, so the snapshot alone holds the early batches.
    for (let waited = 0; sealedSegments(path).length > 0 && waited < 5_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    await cat.close();
    expect(sealedSegments(path)).toEqual([]);
    const snapshot = readSnapshotFile(path)!;
    expect(snapshot.rows.size).toBeGreaterThan(100);
    const copy = join(tempDir(), 'copy');
    const start = snapshotFramesStart(path);
    const { frames } = readFrames(`${path}.snapshot`, start);
    expect(frames.length).toBeGreaterThan(1);
    const damaged = flipRecord(`${path}.snapshot`, Math.floor((frames.length - 1) / 2), start);
    copyDirectory(dirname(path), copy);

    const opened = await Catalog.open(path);
    expect(opened.recovery?.kind).toBe('journal-damaged');
    expect(sorted(entryMap(opened.entries()))).toEqual(sorted(model));
    const aside = siblings(path, '.snapshot.damaged-');
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(dirname(path), aside[0]!)).equals(damaged)).toBe(true);
    await opened.close();
    for (let round = 0; round < 2; round++) {
      const again = await Catalog.open(path);
      expect(again.recovery).toBeUndefined();
      expect(sorted(entryMap(again.entries()))).toEqual(sorted(model));
      await again.close();
    }

    // The same damage with the DuckDB file gone: the snapshot's batches are nowhere else.
    const copyPath = join(copy, 'catalog.duckdb');
    deleteDuckdbFile(copyPath);
    await expectCorruptTwice(copyPath);
  });
});
