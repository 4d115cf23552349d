import { Catalog } from 'duckcat';
import { existsSync, openSync, readFileSync, readSync, closeSync, writeSync, statSync, truncateSync, unlinkSync, appendFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { spawnFixture, waitForLine } from './helpers/child.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

const COUNT = 40;

async function closedCatalogWithViews(): Promise<string> {
  const path = tempCatalogPath();
  const cat = await Catalog.open(path);
  for (let i = 0; i < COUNT; i++) cat.defineSync(`view${i}`, { base: 'orders', i });
  cat.dropSync('view0');
  cat.replaceSync('view1', { base: 'orders', replaced: true });
  await cat.close();
  return path;
}

function expectAllViews(cat: Catalog): void {
  expect(cat.size).toBe(COUNT - 1);
  expect(cat.has('view0')).toBe(false);
  expect(cat.get('view1')).toEqual({ base: 'orders', replaced: true });
  for (let i = 2; i < COUNT; i++) expect(cat.get(`view${i}`)).toEqual({ base: 'orders', i });
}

/** A catalog killed with SIGKILL after acknowledging `count` writes: they live only in the WAL. */
async function killedCatalog(count: number): Promise<string> {
  const path = tempCatalogPath();
  const child = spawnFixture('write-and-wait.mjs', [path, String(count)]);
  await waitForLine(child, /^acked/);
  // Open returns before DuckDB has made its schema (its API loads afterwards): the tests
  // below damage DuckDB's WAL, so wait until it has one (bounded; they check it exists).
  for (let waited = 0; !existsSync(`${path}.wal`) && waited < 10_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('close', resolve));
  return path;
}

function flipBytes(path: string, from: number, count: number): void {
  const fd = openSync(path, 'r+');
  const buffer = Buffer.alloc(count);
  readSync(fd, buffer, 0, count, from);
  for (let i = 0; i < count; i++) buffer[i] = buffer[i]! ^ 0xff;
  writeSync(fd, buffer, 0, count, from);
  closeSync(fd);
}

async function reopen(path: string): Promise<Catalog> {
  return Catalog.open(path);
}

describe('recovery from a damaged catalog file', () => {
  it('rebuilds from the journal when data blocks are corrupted, keeping the damaged file', async () => {
    const path = await closedCatalogWithViews();
    const size = statSync(path).size;
    for (let offset = 12_288; offset < size; offset += 262_144) flipBytes(path, offset, 512);
    const cat = await reopen(path);
    expect(cat.recovery?.damagedFiles.length).toBeGreaterThan(0);
    for (const file of cat.recovery?.damagedFiles ?? []) expect(existsSync(file)).toBe(true);
    expectAllViews(cat);
    cat.defineSync('after_recovery', 1);
    await cat.close();
    const again = await reopen(path);
    expect(again.recovery).toBeUndefined();
    expect(again.get('after_recovery')).toBe(1);
    await again.close();
  });

  it('rebuilds from the journal when the file is truncated', async () => {
    const path = await closedCatalogWithViews();
    truncateSync(path, 4096);
    const cat = await reopen(path);
    expect(cat.recovery).toBeDefined();
    expectAllViews(cat);
    await cat.close();
  });

  it('rebuilds from the journal when the file was deleted', async () => {
    const path = await closedCatalogWithViews();
    unlinkSync(path);
    const cat = await reopen(path);
    expect(cat.recovery?.reason).toMatch(/missing/);
    expectAllViews(cat);
    await cat.close();
  });

  it('restores acknowledged writes whose WAL was deleted after a SIGKILL', async () => {
    const path = await killedCatalog(25);
    expect(existsSync(`${path}.wal`)).toBe(true);
    unlinkSync(`${path}.wal`);
    const cat = await reopen(path);
    expect(cat.recovery?.restoredRows).toBe(25);
    expect(cat.list()).toHaveLength(25);
    expect(cat.get('wal_view24')).toEqual({ base: 'orders', i: 24 });
    await cat.close();
  });

  it('restores acknowledged writes whose WAL was truncated after a SIGKILL', async () => {
    const path = await killedCatalog(25);
    truncateSync(`${path}.wal`, Math.floor(statSync(`${path}.wal`).size / 3));
    const cat = await reopen(path);
    expect(cat.list()).toHaveLength(25);
    for (let i = 0; i < 25; i++) expect(cat.get(`wal_view${i}`)).toEqual({ base: 'orders', i });
    await cat.close();
  });

  it('opens normally after a plain SIGKILL, at most rolling journaled batches forward', async () => {
    const path = await killedCatalog(10);
    const cat = await reopen(path);
    if (cat.recovery !== undefined) expect(cat.recovery).toMatchObject({ kind: 'rolled-forward', damagedFiles: [] });
    expect(cat.size).toBe(10);
    await cat.close();
  });

  it('ignores a torn record at the end of the journal (never acknowledged)', async () => {
    const path = await closedCatalogWithViews();
    appendFileSync(`${path}.journal`, '123 deadbeef {"t":"batch","seq":99,"rows":[["ghost"');
    const cat = await reopen(path);
    expect(cat.has('ghost')).toBe(false);
    expectAllViews(cat);
    cat.defineSync('next', 2);
    await cat.close();
    const again = await reopen(path);
    expect(again.get('next')).toBe(2);
    expect(readFileSync(`${path}.journal`, 'utf8')).not.toContain('ghost');
    await again.close();
  });

  it('reports a damaged file without a journal as ERR_CATALOG_STORAGE and leaves it in place', async () => {
    const path = await closedCatalogWithViews();
    unlinkSync(`${path}.journal`);
    unlinkSync(`${path}.snapshot`);
    truncateSync(path, 4096);
    await expect(reopen(path)).rejects.toThrow(expect.objectContaining({ code: 'ERR_CATALOG_STORAGE' }));
    expect(statSync(path).size).toBe(4096);
  });
});

describe('journal option', () => {
  it('runs without a journal when told, removing a stale one', async () => {
    const path = await closedCatalogWithViews();
    expect(existsSync(`${path}.journal`)).toBe(true);
    const cat = await Catalog.open(path, { journal: false });
    expect(existsSync(`${path}.journal`)).toBe(false);
    cat.defineSync('unjournaled', 1);
    await cat.close();
    const again = await Catalog.open(path);
    expect(again.get('unjournaled')).toBe(1);
    expect(existsSync(`${path}.journal`)).toBe(true);
    await again.close();
  });
});
