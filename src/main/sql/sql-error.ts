import { CatalogError, ErrorCode, type CatalogErrorCode } from '../../shared/errors.js';
import { fromWireError } from '../../shared/wire-error.js';

const CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));
const CODED = /\b(ERR_CATALOG_[A-Z_]+): ([^\n]*)/;
/** How EXISTS and NOT_FOUND messages name their definition (see errors.ts). */
const NAMED = /^definition "(.*)" (?:already exists|does not exist)$/;
/** How a CONFLICT message names its definition and versions (see CatalogConflictError). */
const CONFLICTED = /^definition "(.*)" is at version (\d+), not the expected version (\d+)$/;

/**
 * The message a SQL function reports for `error`: `ERR_CATALOG_<X>: <message>` for
 * duckcat errors, so the code survives DuckDB turning it into a plain query error.
 */
export function sqlErrorMessage(error: unknown): string {
  if (error instanceof CatalogError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Recovers the duckcat error behind a DuckDB query error raised by one of the semantic
 * view SQL functions. DuckDB puts its own error class in front of the message
 * (`Invalid Input Error: ERR_CATALOG_EXISTS: ...`, `Binder Error: ...`); this finds the
 * code after it.
 * @param error What `connection.run(...)` rejected with.
 * @returns The {@link CatalogError} subclass of that `code` (the same class the API throws,
 *   so `instanceof` holds; the DuckDB error as `cause`), or undefined when the error did
 *   not come from duckcat.
 */
export function catalogErrorFromSql(error: unknown): CatalogError | undefined {
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : undefined;
  const match = message === undefined ? null : CODED.exec(message);
  if (match === null || !CODES.has(match[1]!)) return undefined;
  const text = match[2]!;
  const conflict = match[1] === ErrorCode.CONFLICT ? CONFLICTED.exec(text) : null;
  const versions = conflict === null ? {} : { currentVersion: Number(conflict[2]), expectedVersion: Number(conflict[3]) };
  const definitionName = conflict?.[1] ?? NAMED.exec(text)?.[1];
  const field = match[1] === ErrorCode.INVALID ? /^invalid ([^:]*): /.exec(text)?.[1] : undefined;
  const rebuilt = fromWireError({
    code: match[1] as CatalogErrorCode,
    message: text,
    ...(definitionName === undefined ? {} : { definitionName }),
    ...(field === undefined ? {} : { field }),
    ...versions,
  });
  Object.defineProperty(rebuilt, 'cause', { value: error, writable: true, configurable: true, enumerable: false });
  return rebuilt;
}
