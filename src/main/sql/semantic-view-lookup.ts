import { CatalogInvalidError, CatalogNotFoundError, preview } from '../../shared/errors.js';
import { isSemanticViewEntry, validateSemanticView, type SemanticView } from '../../shared/semantic-view.js';
import type { CatalogAccess } from './catalog-access.js';

/**
 * The semantic view stored under `name`, validated again: the core API can store any
 * JSON under a name, so a stored entry is not trusted to be a well-formed view.
 * @throws {CatalogNotFoundError} when nothing is stored under `name`.
 * @throws {CatalogInvalidError} when the entry is not a (valid) semantic view.
 * @throws {CatalogClosedError} after close.
 */
export function lookupSemanticView(catalog: CatalogAccess, name: unknown): SemanticView {
  if (typeof name !== 'string') throw new CatalogInvalidError('name', `must be a semantic view name, got ${name === null ? 'NULL' : typeof name}`);
  const stored = catalog.get(name);
  if (stored === undefined) throw new CatalogNotFoundError(name);
  if (!isSemanticViewEntry(stored)) throw notASemanticView(name);
  return validateSemanticView(stored);
}

/** A definition exists under `name` but it is of another kind. */
export function notASemanticView(name: string): CatalogInvalidError {
  return new CatalogInvalidError('name', `definition "${preview(name)}" is not a semantic view (no "kind": "semantic_view")`);
}
