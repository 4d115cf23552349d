import { CatalogInvalidError } from './errors.js';

/** Options of `replace`/`replaceSync` and `drop`/`dropSync`. */
export interface WriteOptions {
  /**
   * Optimistic concurrency: commit only if the definition is at this version now, as
   * `version(name)` read it; otherwise refuse with ERR_CATALOG_CONFLICT (carrying the
   * current version) and change nothing. A name that is not defined is at version 0, so
   * it always conflicts. A positive safe integer.
   * @default undefined (no check)
   */
  readonly ifVersion?: number;
}

/**
 * Checks a caller's `ifVersion`: a positive safe integer (versions start at 1).
 * @throws {CatalogInvalidError} named `field`.
 */
export function validateIfVersion(value: unknown, field: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new CatalogInvalidError(field, `must be a positive safe integer, got ${typeof value === 'number' ? String(value) : typeof value}`);
  }
}

/**
 * The `ifVersion` of a write's options, checked: undefined when the caller gave no options
 * or no `ifVersion` (the common case costs one comparison, no allocation).
 * @throws {CatalogInvalidError} field `options` (not an object), `options.<key>` (unknown
 *   option) or `options.ifVersion` (not a positive safe integer).
 */
export function readIfVersion(options: unknown): number | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new CatalogInvalidError('options', 'must be an object');
  for (const key of Object.keys(options)) {
    if (key !== 'ifVersion') throw new CatalogInvalidError(`options.${key}`, 'unknown option');
  }
  const ifVersion = (options as WriteOptions).ifVersion;
  if (ifVersion !== undefined) validateIfVersion(ifVersion, 'options.ifVersion');
  return ifVersion;
}
