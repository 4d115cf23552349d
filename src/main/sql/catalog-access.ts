import type { CommitPoint } from '../../shared/options.js';
import type { ReadonlyJson } from '../frozen-json.js';

/**
 * The part of a catalog handle ({@link CatalogView}: the owner, a client thread, a remote
 * process) the SQL layer uses. A structural type, so these modules
 * need no runtime import of the class (which imports them).
 */
export interface CatalogAccess {
  readonly path: string;
  readonly persistent: boolean;
  /**
   * When writes are acknowledged: only `'duckdb'` needs a libuv pool thread to commit
   * (`'postgres'`: the writer thread's sockets run on its own event loop).
   */
  readonly commit: CommitPoint;
  /** The writer runs in another process (a RemoteCatalog): its commits need none of this process's pool threads. */
  readonly remote: boolean;
  readonly closed: boolean;
  get(name: string): ReadonlyJson | undefined;
  has(name: string): boolean;
  entries(): Array<[string, ReadonlyJson]>;
  defineSync(name: string, definition: unknown): void;
  replaceSync(name: string, definition: unknown): void;
  dropSync(name: string): void;
}
