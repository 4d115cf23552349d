/**
 * Every error duckcat throws is a {@link CatalogError} with a stable, literal `code`.
 * Match on `err.code`, not on the message text or the class.
 */

export const ErrorCode = {
  EXISTS: 'ERR_CATALOG_EXISTS',
  NOT_FOUND: 'ERR_CATALOG_NOT_FOUND',
  INVALID: 'ERR_CATALOG_INVALID',
  CLOSED: 'ERR_CATALOG_CLOSED',
  WRITER_EXITED: 'ERR_CATALOG_WRITER_EXITED',
  TIMEOUT: 'ERR_CATALOG_TIMEOUT',
  LOCKED: 'ERR_CATALOG_LOCKED',
  READ_ONLY: 'ERR_CATALOG_READ_ONLY',
  STORAGE: 'ERR_CATALOG_STORAGE',
  CORRUPT: 'ERR_CATALOG_CORRUPT',
  CONFLICT: 'ERR_CATALOG_CONFLICT',
} as const;

export type CatalogErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

// A brand shared by every copy of the package loaded in this realm, so `instanceof`
// keeps working when two copies of duckcat end up in one node_modules tree.
const kBrand = Symbol.for('duckcat.error');

/** Base class of all duckcat errors. */
export class CatalogError extends Error {
  readonly code: CatalogErrorCode;

  constructor(code: CatalogErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, kBrand, { value: code });
  }

  static override [Symbol.hasInstance](instance: unknown): boolean {
    if (this !== CatalogError) return Function.prototype[Symbol.hasInstance].call(this, instance);
    return typeof instance === 'object' && instance !== null && kBrand in instance;
  }
}
Object.defineProperty(CatalogError.prototype, 'name', { value: 'CatalogError', configurable: true });

/** `define` of a name that is already in the catalog. */
export class CatalogExistsError extends CatalogError {
  declare readonly code: 'ERR_CATALOG_EXISTS';
  readonly definitionName: string;
  constructor(definitionName: string) {
    super(ErrorCode.EXISTS, `definition "${preview(definitionName)}" already exists`);
    this.definitionName = definitionName;
  }
}

/** `drop` of a name that is not in the catalog. */
export class CatalogNotFoundError extends CatalogError {
  declare readonly code: 'ERR_CATALOG_NOT_FOUND';
  readonly definitionName: string;
  /** @param message replaces the default `definition "<name>" does not exist` text. */
  constructor(definitionName: string, message?: string) {
    super(ErrorCode.NOT_FOUND, message ?? `definition "${preview(definitionName)}" does not exist`);
    this.definitionName = definitionName;
  }
}

/**
 * A `replace` or `drop` with `ifVersion` found the definition at another version: another
 * writer changed (or dropped, or never defined) it since the caller read `expectedVersion`.
 * Nothing changed. `currentVersion` is the version the writer holds (0: the name is absent).
 */
export class CatalogConflictError extends CatalogError {
  declare readonly code: 'ERR_CATALOG_CONFLICT';
  readonly definitionName: string;
  readonly expectedVersion: number;
  readonly currentVersion: number;
  constructor(definitionName: string, expectedVersion: number, currentVersion: number) {
    super(
      ErrorCode.CONFLICT,
      `definition "${preview(definitionName)}" is at version ${currentVersion}, not the expected version ${expectedVersion}`,
    );
    this.definitionName = definitionName;
    this.expectedVersion = expectedVersion;
    this.currentVersion = currentVersion;
  }
}

/** A bad name, definition or option. `field` says which input was refused. */
export class CatalogInvalidError extends CatalogError {
  declare readonly code: 'ERR_CATALOG_INVALID';
  readonly field: string;
  /** @param options.message replaces the default `invalid <field>: <reason>` text. */
  constructor(field: string, reason: string, options?: { readonly cause?: unknown; readonly message?: string }) {
    super(ErrorCode.INVALID, options?.message ?? `invalid ${field}: ${reason}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.field = field;
  }
}

/** The catalog was closed; no further calls are accepted. */
export class CatalogClosedError extends CatalogError {
  declare readonly code: 'ERR_CATALOG_CLOSED';
  constructor(message = 'the catalog is closed') {
    super(ErrorCode.CLOSED, message);
  }
}

/** The writer worker died (threw, exited, was terminated). The catalog accepts no more writes. */
export class CatalogWriterExitedError extends CatalogError {
  declare readonly code: 'ERR_CATALOG_WRITER_EXITED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.WRITER_EXITED, message, options);
  }
}

/** The writer did not answer within the deadline. The outcome of the pending write is unknown until reopen. */
export class CatalogTimeoutError extends CatalogError {
  declare readonly code: 'ERR_CATALOG_TIMEOUT';
  constructor(message: string) {
    super(ErrorCode.TIMEOUT, message);
  }
}

/** Who holds a locked catalog file, when duckcat can tell. */
export interface LockHolder {
  readonly pid: number;
  /** True when the holder has the file open `readOnly`: it serves no other process, so `Catalog.connect` cannot reach a writer. */
  readonly readOnly: boolean;
}

/**
 * The catalog file is held by another owner. `pid` is that owner's process id when known;
 * `holder` says more when known (from `Catalog.connect`: a process holding it read-only).
 */
export class CatalogLockedError extends CatalogError {
  declare readonly code: 'ERR_CATALOG_LOCKED';
  readonly path: string;
  readonly pid: number | undefined;
  readonly holder: LockHolder | undefined;
  constructor(path: string, pid: number | undefined, message?: string, options?: { cause?: unknown; holder?: LockHolder }) {
    const { holder, ...errorOptions } = options ?? {};
    super(
      ErrorCode.LOCKED,
      message ?? `catalog file ${path} is locked by another process${pid === undefined ? '' : ` (PID ${pid})`}`,
      errorOptions,
    );
    this.path = path;
    this.pid = pid;
    this.holder = holder;
  }
}

/** A write was attempted on a catalog opened with `readOnly: true`. */
export class CatalogReadOnlyError extends CatalogError {
  declare readonly code: 'ERR_CATALOG_READ_ONLY';
  constructor(message = 'the catalog was opened read-only') {
    super(ErrorCode.READ_ONLY, message);
  }
}

/** DuckDB (or the file system under it) failed. The original error is `cause`. */
export class CatalogStorageError extends CatalogError {
  declare readonly code: 'ERR_CATALOG_STORAGE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.STORAGE, message, options);
  }
}

/**
 * Acknowledged writes cannot be read back: the journal is damaged where DuckDB's file does
 * not hold the same writes (or the file is gone too). Nothing was changed; the message
 * says which records are unreadable.
 */
export class CatalogCorruptError extends CatalogError {
  declare readonly code: 'ERR_CATALOG_CORRUPT';
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.CORRUPT, message, options);
  }
}

for (const ctor of [
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
]) {
  Object.defineProperty(ctor.prototype, 'name', { value: ctor.name, configurable: true });
}

/** Keeps error messages readable when a name is huge or full of control characters. */
export function preview(text: string, max = 80): string {
  const clean = JSON.stringify(text).slice(1, -1);
  return clean.length > max ? `${clean.slice(0, max)}…(${text.length} chars)` : clean;
}
