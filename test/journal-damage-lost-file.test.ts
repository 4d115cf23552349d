import { Catalog, CatalogError, type CatalogOptions } from 'duckcat';
import { once } from 'node:events';
import { existsSync, lstatSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { entryMap, sorted } from './helpers/ack-writer.js';
import { spawnFixture, waitForLine } from './helpers/child.js';
import { copyDirectory, deleteDuckdbFile, fileBytes, flipBit, journalFiles, readFrames, readRecords, readSnapshotFile, sealedSegments } from './helpers/journal-bytes.js';
import { COMPACT_AFTER, reopenTwice } from './helpers/reopen.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

// Found by the journal mutation fuzz (test/reliability-journal-mutation.test.ts): with the
// DuckDB file gone, damage anywhere in the journal sent open down the "rebuild the journal
// from the file" path, which builds on DuckDB's rows alone — an empty new file — plus the
// batches after the snapshot, so every definition only the snapshot held vanished, with a
// `journal-damaged` report that claimed the journal had been rebuilt "from the file".

type Model = Map<string, unknown>;

/**
 * A closed catalog whose journal has a snapshot with rows (compaction every 4 KiB), then
 * a few batches in the live log after it (written without the compaction hook).
 */
async function catalogWithSnapshotAndLog(path: string): Promise<Model> {
  const model: Model = new Map();
  const cat = await Catalog.open(path, { [COMPACT_AFTER]: 4096 } as CatalogOptions);
  for (let i = 0; i < 60; i++) {
    const name = `n${i % 25}`;
    const value = { i, pad: 'p'.repeat(150) };
    if (model.has(name)) cat.replaceSync(name, value);
    else cat.defineSync(name, value);
    model.set(name, value);
  }
  await cat.close();
  const more = await Catalog.open(path);
  for (let i = 0; i < 3; i++) {
    more.defineSync(`tail${i}`, i);
    model.set(`tail${i}`, i);
  }
  await more.close();
  const snapshot = readSnapshotFile(path);
  expect(snapshot?.seq).toBeGreaterThan(0);
  expect(snapshot!.rows.size).toBeGreaterThan(0);
  expect(readFrames(`${path}.journal`).frames.length).toBeGreaterThanOrEqual(3);
  return model;
}

async function openEntries(path: string): Promise<Model | { code: string }> {
  try {
    const cat = await Catalog.open(path);
    const entries = entryMap(cat.entries());
    await cat.close();
    return entries;
  } catch (error) {
    expect(error).toBeInstanceOf(CatalogError);
    return { code: (error as CatalogError).code };
  }
}

describe('a damaged journal with the DuckDB file gone', () => {
  it('damage in a sealed log the snapshot covers costs nothing: the rebuild equals the model, twice', async () => {
    const path = tempCatalogPath();
    const model = await catalogWithSnapshotAndLog(path);
    // A covered sealed log left behind (a crash between the snapshot and its removal), unreadable.
    const base = readSnapshotFile(path)!.seq;
    const covered = `${path}.journal.${String(base).padStart(12, '0')}`;
    expect(sealedSegments(path).length === 0 || sealedSegments(path).every((s) => Number(s.slice(-12)) <= base)).toBe(true);
    // A record with a bad checksum followed by an intact one: damage, not a torn tail.
    const frame = (payload: string, crc = crc32(Buffer.from(payload))) => `${Buffer.byteLength(payload)} ${crc.toString(16)} ${payload}\n`;
    const record = '{"t":"batch","seq":1,"rows":[]}';
    writeFileSync(covered, frame(record, crc32(Buffer.from(record)) ^ 1) + frame(record));
    deleteDuckdbFile(path);
    for (let open = 0; open < 2; open++) {
      const entries = await openEntries(path);
      expect(entries).toBeInstanceOf(Map);
      expect(sorted(entries as Model), `open ${open}`).toEqual(sorted(model));
    }
  });

  it('a damaged record whose batch is readable elsewhere never yields a catalog without the snapshot rows', async () => {
    const path = tempCatalogPath();
    const model = await catalogWithSnapshotAndLog(path);
    // A damaged copy of the live log's first record in front of it: every seq is still
    // readable, but the log is damaged, so open cannot take the journal as clean.
    const log = `${path}.journal`;
    const data = readFileSync(log);
    const first = readFrames(log).frames[0]!;
    const broken = Buffer.from(data.subarray(first.offset, first.end));
    broken[broken.length - 5]! ^= 0x20;
    writeFileSync(log, Buffer.concat([broken, data]).subarray(0, data.length));
    deleteDuckdbFile(path);
    const before = fileBytes(path, journalFiles(path));
    for (let open = 0; open < 2; open++) {
      const outcome = await openEntries(path);
      // The whole catalog, or a typed refusal that leaves the journal as it was; never a part.
      if (outcome instanceof Map) expect(sorted(outcome), `open ${open}`).toEqual(sorted(model));
      else {
        expect(outcome.code).toBe('ERR_CATALOG_CORRUPT');
        expectSameFiles(path, before);
      }
    }
  });
});

describe('the end of the journal lost (zeroed, cut, a sealed log removed)', () => {
  // Once a gap: a journal whose newest records are gone reads exactly like one with a torn
  // tail, so with the DuckDB file gone open rebuilt the older catalog as of the snapshot,
  // with no error. `<file>.journal.mark` (raised off the callers' path each time DuckDB
  // records its position) now says how far the journal reached: a journal that ends below
  // it lost acknowledged writes, and open takes them from DuckDB or refuses.
  const losses: ReadonlyArray<readonly [string, (path: string) => void]> = [
    ['zeroing the blocks that hold the live log\'s records', zeroLogHead],
    ['truncating the live log to nothing', (path) => truncateSync(`${path}.journal`, 0)],
    ['truncating the live log after its first record', (path) => truncateSync(`${path}.journal`, readFrames(`${path}.journal`).frames[0]!.end)],
    ['removing the newest sealed log', (path) => rmSync(sealByHand(path))],
    [
      // The mark keeps two copies in different sectors: one lost copy still says how far the journal reached.
      'zeroing the live log\'s records and the first copy of the mark',
      (path) => {
        zeroLogHead(path);
        const mark = readFileSync(`${path}.journal.mark`);
        mark.fill(0, 0, 512);
        writeFileSync(`${path}.journal.mark`, mark);
      },
    ],
  ];

  for (const [what, lose] of losses) {
    it(`${what}, with the DuckDB file gone, yields the model or ERR_CATALOG_CORRUPT, never an older catalog`, async () => {
      const path = tempCatalogPath();
      const model = await catalogWithSnapshotAndLog(path);
      lose(path);
      deleteDuckdbFile(path);
      const before = fileBytes(path, journalFiles(path));
      for (let open = 0; open < 2; open++) {
        const outcome = await openEntries(path);
        if (outcome instanceof Map) expect(sorted(outcome), `open ${open}`).toEqual(sorted(model));
        else {
          expect(outcome.code).toBe('ERR_CATALOG_CORRUPT');
          expectSameFiles(path, before);
        }
      }
    });

    it(`${what}, with the DuckDB file healthy, opens the model (the journal rebuilt from the file), twice`, async () => {
      const path = tempCatalogPath();
      const model = await catalogWithSnapshotAndLog(path);
      lose(path);
      const recovery = await reopenTwice(path, model);
      expect(recovery?.kind).toBe('journal-damaged');
    });
  }

  it('zeroing the live log after a kill -9, with the DuckDB file gone: the model or ERR_CATALOG_CORRUPT; with it healthy: the model, twice', async () => {
    const path = tempCatalogPath();
    const count = 40;
    const child = spawnFixture('write-and-wait.mjs', [path, String(count)]);
    try {
      await waitForLine(child, /^acked /);
      // The mark follows DuckDB's recorded position (off the callers' path): wait until it
      // covers every acknowledged batch, then kill.
      for (let waited = 0; (readMarkSeq(path) ?? 0) < count; waited += 20) {
        if (waited > 20_000) throw new Error(`the mark stayed at ${readMarkSeq(path)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      child.kill('SIGKILL');
      await once(child, 'close');
    }
    const model: Model = new Map(Array.from({ length: count }, (_, i) => [`wal_view${i}`, { base: 'orders', i }]));
    const healthy = `${path}.healthy`;
    const zeroLog = () => writeFileSync(`${path}.journal`, Buffer.alloc(statSync(`${path}.journal`).size));
    zeroLog();
    copyDirectory(dirname(path), healthy);
    deleteDuckdbFile(path);
    const outcome = await openEntries(path);
    if (outcome instanceof Map) expect(sorted(outcome)).toEqual(sorted(model));
    else expect(outcome.code).toBe('ERR_CATALOG_CORRUPT');
    await reopenTwice(join(healthy, basename(path)), model);
  });
});

describe('the journal mark as a side file', () => {
  it('is never written through a symlink planted in its place', async () => {
    const path = tempCatalogPath();
    const victim = `${dirname(path)}/victim.txt`;
    writeFileSync(victim, 'keep me');
    symlinkSync(victim, `${path}.journal.mark`);
    const cat = await Catalog.open(path);
    for (let i = 0; i < 5; i++) cat.defineSync(`v${i}`, i);
    await cat.checkpoint();
    await cat.close();
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
    expect(lstatSync(`${path}.journal.mark`).isSymbolicLink()).toBe(true);
  });

  it('is created mode 0600 and holds the newest batch after a close', async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path);
    for (let i = 0; i < 7; i++) cat.defineSync(`v${i}`, i);
    await cat.close();
    expect(statSync(`${path}.journal.mark`).mode & 0o777).toBe(0o600);
    expect(readMarkSeq(path)).toBe(7);
  });
});

describe('acceptDataLoss: opening the newest readable state on purpose', () => {
  it('the refusal leaves every file byte-identical; with the option the snapshot state opens as data-lost, then reopens twice with no recovery', async () => {
    const path = tempCatalogPath();
    await catalogWithSnapshotAndLog(path);
    const readable = readSnapshotFile(path)!.rows;
    zeroLogHead(path);
    deleteDuckdbFile(path);
    const before = fileBytes(path, journalFiles(path));
    let refusal: unknown;
    try {
      await Catalog.open(path);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(CatalogError);
    expect((refusal as CatalogError).code).toBe('ERR_CATALOG_CORRUPT');
    expect((refusal as Error).message).toMatch(/acceptDataLoss/);
    expectSameFiles(path, before);

    const cat = await Catalog.open(path, { acceptDataLoss: true });
    expect(cat.recovery?.kind).toBe('data-lost');
    expect(cat.recovery?.reason).toMatch(/batches \d+–\d+ are lost/);
    // Every damaged file kept aside, renamed, with its bytes.
    expect(cat.recovery!.damagedFiles.length).toBeGreaterThan(0);
    for (const [name, bytes] of before) {
      const aside = cat.recovery!.damagedFiles.find((file) => basename(file).startsWith(`${name}.damaged-`));
      expect(aside, name).toBeDefined();
      expect(readFileSync(aside!).equals(bytes), name).toBe(true);
    }
    expect(sorted(entryMap(cat.entries()))).toEqual(sorted(readable));
    cat.defineSync('after', 1);
    await cat.close();
    readable.set('after', 1);
    expect(await reopenTwice(path, readable)).toBeUndefined();
    deleteDuckdbFile(path);
    expect(await reopenTwice(path, readable)).toMatchObject({ kind: 'file-missing' });
  });

  it('a bit flipped mid-log with the DuckDB file gone: the snapshot and the batches before the damage', async () => {
    const path = tempCatalogPath();
    const model = await catalogWithSnapshotAndLog(path);
    const log = `${path}.journal`;
    const snapshot = readSnapshotFile(path)!;
    // The log may still hold batches the snapshot covers: damage the second one after it.
    const after = readRecords(log).records.filter((record) => record.json.seq > snapshot.seq);
    expect(after.length).toBeGreaterThanOrEqual(3);
    const damaged = after[1]!;
    const expected = snapshot.rows;
    for (const [name, json] of (after[0]!.json.rows ?? []) as Array<[string, string | null, number]>) {
      if (json === null) expected.delete(name);
      else expected.set(name, JSON.parse(json));
    }
    flipBit(log, damaged.payloadStart + 3, 2);
    deleteDuckdbFile(path);
    await expect(Catalog.open(path)).rejects.toMatchObject({ code: 'ERR_CATALOG_CORRUPT' });
    const cat = await Catalog.open(path, { acceptDataLoss: true });
    expect(cat.recovery?.kind).toBe('data-lost');
    const entries = entryMap(cat.entries());
    await cat.close();
    expect(sorted(entries)).toEqual(sorted(expected));
    expect(entries.size).toBeLessThan(model.size);
    expect(await reopenTwice(path, expected)).toBeUndefined();
  });

  it('is refused unless a boolean', async () => {
    await expect(Catalog.open(tempCatalogPath(), { acceptDataLoss: 'yes' } as unknown as CatalogOptions)).rejects.toMatchObject({ code: 'ERR_CATALOG_INVALID' });
  });
});

/** Zeroes the 4 KiB blocks of the live log that hold its records (a lost write-back of them). */
function zeroLogHead(path: string): void {
  const log = `${path}.journal`;
  const blocks = Math.ceil(readFrames(log).validEnd / 4096) * 4096;
  const data = readFileSync(log);
  data.fill(0, 0, blocks);
  writeFileSync(log, data);
}

/**
 * Seals the live log as the journal thread does (renamed to `<file>.journal.<lastSeq>`, a
 * fresh zero-filled log in its place), as a crash before the snapshot covering it would
 * leave it. Returns the sealed file.
 */
function sealByHand(path: string): string {
  const log = `${path}.journal`;
  const { records } = readRecords(log);
  const sealed = `${log}.${String(records.at(-1)!.json.seq).padStart(12, '0')}`;
  renameSync(log, sealed);
  writeFileSync(log, Buffer.alloc(64 * 1024));
  return sealed;
}

function expectSameFiles(path: string, before: ReadonlyMap<string, Buffer>): void {
  // Compared as bytes (a deep equality over 1 MiB buffers takes seconds).
  const after = fileBytes(path, journalFiles(path));
  expect([...after.keys()]).toEqual([...before.keys()]);
  for (const [name, bytes] of before) expect(after.get(name)!.equals(bytes), name).toBe(true);
}

/** The seq `<file>.journal.mark` holds (its first copy: magic, u64 LE seq, crc32), or undefined. */
function readMarkSeq(path: string): number | undefined {
  const file = `${path}.journal.mark`;
  if (!existsSync(file)) return undefined;
  const data = readFileSync(file);
  if (data.length < 20 || data.toString('latin1', 0, 8) !== 'dcmark01' || crc32(data.subarray(0, 16)) !== data.readUInt32LE(16)) return undefined;
  return Number(data.readBigUInt64LE(8));
}

describe('a damaged snapshot with an empty live log and the DuckDB file gone', () => {
  // Found as a flake of recovery-invariants' "a damaged snapshot is rebuilt from DuckDB ...
  // and refused when it does not" under load: when the close leaves every batch in the
  // snapshot (the live log empty), a damaged snapshot gave `base === undefined` and no
  // batches, and open returned an EMPTY catalog. An unreadable snapshot with a DuckDB that
  // holds nothing is now refused.
  it('is refused with ERR_CATALOG_CORRUPT, never opened empty', async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path, { [COMPACT_AFTER]: 4096 } as CatalogOptions);
    for (let i = 0; i < 300; i++) cat.defineSync(`snap${i}`, { i, text: 's'.repeat(150) });
    for (let waited = 0; sealedSegments(path).length > 0 && waited < 5_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    await cat.close();
    expect(sealedSegments(path)).toEqual([]);
    // Every batch in the snapshot (as after a close that compacted last): the live log holds no record.
    const log = readFileSync(`${path}.journal`);
    writeFileSync(`${path}.journal`, Buffer.alloc(log.length));
    const snapshot = readFileSync(`${path}.snapshot`);
    snapshot[Math.floor(snapshot.length / 2)]! ^= 0x10;
    writeFileSync(`${path}.snapshot`, snapshot);
    deleteDuckdbFile(path);
    const outcome = await openEntries(path);
    expect(outcome).toEqual({ code: 'ERR_CATALOG_CORRUPT' });
  });
});
