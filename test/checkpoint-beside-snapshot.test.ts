import { Catalog, type CatalogOptions } from 'duckcat';
import { describe, expect, it } from 'vitest';
import { readDuckdbFile } from './helpers/duckdb-file.js';
import { COMPACT_AFTER } from './helpers/reopen.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

// A compaction reads every row from DuckDB in a transaction of its own; DuckDB refuses a
// CHECKPOINT while another transaction is open ("Cannot CHECKPOINT: there are other write
// transactions active"). catalog.checkpoint() must wait for the read, not fail with it.

describe('catalog.checkpoint() while a compaction reads DuckDB', () => {
  it('succeeds every time, and the file then holds every write', async () => {
    const path = tempCatalogPath();
    // Compacting every ~64 KiB of journal keeps a snapshot read running most of the time.
    const catalog = await Catalog.open(path, { [COMPACT_AFTER]: 64 * 1024 } as CatalogOptions);
    const pad = 'p'.repeat(300);
    for (let i = 0; i < 30_000; i += 1_000) {
      await catalog.apply(Array.from({ length: 1_000 }, (_, k) => ({ op: 'define' as const, name: `v.${i + k}`, definition: { i: i + k, pad } })));
    }
    const failures: string[] = [];
    for (let round = 0; round < 40; round++) {
      for (let k = 0; k < 50; k++) catalog.replaceSync(`v.${(round * 50 + k) % 30_000}`, { round, k, pad });
      await catalog.checkpoint().catch((error: Error) => failures.push(error.message));
    }
    const expected = new Map(catalog.entries());
    await catalog.close();
    expect(failures).toEqual([]);
    expect((await readDuckdbFile(path)).rows.size).toBe(expected.size);
  }, 120_000);
});
