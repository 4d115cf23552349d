import { join } from 'node:path';
import type { Catalog } from 'duckcat';
import { definitionFor, nameFor } from '../payload.js';
import type { WriteTarget } from '../write-target.js';

/**
 * Loads the library on first use rather than at import, so that while it does not build
 * only the duckcat rows fail and every peer still runs.
 */
/** How writes are made durable: the default (journal-first), DuckDB too, or DuckDB alone. */
export type DurabilityMode = 'journal' | 'duckdb' | 'no journal';

async function openCatalog(dir: string, mode: DurabilityMode = 'journal'): Promise<Catalog> {
  const { Catalog: CatalogClass } = await import('duckcat');
  const options = mode === 'journal' ? {} : mode === 'duckdb' ? { commit: 'duckdb' as const } : { journal: false };
  return CatalogClass.open(join(dir, 'catalog.duckdb'), options);
}

const SYNC_LABELS: Record<DurabilityMode, string> = {
  journal: 'duckcat defineSync',
  duckdb: "duckcat defineSync (commit: 'duckdb')",
  'no journal': 'duckcat defineSync (no journal)',
};

/**
 * duckcat `defineSync` from one caller: the main thread blocks until the write is durable —
 * in the journal (the default), in the journal and DuckDB (`commit: 'duckdb'`), or in DuckDB
 * alone (`journal: false`).
 */
export function duckcatDefineSync(mode: DurabilityMode = 'journal'): WriteTarget {
  let catalog: Catalog | undefined;
  return {
    label: SYNC_LABELS[mode],
    durable: true,
    concurrency: 1,
    async setup(dir) {
      catalog = await openCatalog(dir, mode);
    },
    writeOne(i) {
      if (catalog === undefined) throw new Error('duckcat: writeOne before setup');
      catalog.defineSync(nameFor(i), definitionFor(i));
    },
    async teardown() {
      await catalog?.close();
      catalog = undefined;
    },
  };
}

/**
 * duckcat `define` from `callers` concurrent async callers, each awaiting its own define
 * before the next: the shape of a server handling that many requests at once.
 */
export function duckcatDefine(callers: number): WriteTarget {
  let catalog: Catalog | undefined;
  return {
    label: `duckcat define x${callers}`,
    durable: true,
    concurrency: callers,
    async setup(dir) {
      catalog = await openCatalog(dir);
    },
    writeOne(i) {
      if (catalog === undefined) throw new Error('duckcat: writeOne before setup');
      return catalog.define(nameFor(i), definitionFor(i));
    },
    async teardown() {
      await catalog?.close();
      catalog = undefined;
    },
  };
}
