export { Catalog } from './catalog.js';
export { CatalogClient } from './catalog-client.js';
export { RemoteCatalog } from './remote/remote-catalog.js';
export type { CatalogEntry, CatalogOp, CatalogView, HandleState, WatchOptions } from './catalog-view.js';
export type { CatalogChange, CatalogDisconnect, CatalogEvents } from './change-events.js';
export type { CatalogOptions, CommitPoint, ConnectOptions } from '../shared/options.js';
export type { PgCatalogOptions, PgConnectionOptions } from '../shared/pg-options.js';
export type { WriteOptions } from '../shared/write-options.js';
export { DEFAULT_OPTIONS } from '../shared/options.js';
export type { JsonCompatible, JsonValue, ReadonlyJson } from './frozen-json.js';
export type { LagStats, RecoveryReport, WriterStats } from '../shared/protocol.js';
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
  CatalogCorruptError,
  CatalogConflictError,
  ErrorCode,
} from '../shared/errors.js';
export type { CatalogErrorCode, LockHolder } from '../shared/errors.js';
export {
  SEMANTIC_VIEW_KIND,
  Aggregation,
  JoinType,
  validateSemanticView,
  semanticView,
  parseSemanticView,
} from '../shared/semantic-view.js';
export type {
  SemanticView,
  SemanticViewInput,
  SemanticViewJoin,
  SemanticViewDimension,
  SemanticViewMetric,
} from '../shared/semantic-view.js';
export { semanticViewSql } from '../shared/semantic-view-sql.js';
export type { SemanticViewQuery, SemanticViewOrder } from '../shared/semantic-view-sql.js';
export { DEFAULT_ATTACH_OPTIONS } from './sql/attach.js';
export type { AttachOptions } from './sql/attach.js';
export { attachCatalog, hostCatalogPath, HOST_CATALOG_SUFFIX } from './sql/attach-catalog.js';
export type { AttachCatalogOptions } from './sql/attach-catalog.js';
export type { SemanticViewRow } from './sql/query.js';
export type { SemanticViewCheck, SemanticViewCheckItem } from './sql/check.js';
export { catalogErrorFromSql } from './sql/sql-error.js';
