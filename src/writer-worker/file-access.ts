import { accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import { CatalogStorageError } from '../shared/errors.js';
import { existingJournalFiles } from './journal-files.js';

const PERMISSION_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

/** An operating-system refusal for lack of permission (or a read-only file system): never damage. */
export function isPermissionCode(error: unknown): boolean {
  return PERMISSION_CODES.has((error as NodeJS.ErrnoException | undefined)?.code ?? '');
}

/**
 * Checks, before anything is opened, created or renamed, that this process may do what
 * the open needs: read (and, unless read-only, write) the catalog file, its WAL and every
 * journal file, and create files in their directory. A file it may not touch is a
 * permission problem to report, not damage to rename aside and rebuild.
 * @throws {CatalogStorageError} naming the file and the permission missing.
 */
export function assertAccess(path: string, readOnly: boolean): void {
  if (path === ':memory:') return;
  const directory = dirname(path);
  const needed = readOnly ? constants.R_OK : constants.R_OK | constants.W_OK;
  check(directory, readOnly ? constants.X_OK : constants.W_OK | constants.X_OK, readOnly ? 'search' : 'create files in');
  for (const file of [path, `${path}.wal`, ...existingJournalFiles(path)]) {
    check(file, needed, readOnly ? 'read' : 'read and write');
  }
}

function check(file: string, mode: number, what: string): void {
  try {
    accessSync(file, mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (!isPermissionCode(error)) throw error;
    const why = code === 'EROFS' ? 'the file system is read-only' : 'permission denied';
    throw new CatalogStorageError(
      `cannot open catalog: this process may not ${what} ${file} (${why}, ${code}). A permission problem is not damage: nothing was renamed, created or rebuilt; fix the owner or mode, or open with readOnly: true`,
      { cause: error },
    );
  }
}
