import { Catalog, type CatalogOptions } from 'duckcat';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryMap, runAckWriter, sorted } from './helpers/ack-writer.js';
import { readDuckdbFile } from './helpers/duckdb-file.js';
import { deleteJournal, journalFiles, readRecords, readSnapshotFile, sealedSegments, siblings, writeAt } from './helpers/journal-bytes.js';
import { APPLY_DELAY, COMPACT_AFTER, HELD_BEHIND, HELD_BEHIND_WRITER, expectCleanRun, reopenTwice, verifyAfterKill } from './helpers/reopen.js';
import { seededRandom } from './helpers/seeded-random.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';
import type { JsonValue } from 'duckcat';

// Journal-first commits: a write is acknowledged once its record is fdatasync'ed in
// <file>.journal; DuckDB is brought up to date behind it. These tests hold DuckDB behind on
// purpose (the applyDelayMs hook), kill real processes while it is behind, and check the
// journal, DuckDB and a model of the acknowledged writes against each other.

type Model = Map<string, unknown>;

function makeValue(random: () => number, name: string, step: number, padMax: number): JsonValue {
  const length = Math.floor(random() * padMax);
  return { name, step, nested: { list: [step, String(step), step % 2 === 0] }, pad: 'x'.repeat(length) };
}

/**
 * `count` seeded writes — defines of new names, replaces and drops of stored ones — half
 * as sync calls, half as groups of concurrent async calls on distinct names. The model
 * changes only after a call returned.
 */
async function writeOps(cat: Catalog, model: Model, options: { seed: number; count: number; names: number; padMax?: number }): Promise<void> {
  const random = seededRandom(options.seed);
  const padMax = options.padMax ?? 100;
  const plan = (name: string, step: number) => {
    if (!model.has(name)) return { op: 'define' as const, value: makeValue(random, name, step, padMax) };
    return random() < 0.6 ? { op: 'replace' as const, value: makeValue(random, name, step, padMax) } : { op: 'drop' as const, value: undefined };
  };
  let done = 0;
  while (done < options.count) {
    if (random() < 0.5) {
      const name = `n${Math.floor(random() * options.names)}`;
      const { op, value } = plan(name, done);
      if (op === 'define') cat.defineSync(name, value);
      else if (op === 'replace') cat.replaceSync(name, value);
      else cat.dropSync(name);
      if (op === 'drop') model.delete(name);
      else model.set(name, value);
      done++;
      continue;
    }
    const group = new Set<string>();
    const size = Math.min(2 + Math.floor(random() * 6), options.count - done);
    while (group.size < size) group.add(`n${Math.floor(random() * options.names)}`);
    await Promise.all(
      [...group].map(async (name, i) => {
        const { op, value } = plan(name, done + i);
        if (op === 'define') await cat.define(name, value);
        else if (op === 'replace') await cat.replace(name, value);
        else await cat.drop(name);
        if (op === 'drop') model.delete(name);
        else model.set(name, value);
      }),
    );
    done += group.size;
  }
}

describe('journal-first commits: DuckDB behind the journal', () => {
  it('lag drains on close: a plain DuckDB reader then sees every acknowledged write', async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path, HELD_BEHIND);
    const model: Model = new Map();
    await writeOps(cat, model, { seed: 11, count: 300, names: 90 });
    expect(sorted(entryMap(cat.entries()))).toEqual(sorted(model));

    const stats = await cat.stats();
    expect(stats.lag.rows).toBeGreaterThan(0);
    expect(stats.lag.appliedSeq).toBeLessThan(stats.lag.journaledSeq);
    expect(stats.applies.count).toBe(0);
    await cat.close();

    const file = await readDuckdbFile(path);
    expect(sorted(file.rows)).toEqual(sorted(model));
    // The position recorded with the rows is the last acknowledged batch.
    expect(file.appliedSeq).toBe(stats.lag.journaledSeq);
    expect(await reopenTwice(path, model)).toBeUndefined();
  });

  it('backpressure engages at maxLagRows and releases: every write succeeds, lag stays bounded', async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path, { maxLagRows: 50, [APPLY_DELAY]: 200 } as CatalogOptions);
    const model: Model = new Map();
    let maxLag = 0;
    for (let i = 0; i < 300; i++) {
      const name = `bp${i % 220}`;
      const value = { i, body: 'b'.repeat(i % 37) };
      if (model.has(name)) cat.replaceSync(name, value);
      else cat.defineSync(name, value);
      model.set(name, value);
      if (i % 10 === 9) maxLag = Math.max(maxLag, (await cat.stats()).lag.rows);
    }
    const stats = await cat.stats();
    expect(stats.lag.backpressureWaits).toBeGreaterThan(0);
    // Single-row batches: a write waits once 50 rows are unapplied, so the lag never passes 50.
    expect(maxLag).toBeGreaterThan(0);
    expect(maxLag).toBeLessThanOrEqual(50);
    // DuckDB caught up in batches, not row by row.
    expect(stats.applies.count).toBeGreaterThan(0);
    expect(stats.applies.meanRows).toBeGreaterThan(1);
    await cat.close();

    const file = await readDuckdbFile(path);
    expect(sorted(file.rows)).toEqual(sorted(model));
    await reopenTwice(path, model);
  });

  it('backpressure engages at maxLagMs too', async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path, { maxLagRows: 1_000_000, maxLagMs: 50, [APPLY_DELAY]: 250 } as CatalogOptions);
    const model: Model = new Map();
    const started = performance.now();
    for (let i = 0; performance.now() - started < 1_200; i++) {
      const name = `age${i}`;
      cat.defineSync(name, { i });
      model.set(name, { i });
    }
    const stats = await cat.stats();
    expect(stats.lag.backpressureWaits).toBeGreaterThan(0);
    expect(stats.applies.count).toBeGreaterThan(0);
    await cat.close();
    const file = await readDuckdbFile(path);
    expect(sorted(file.rows)).toEqual(sorted(model));
  });

  it('checkpoint() drains the lag while the catalog stays open', async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path, HELD_BEHIND);
    const model: Model = new Map();
    await writeOps(cat, model, { seed: 12, count: 150, names: 60 });
    const before = await cat.stats();
    expect(before.lag.rows).toBeGreaterThan(0);

    await cat.checkpoint();
    const after = await cat.stats();
    expect(after.lag.rows).toBe(0);
    expect(after.lag.ms).toBe(0);
    expect(after.lag.appliedSeq).toBe(after.lag.journaledSeq);
    expect(after.lag.journaledSeq).toBe(before.lag.journaledSeq);
    expect(after.applies.count).toBeGreaterThan(0);

    // Still held behind afterwards: new writes lag again, and close drains them too.
    await writeOps(cat, model, { seed: 13, count: 40, names: 60 });
    expect((await cat.stats()).lag.rows).toBeGreaterThan(0);
    await cat.close();
    expect(sorted((await readDuckdbFile(path)).rows)).toEqual(sorted(model));
    await reopenTwice(path, model);
  });

  it('a catalog opened from its snapshot equals its DuckDB table after several compactions', async () => {
    const path = tempCatalogPath();
    const options = { [COMPACT_AFTER]: 64 * 1024 } as CatalogOptions;
    const cat = await Catalog.open(path, options);
    const model: Model = new Map();
    const defines: Array<Promise<void>> = [];
    for (let i = 0; i < 2000; i++) {
      const value = { i, dims: [`d${i % 7}`, `d${i % 11}`], text: `entry ${i} `.repeat(1 + (i % 20)) };
      model.set(`e${i}`, value);
      // Sync and async, so batches of one and group commits both go through compaction.
      if (i % 4 === 0) cat.defineSync(`e${i}`, value);
      else defines.push(cat.define(`e${i}`, value));
      if (defines.length >= 16) await Promise.all(defines.splice(0));
    }
    await Promise.all(defines);
    for (let i = 0; i < 2000; i += 9) {
      cat.replaceSync(`e${i}`, { replaced: i });
      model.set(`e${i}`, { replaced: i });
    }
    for (let i = 1; i < 2000; i += 13) {
      cat.dropSync(`e${i}`);
      model.delete(`e${i}`);
    }
    await cat.close();

    const snapshot = readSnapshotFile(path);
    expect(snapshot, 'a snapshot was written').toBeDefined();
    expect(snapshot!.seq).toBeGreaterThan(0);
    expect(snapshot!.rows.size).toBeGreaterThan(500);
    // Compaction kept up: sealed logs the snapshots cover were deleted.
    expect(sealedSegments(path).length).toBeLessThanOrEqual(2);

    const file = await readDuckdbFile(path);
    expect(sorted(file.rows)).toEqual(sorted(model));
    const reopened = await Catalog.open(path, options);
    expect(reopened.recovery).toBeUndefined();
    expect(sorted(entryMap(reopened.entries()))).toEqual(sorted(file.rows));
    await reopened.close();
    await reopenTwice(path, model, options);
  });

  it("commit: 'duckdb' keeps the DuckDB file current at every acknowledgement", async () => {
    const path = tempCatalogPath();
    const run = await runAckWriter(
      { path, seed: 5, limit: 200, names: 70, asyncShare: 0, options: { commit: 'duckdb' } },
      { atDone: true },
    );
    expectCleanRun(run);
    expect(run.done).toBe(true);
    expect(run.model.pending).toBe(0);
    const expected = run.model.expected();

    // Without the journal, DuckDB's file and WAL alone must hold all 200 acknowledgements.
    expect(journalFiles(path).length).toBeGreaterThan(0);
    deleteJournal(path);
    expect(journalFiles(path)).toEqual([]);
    const file = await readDuckdbFile(path);
    expect(sorted(file.rows)).toEqual(sorted(expected));
    await reopenTwice(path, expected, { commit: 'duckdb' });
  });

  it('a kill -9 with lag > 0 loses no acknowledged write: open rolls the journal forward', { timeout: 90_000 }, async () => {
    const random = seededRandom(6);
    const rolled: number[] = [];
    for (let trial = 0; trial < 4; trial++) {
      const path = tempCatalogPath();
      const run = await runAckWriter(
        { path, seed: 600 + trial, names: 80, padMax: 300, ...HELD_BEHIND_WRITER },
        { afterReadyMs: 150 + Math.floor(random() * 600) },
      );
      expectCleanRun(run);
      expect(run.killed).toBe(true);
      expect(run.model.acked).toBeGreaterThan(0);
      const { recovery } = await verifyAfterKill(path, run.model);
      // DuckDB applied nothing (a minute's apply delay): every acknowledged row came from the journal.
      expect(recovery).toMatchObject({ kind: 'rolled-forward', damagedFiles: [] });
      expect(recovery!.restoredRows).toBeGreaterThan(0);
      rolled.push(recovery!.restoredRows);
    }
    console.log(`kill -9 with lag: restored rows per trial ${rolled.join(', ')}`);
  });

  it('a crash during compaction loses nothing, and sealed logs do not pile up', { timeout: 120_000 }, async () => {
    const path = tempCatalogPath();
    const random = seededRandom(7);
    let entries: Model = new Map();
    let leftTemporary = 0;
    let maxSegmentsAtKill = 0;
    for (let trial = 0; trial < 10; trial++) {
      // Every other trial also holds DuckDB behind: compaction must then apply the lag itself.
      const held = trial % 2 === 1 ? { ...HELD_BEHIND_WRITER } : {};
      const run = await runAckWriter(
        { path, seed: 700 + trial, names: 60, padMax: 600, compactAfterBytes: 8 * 1024, ...held },
        { afterReadyMs: 50 + Math.floor(random() * 500) },
        entries,
      );
      expectCleanRun(run);
      expect(run.killed).toBe(true);
      if (existsSync(`${path}.snapshot.tmp`)) leftTemporary++;
      maxSegmentsAtKill = Math.max(maxSegmentsAtKill, sealedSegments(path).length);
      ({ entries } = await verifyAfterKill(path, run.model));
      expect(sealedSegments(path).length, `sealed segments after trial ${trial}: ${sealedSegments(path).join(', ')}`).toBeLessThanOrEqual(3);
    }
    console.log(`compaction crashes: ${leftTemporary} kills left a .snapshot.tmp, at most ${maxSegmentsAtKill} sealed segments at a kill`);

    // A clean run afterwards compacts as usual: a leftover .snapshot.tmp does not stop it.
    const clean = await runAckWriter({ path, seed: 799, names: 60, padMax: 600, compactAfterBytes: 8 * 1024, limit: 300, after: 'close' }, {}, entries);
    expectCleanRun(clean);
    expect(clean.closed).toBe(true);
    expect(existsSync(`${path}.snapshot.tmp`)).toBe(false);
    expect(sealedSegments(path).length).toBeLessThanOrEqual(1);
    const final = clean.model.expected();
    expect(sorted((await readDuckdbFile(path)).rows)).toEqual(sorted(final));
    await reopenTwice(path, final);
  });

  it('a torn record at the end of the journal’s records is ignored, with lag > 0', { timeout: 60_000 }, async () => {
    const torn = Buffer.from('123 deadbeef {"t":"batch","seq":99999,"rows":[["ghost"', 'latin1');
    for (const kill of [{ atDone: true }, { afterReadyMs: 300 }] as const) {
      const path = tempCatalogPath();
      const run = await runAckWriter(
        { path, seed: 8, names: 50, limit: 'atDone' in kill ? 150 : undefined, ...HELD_BEHIND_WRITER },
        kill,
      );
      expectCleanRun(run);
      expect(run.model.acked).toBeGreaterThan(0);

      const log = `${path}.journal`;
      const { records, validEnd, size } = readRecords(log);
      expect(records.length).toBeGreaterThan(0);
      // The log is preallocated: its records end well before the file does.
      expect(size).toBeGreaterThan(validEnd + torn.length);
      writeAt(log, validEnd, torn);

      const { recovery } = await verifyAfterKill(path, run.model);
      expect(recovery?.kind).toBe('rolled-forward');
      const again = await Catalog.open(path);
      expect(again.has('ghost')).toBe(false);
      again.defineSync('after-torn', { ok: true });
      await again.close();
      const third = await Catalog.open(path);
      expect(third.get('after-torn')).toEqual({ ok: true });
      expect(third.has('ghost')).toBe(false);
      await third.close();
      for (const name of siblings(path, '.journal')) {
        expect(readFileSync(join(dirname(path), name), 'latin1'), name).not.toContain('ghost');
      }
    }
  });
});
