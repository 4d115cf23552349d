import { join } from 'node:path';
import type { Catalog } from 'duckcat';
import { definitionFor, nameFor } from '../payload.js';
import type { WriteTarget } from '../write-target.js';

/**
 * Loads the library on first use rather than at import, so that while it does not build
 * only the duckcat rows fail and every peer still runs.
 */
async function openCatalog(dir: string, journal = true): Promise<Catalog> {
  const { Catalog: CatalogClass } = await import('duckcat');
  return CatalogClass.open(join(dir, 'catalog.duckdb'), { journal });
}

/**
 * duckcat `defineSync` from one caller: the main thread blocks until the row is committed.
 * With `journal` false it shows what the recovery journal costs per write.
 */
export function duckcatDefineSync(journal = true): WriteTarget {
  let catalog: Catalog | undefined;
  return {
    label: journal ? 'duckcat defineSync' : 'duckcat defineSync (no journal)',
    durable: true,
    concurrency: 1,
    async setup(dir) {
      catalog = await openCatalog(dir, journal);
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
