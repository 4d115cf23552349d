import { Catalog, CatalogError } from 'duckcat';
import { describe, expect, it } from 'vitest';
import { createCheckedTable } from './helpers/checked-table.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

describe("a group commit with one row DuckDB refuses (commit: 'duckdb')", () => {
  it('still commits the other ops and gives each op its own answer', async () => {
    const path = tempCatalogPath();
    await createCheckedTable(path);

    const cat = await Catalog.open(path, { commit: 'duckdb' });
    cat.defineSync('keep', 0);
    // Issued in one tick, so they reach the writer together and form one batch.
    const outcomes = await Promise.allSettled([
      cat.define('a', 1),
      cat.define('much-too-long-name', 2),
      cat.replace('keep', 3),
      cat.define('b', 4),
    ]);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : (o.reason as CatalogError).code))).toEqual([
      'ok',
      'ERR_CATALOG_STORAGE',
      'ok',
      'ok',
    ]);
    expect(cat.entries()).toEqual([['a', 1], ['b', 4], ['keep', 3]]);
    const stats = await cat.stats();
    // Failed: the batch of four, then the bad op's own replay. Each op counts once, in its replay.
    expect(stats.failedBatches).toBe(2);
    expect(stats.ops).toBe(5);
    await cat.close();
    const reopened = await Catalog.open(path, { commit: 'duckdb' });
    expect(reopened.entries()).toEqual([['a', 1], ['b', 4], ['keep', 3]]);
    await reopened.close();
  });
});

describe("a row DuckDB refuses after the journal acknowledged it (commit: 'journal')", () => {
  it('stops the catalog loudly instead of letting DuckDB fall silently behind', async () => {
    const path = tempCatalogPath();
    await createCheckedTable(path);
    const cat = await Catalog.open(path);
    cat.defineSync('keep', 0);
    // Acknowledged from the journal; DuckDB's CHECK refuses it when the store thread applies it.
    cat.defineSync('much-too-long-name', 1);
    await expect(cat.checkpoint()).rejects.toMatchObject({ code: 'ERR_CATALOG_WRITER_EXITED' });
    expect(() => cat.defineSync('later', 2)).toThrow(expect.objectContaining({ code: 'ERR_CATALOG_WRITER_EXITED' }));
    // The acknowledged write is still in the map and in the journal.
    expect(cat.get('much-too-long-name')).toBe(1);
    await cat.close().catch(() => undefined);
  });
});
