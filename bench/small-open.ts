import { join } from 'node:path';
import { definitionFor, nameFor } from './payload.js';

/**
 * Open of a small catalog: what a service pays at startup when the catalog holds a few
 * views, where the fixed costs (worker start, loading DuckDB, the journal scan) are all
 * there is. The target is 60 ms.
 */
export interface SmallOpenResult {
  entries: number;
  /** Time of each `Catalog.open` until it resolved with the full map, in run order. */
  runsMs: number[];
  runsMsMedian: number;
  /** `cat.size` right after the last open resolved. */
  sizeAfterOpen: number;
}

const TARGET_ENTRIES = 100;
// Odd, so the median is one real run, and enough that one slow open does not own it.
const OPENS = 7;

/** Seeds a catalog file of its own under `dir`, closes it, then times fresh opens of it. */
export async function measureSmallOpen(dir: string, entries = TARGET_ENTRIES, opens = OPENS): Promise<SmallOpenResult> {
  const { Catalog } = await import('duckcat');
  const path = join(dir, 'small.duckdb');
  const seeding = await Catalog.open(path);
  await Promise.all(Array.from({ length: entries }, (_, i) => seeding.define(nameFor(i), definitionFor(i))));
  await seeding.close();

  const runsMs: number[] = [];
  let sizeAfterOpen = 0;
  for (let k = 0; k < opens; k++) {
    globalThis.gc?.();
    const t0 = performance.now();
    const catalog = await Catalog.open(path);
    runsMs.push(performance.now() - t0);
    sizeAfterOpen = catalog.size;
    await catalog.close();
  }
  const sorted = [...runsMs].sort((a, b) => a - b);
  return { entries, runsMs, runsMsMedian: sorted[sorted.length >> 1] ?? Number.NaN, sizeAfterOpen };
}
