import type { CatalogView } from '../main/catalog-view.js';
import { openTarget, type OpenMode, type Target } from './open-target.js';

/**
 * Opens (or connects to) the catalog, runs `work` and always closes it again: an owner's
 * close checkpoints DuckDB and releases the file before the process exits.
 */
/** Read-only commands: never write, never create. */
export const READ: OpenMode = { readOnly: true, create: false };
/** Writes that may create the catalog (define, replace, import). */
export const WRITE: OpenMode = { readOnly: false, create: true };
/** Writes that need an existing catalog (drop) and watch. */
export const EXISTING: OpenMode = { readOnly: false, create: false };

export async function withCatalog<T>(path: string, mode: OpenMode, work: (catalog: CatalogView, target: Target) => Promise<T>): Promise<T> {
  const target = await openTarget(path, mode);
  try {
    return await work(target.catalog, target);
  } finally {
    await target.catalog.close();
  }
}
