import { ErrorCode, type CatalogErrorCode } from '../shared/errors.js';

/**
 * The CLI's exit codes: stable, documented in `duckcat --help`. One per ERR_CATALOG_* code,
 * so a script can branch on `$?` the way library users branch on `err.code`.
 */
export const ExitCode = {
  OK: 0,
  /** Bad command line: unknown command or option, missing argument. */
  USAGE: 1,
  /** `check` found damage or a disagreement (nothing was changed). */
  CHECK_FAILED: 2,
  EXISTS: 10,
  NOT_FOUND: 11,
  INVALID: 12,
  CLOSED: 13,
  WRITER_EXITED: 14,
  TIMEOUT: 15,
  LOCKED: 16,
  READ_ONLY: 17,
  STORAGE: 18,
  CORRUPT: 19,
  CONFLICT: 20,
  /** Anything that is not a CatalogError (a bug, or a file the CLI could not read or write). */
  INTERNAL: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const BY_ERROR_CODE: Readonly<Record<CatalogErrorCode, ExitCode>> = {
  [ErrorCode.EXISTS]: ExitCode.EXISTS,
  [ErrorCode.NOT_FOUND]: ExitCode.NOT_FOUND,
  [ErrorCode.INVALID]: ExitCode.INVALID,
  [ErrorCode.CLOSED]: ExitCode.CLOSED,
  [ErrorCode.WRITER_EXITED]: ExitCode.WRITER_EXITED,
  [ErrorCode.TIMEOUT]: ExitCode.TIMEOUT,
  [ErrorCode.LOCKED]: ExitCode.LOCKED,
  [ErrorCode.READ_ONLY]: ExitCode.READ_ONLY,
  [ErrorCode.STORAGE]: ExitCode.STORAGE,
  [ErrorCode.CORRUPT]: ExitCode.CORRUPT,
  [ErrorCode.CONFLICT]: ExitCode.CONFLICT,
};

/** The exit code for an error code; INTERNAL for anything unknown. */
export function exitCodeFor(code: unknown): ExitCode {
  return typeof code === 'string' && Object.hasOwn(BY_ERROR_CODE, code) ? BY_ERROR_CODE[code as CatalogErrorCode] : ExitCode.INTERNAL;
}

/** The table printed by `duckcat --help`. */
export function exitCodeTable(): string {
  const rows: Array<[number, string]> = [
    [ExitCode.OK, 'success'],
    [ExitCode.USAGE, 'usage error (unknown command or option, missing argument)'],
    [ExitCode.CHECK_FAILED, 'check found damage or a disagreement'],
    ...Object.entries(BY_ERROR_CODE).map(([code, exit]): [number, string] => [exit, code]),
    [ExitCode.INTERNAL, 'any other failure (an unreadable input file, a bug)'],
  ];
  return rows.map(([exit, what]) => `  ${String(exit).padStart(3)}  ${what}`).join('\n');
}
