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
    // Exact counts, so a replay counted twice shows. Batches: 'keep', the refused batch of
    // four, and its four one-op replays. Failed: the batch of four and the bad op's replay.
    // Each op counts once, in its replay: 'keep' plus the four.
    const stats = await cat.stats();
    expect({
      batches: stats.batches,
      commits: stats.commits,
      failedBatches: stats.failedBatches,
      ops: stats.ops,
      refusedOps: stats.refusedOps,
      rejectedRequests: stats.rejectedRequests,
    }).toEqual({ batches: 6, commits: 4, failedBatches: 2, ops: 5, refusedOps: 0, rejectedRequests: 0 });
    expect(stats.meanBatchSize).toBeCloseTo(5 / 6);
    await cat.close();
    const reopened = await Catalog.open(path, { commit: 'duckdb' });
    expect(reopened.entries()).toEqual([['a', 1], ['b', 4], ['keep', 3]]);
    await reopened.close();
  });
});

describe("stats of a refused batch (commit: 'duckdb')", () => {
  // The refused batch counts 0 ops (the replays count them) but its real size.
  it('reports the refused batch of four as the largest batch', async () => {
    const path = tempCatalogPath();
    await createCheckedTable(path);
    const cat = await Catalog.open(path, { commit: 'duckdb' });
    try {
      await Promise.allSettled([cat.define('a', 1), cat.define('much-too-long-name', 2), cat.define('b', 3), cat.define('c', 4)]);
      const stats = await cat.stats();
      expect(stats.failedBatches).toBe(2);
      expect(stats.largestBatch).toBe(4);
    } finally {
      await cat.close();
    }
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
