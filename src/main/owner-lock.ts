import { realpathSync, renameSync, rmSync, unlinkSync, linkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CatalogLockedError, CatalogStorageError } from '../shared/errors.js';
import { isLive, isThisProcess, readHolder, writeOwnRecord, type Holder } from './process-identity.js';
import { addReaderMarker, liveReaders, removeReaderMarker } from './reader-markers.js';

/**
 * A `<file>.owner` file naming the pid that owns a catalog file. DuckDB's own lock keeps
 * other processes out, but not other threads or catalogs of this process: two DuckDB
 * instances on one file in one process open silently and lose rows at checkpoint. This
 * file closes that gap. It is taken before DuckDB opens the file and removed on close; one
 * left by a dead process is taken over.
 */
export class OwnerLock {
  // Read-only opens of this thread, by catalog path. Each path with readers here also has a
  // reader marker (reader-markers.ts), so a read-write open from any thread of this
  // process (a second DuckDB instance on the file) is refused.
  static readonly #readersHere = new Map<string, number>();
  readonly #lockPath: string;
  #held = true;
  #mayConfirm = true;
  #readerOf: string | undefined;

  private constructor(lockPath: string) {
    this.#lockPath = lockPath;
  }

  /**
   * @throws {CatalogLockedError} when this process already owns the file.
   */
  static acquire(givenPath: string, readOnly: boolean): OwnerLock {
    // Keyed by the real file: a symlink to an open catalog is the same catalog.
    const catalogPath = realCatalogPath(givenPath);
    const lockPath = `${catalogPath}.owner`;
    // Looking also clears the markers of read-only processes that died without closing.
    const readers = liveReaders(catalogPath);
    if (readOnly) {
      // Readers share a file with each other but never with a writer of this process.
      if (isThisProcess(readHolder(lockPath))) throw OwnerLock.#ownedHere(catalogPath);
      const reader = new OwnerLock(lockPath);
      reader.#held = false;
      reader.#mayConfirm = false;
      reader.#readerOf = catalogPath;
      const count = (OwnerLock.#readersHere.get(catalogPath) ?? 0) + 1;
      OwnerLock.#readersHere.set(catalogPath, count);
      if (count === 1) addReaderMarker(catalogPath);
      return reader;
    }
    if (readers.some(isThisProcess)) throw OwnerLock.#ownedHere(catalogPath);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        // 'wx': created here, never through a link planted in its place.
        writeOwnRecord(lockPath);
        return new OwnerLock(lockPath);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // A permission problem is not a lock and not damage: say which file and why.
        if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
          throw new CatalogStorageError(`cannot open catalog: this process may not create ${lockPath} (${code === 'EROFS' ? 'the file system is read-only' : 'permission denied'}, ${code}); nothing was changed`, { cause: error });
        }
        if (code !== 'EEXIST') throw error;
      }
      const holder = readHolder(lockPath);
      if (isThisProcess(holder)) throw OwnerLock.#ownedHere(catalogPath);
      // Another live process: leave its file alone and let DuckDB's lock give the verdict
      // (with the holder's pid) when the writer opens the file.
      if (holder !== undefined && isLive(holder)) return OwnerLock.#foreign(lockPath);
      takeOverStale(lockPath, holder, attempt);
    }
    throw new CatalogLockedError(catalogPath, undefined, `could not take the owner file ${lockPath}`);
  }

  static #ownedHere(catalogPath: string): CatalogLockedError {
    return new CatalogLockedError(
      catalogPath,
      process.pid,
      `catalog file ${catalogPath} is already open in this process (PID ${process.pid}); share the open Catalog instead of opening it again`,
    );
  }

  // A lock file of another live process: we hold nothing, but DuckDB may still let us in
  // (a reused pid). Then we must become the owner on record.
  static #foreign(lockPath: string): OwnerLock {
    const lock = new OwnerLock(lockPath);
    lock.#held = false;
    return lock;
  }

  /** Called once DuckDB opened the file for us: from here on the file is ours. */
  confirm(): void {
    if (this.#held || !this.#mayConfirm) return;
    try {
      // DuckDB gave us the file: whatever is in the owner file's place is stale.
      rmSync(this.#lockPath, { force: true });
      writeOwnRecord(this.#lockPath);
      this.#held = true;
    } catch {
      // the owner file is advisory; DuckDB's lock still protects other processes
    }
  }

  release(): void {
    if (this.#readerOf !== undefined) {
      const left = (OwnerLock.#readersHere.get(this.#readerOf) ?? 1) - 1;
      if (left > 0) {
        OwnerLock.#readersHere.set(this.#readerOf, left);
      } else {
        OwnerLock.#readersHere.delete(this.#readerOf);
        removeReaderMarker(this.#readerOf);
      }
      this.#readerOf = undefined;
    }
    if (!this.#held) return;
    this.#held = false;
    try {
      if (isThisProcess(readHolder(this.#lockPath))) unlinkSync(this.#lockPath);
    } catch {
      // already gone
    }
  }
}

/**
 * The real path of a catalog file: through symlinks, so two names for one file share one
 * owner file. A file that does not exist yet is named by its directory's real path.
 */
export function realCatalogPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    try {
      return join(realpathSync(dirname(path)), basename(path));
    } catch {
      return path;
    }
  }
}

/**
 * Moves a stale owner file away. Rename is atomic, so of two processes taking over at once
 * one moves it; the other might move the winner's fresh file instead — so what was moved is
 * checked, and a live owner's file is put back (by link, which never overwrites).
 */
function takeOverStale(lockPath: string, judged: Holder | undefined, attempt: number): void {
  const moved = `${lockPath}.stale-${process.pid}-${attempt}`;
  try {
    renameSync(lockPath, moved);
  } catch {
    return; // lost the race; look again
  }
  const found = readHolder(moved);
  if (found !== undefined && (found.pid !== judged?.pid || found.start !== judged.start) && isLive(found)) {
    try {
      linkSync(moved, lockPath);
    } catch {
      // someone else holds the name by now; the live owner keeps DuckDB's lock all the same
    }
  }
  rmSync(moved, { force: true });
}
