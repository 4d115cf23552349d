import { Catalog, CatalogError, type CatalogOptions } from 'duckcat';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { entryMap, sorted } from './helpers/ack-writer.js';
import { spawnFixture, waitForLine } from './helpers/child.js';
import { readDuckdbFile } from './helpers/duckdb-file.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

// Catalog.open answers once DuckDB's lock is held and its journal position read (by the
// native bindings alone); @duckdb/node-api loads in the store thread afterwards, before any
// write reaches DuckDB (issue 19). The test fault 'store-open' holds or fails that load.

const FAULTS = Symbol.for('duckcat.faults');

/** A closed catalog of `count` definitions; returns what it holds. */
async function seed(path: string, count: number): Promise<Map<string, unknown>> {
  const expected = new Map<string, unknown>();
  const cat = await Catalog.open(path);
  for (let i = 0; i < count; i++) {
    cat.defineSync(`seed${i}`, { i, pad: 'p'.repeat(i % 7) });
    expected.set(`seed${i}`, { i, pad: 'p'.repeat(i % 7) });
  }
  await cat.close();
  return expected;
}

describe('open before DuckDB is ready', () => {
  it('returns while DuckDB never becomes ready; writes made right after it survive kill -9 and two reopens', async () => {
    const path = tempCatalogPath();
    const expected = await seed(path, 50);
    // The child's store thread never finishes loading DuckDB's API: its open and its
    // acknowledged writes can only have come from the journal.
    const child = spawnFixture('write-before-duckdb.mjs', [path, '20']);
    await waitForLine(child, /^acked 20$/);
    child.kill('SIGKILL');
    await once(child, 'close');
    for (let i = 0; i < 20; i++) expected.set(`early${i}`, { written: 'before DuckDB was ready', i });

    for (let round = 0; round < 2; round++) {
      const cat = await Catalog.open(path);
      if (round === 0) expect(cat.recovery?.kind).toBe('rolled-forward');
      else expect(cat.recovery).toBeUndefined();
      expect(sorted(entryMap(cat.entries()))).toEqual(sorted(expected));
      await cat.close();
    }
    expect(sorted((await readDuckdbFile(path)).rows)).toEqual(sorted(expected));
  });

  it('a DuckDB failure after open returned fails later calls with its typed error; acknowledged writes stay', async () => {
    const path = tempCatalogPath();
    const expected = await seed(path, 10);
    const options = { [FAULTS]: { afterWrites: 0, action: 'throw', at: 'store-open' } } as CatalogOptions;
    const cat = await Catalog.open(path, options);
    expect(sorted(entryMap(cat.entries()))).toEqual(sorted(expected));
    // Writes go on from the journal until the writer hears of the failure; then every call
    // fails with DuckDB's error (no hang, no unhandled rejection).
    let failure: unknown;
    let inFlight: string | undefined;
    for (let i = 0; i < 100_000 && failure === undefined; i++) {
      inFlight = `after${i}`;
      try {
        cat.defineSync(inFlight, { i });
        expected.set(inFlight, { i });
      } catch (error) {
        failure = error;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(failure).toBeInstanceOf(CatalogError);
    expect(failure).toMatchObject({ code: 'ERR_CATALOG_STORAGE', message: expect.stringMatching(/@duckdb\/node-api/) });
    await expect(cat.stats()).rejects.toMatchObject({ code: 'ERR_CATALOG_STORAGE' });
    await expect(cat.define('later', {})).rejects.toMatchObject({ code: 'ERR_CATALOG_STORAGE' });
    await cat.close();

    // Every acknowledged write is there; the call the failure answered may or may not be.
    for (let round = 0; round < 2; round++) {
      const reopened = await Catalog.open(path);
      const entries = entryMap(reopened.entries());
      entries.delete(inFlight!);
      expect(sorted(entries)).toEqual(sorted(expected));
      await reopened.close();
    }
  });
});
