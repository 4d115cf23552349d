import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { Catalog } from '../main/catalog.js';
import type { CatalogView } from '../main/catalog-view.js';
import { CatalogError, ErrorCode } from '../shared/errors.js';
import { isPostgresUrl } from '../shared/pg-options.js';

/** How the CLI reached the catalog: as its owner, or through the owner's socket. */
export type Access = 'opened' | 'connected';

export interface Target {
  readonly catalog: CatalogView;
  readonly access: Access;
  readonly path: string;
}

export interface OpenMode {
  /** Open with `readOnly: true` (connect read-only when an owner holds the file). */
  readonly readOnly: boolean;
  /** Create the catalog when no file exists (define, replace, import); otherwise that is ERR_CATALOG_NOT_FOUND. */
  readonly create: boolean;
}

/** Open → LOCKED → connect races an owner that is starting or stopping: a few tries settle it. */
const ATTEMPTS = 5;
const RETRY_DELAY_MS = 100;

/**
 * Opens the catalog at `path`, or connects to the process that owns it (ERR_CATALOG_LOCKED
 * on open). Read-only commands open with `readOnly: true`, which also never creates the
 * file; a read-only open is refused while an owner holds the file, so they connect then.
 * @throws {CatalogError} ERR_CATALOG_NOT_FOUND when no catalog exists at `path` and `mode.create` is false.
 */
export async function openTarget(path: string, mode: OpenMode): Promise<Target> {
  if (isPostgresUrl(path)) {
    // Every process is a peer of a PostgreSQL-backed catalog: nothing to connect to.
    const catalog = await Catalog.open(path, { readOnly: mode.readOnly });
    return { catalog, access: 'opened', path: catalog.path };
  }
  const absolute = resolvePath(path);
  let lastError: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
    if (!mode.create && !['', '.journal', '.snapshot', '.sock'].some((suffix) => existsSync(`${absolute}${suffix}`))) {
      throw new CatalogError(ErrorCode.NOT_FOUND, `no catalog at ${absolute}`);
    }
    try {
      const catalog = await Catalog.open(absolute, { readOnly: mode.readOnly });
      return { catalog, access: 'opened', path: absolute };
    } catch (error) {
      if (!isCode(error, ErrorCode.LOCKED)) throw error;
      lastError = error;
    }
    try {
      const catalog = await Catalog.connect(absolute, { readOnly: mode.readOnly });
      return { catalog, access: 'connected', path: absolute };
    } catch (error) {
      // The owner went away between the two calls (or has not opened its socket yet): try again.
      if (!isCode(error, ErrorCode.WRITER_EXITED)) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

function isCode(error: unknown, code: string): boolean {
  return error instanceof CatalogError && error.code === code;
}
