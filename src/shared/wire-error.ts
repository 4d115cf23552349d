import {
  CatalogClosedError,
  CatalogConflictError,
  CatalogCorruptError,
  CatalogError,
  CatalogExistsError,
  CatalogInvalidError,
  CatalogLockedError,
  CatalogNotFoundError,
  CatalogReadOnlyError,
  CatalogStorageError,
  CatalogTimeoutError,
  CatalogWriterExitedError,
  ErrorCode,
  type CatalogErrorCode,
} from './errors.js';
import type { WireError } from './protocol.js';

/** Flattens an error for postMessage; anything that is not a CatalogError becomes ERR_CATALOG_STORAGE. */
export function toWireError(error: unknown, fallback: CatalogErrorCode = ErrorCode.STORAGE): WireError {
  if (error instanceof CatalogError) {
    const extra = error as CatalogError & { pid?: number; field?: string; definitionName?: string; expectedVersion?: number; currentVersion?: number };
    return {
      code: error.code,
      message: error.message,
      ...(extra.pid === undefined ? {} : { pid: extra.pid }),
      ...(extra.field === undefined ? {} : { field: extra.field }),
      ...(extra.definitionName === undefined ? {} : { definitionName: extra.definitionName }),
      ...(extra.expectedVersion === undefined ? {} : { expectedVersion: extra.expectedVersion, currentVersion: extra.currentVersion ?? 0 }),
      ...(error.cause === undefined ? {} : { cause: describeCause(error.cause) }),
    };
  }
  const cause = describeCause(error);
  return { code: fallback, message: cause.message, cause };
}

function describeCause(error: unknown): { name: string; message: string; stack?: string } {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, ...(error.stack === undefined ? {} : { stack: error.stack }) };
  }
  return { name: 'Error', message: String(error) };
}

/**
 * Rebuilds the matching CatalogError subclass on the receiving side: every code has its
 * class, so `instanceof` and `name` hold across threads, processes and SQL.
 */
export function fromWireError(wire: WireError, path = ''): CatalogError {
  const cause = wire.cause === undefined ? undefined : Object.assign(new Error(wire.cause.message), wire.cause);
  const options = cause === undefined ? undefined : { cause };
  switch (wire.code) {
    case ErrorCode.EXISTS:
      return new CatalogExistsError(wire.definitionName ?? '');
    case ErrorCode.NOT_FOUND:
      return new CatalogNotFoundError(wire.definitionName ?? '');
    case ErrorCode.CONFLICT:
      return new CatalogConflictError(wire.definitionName ?? '', wire.expectedVersion ?? 0, wire.currentVersion ?? 0);
    case ErrorCode.CLOSED:
      return new CatalogClosedError(wire.message);
    case ErrorCode.TIMEOUT:
      return new CatalogTimeoutError(wire.message);
    case ErrorCode.READ_ONLY:
      return new CatalogReadOnlyError(wire.message);
    case ErrorCode.INVALID:
      return new CatalogInvalidError(wire.field ?? 'input', wire.message.replace(/^invalid [^:]*: /, ''));
    case ErrorCode.LOCKED:
      return new CatalogLockedError(path, wire.pid, wire.message, options);
    case ErrorCode.WRITER_EXITED:
      return new CatalogWriterExitedError(wire.message, options);
    case ErrorCode.STORAGE:
      return new CatalogStorageError(wire.message, options);
    case ErrorCode.CORRUPT:
      return new CatalogCorruptError(wire.message, options);
    default:
      return new CatalogError(wire.code, wire.message, options);
  }
}
