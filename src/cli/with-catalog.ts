import type { CatalogView } from '../main/catalog-view.js';
import { openTarget, type Target } from './open-target.js';

/**
 * Opens (or connects to) the catalog, runs `work` and always closes it again: an owner's
 * close checkpoints DuckDB and releases the file before the process exits.
 */
export async function withCatalog<T>(path: string, readOnly: boolean, work: (catalog: CatalogView, target: Target) => Promise<T>): Promise<T> {
  const target = await openTarget(path, { readOnly });
  try {
    return await work(target.catalog, target);
  } finally {
    await target.catalog.close();
  }
}
