import { Catalog, CatalogError } from 'duckcat';
import { describe, expect, it } from 'vitest';
import { createCheckedTable } from './helpers/checked-table.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

describe('a group commit with one row DuckDB refuses', () => {
  it('still commits the other ops and gives each op its own answer', async () => {
    const path = tempCatalogPath();
    await createCheckedTable(path);

    const cat = await Catalog.open(path);
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
    expect(stats.failedBatches).toBeGreaterThanOrEqual(1);
    await cat.close();
    const reopened = await Catalog.open(path);
    expect(reopened.entries()).toEqual([['a', 1], ['b', 4], ['keep', 3]]);
    await reopened.close();
  });
});
