import { Catalog } from 'duckcat';
import { describe, expect, it } from 'vitest';
import { runFixture } from './helpers/child.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

describe('process.exit() while Catalog.open is in flight', () => {
  it('ends the process with its own exit code, never an abort, and leaves a catalog that opens', { timeout: 120_000 }, async () => {
    const path = tempCatalogPath();
    const seed = await Catalog.open(path);
    for (let i = 0; i < 500; i++) seed.defineSync(`v${i}`, { i });
    await seed.close();
    // Delays spread over the whole open: thread start, loading DuckDB, opening the file, reading rows.
    const delays = [0, 5, 15, 30, 50, 80, 110, 140, 170, 200, 250, 320];
    for (const delay of delays) {
      const result = await runFixture('exit-during-open.mjs', [path, String(delay)], 30_000);
      expect({ delay, code: result.code, signal: result.signal }).toEqual({ delay, code: 0, signal: null });
      expect(result.stderr).not.toMatch(/terminate called|Aborted|FATAL/);
    }
    const reopened = await Catalog.open(path);
    expect(reopened.size).toBe(500);
    await reopened.close();
  });
});
