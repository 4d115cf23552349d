export { Catalog } from './catalog.js';
export type { CatalogOptions } from '../shared/options.js';
export { DEFAULT_OPTIONS } from '../shared/options.js';
export type { JsonValue, ReadonlyJson } from './frozen-json.js';
export type { RecoveryReport } from '../shared/protocol.js';
export {
  CatalogError,
  CatalogExistsError,
  CatalogNotFoundError,
  CatalogInvalidError,
  CatalogClosedError,
  CatalogWriterExitedError,
  CatalogTimeoutError,
  CatalogLockedError,
  CatalogReadOnlyError,
  CatalogStorageError,
  ErrorCode,
} from '../shared/errors.js';
export type { CatalogErrorCode } from '../shared/errors.js';
