import { openSync, closeSync, writeSync, readFileSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { threadId } from 'node:worker_threads';
import { CatalogLockedError } from '../shared/errors.js';

/**
 * A `<file>.owner` file naming the pid that owns a catalog file. DuckDB's own lock keeps
 * other processes out, but not other threads or catalogs of this process: two DuckDB
 * instances on one file in one process open silently and lose rows at checkpoint. This
 * file closes that gap. It is taken before DuckDB opens the file and removed on close; one
 * left by a dead process is taken over.
 */
export class OwnerLock {
  // Read-only opens of this thread, by catalog path. Each path with readers here also has a
  // `<file>.reader-<pid>-<threadId>` marker, so a read-write open from any thread of this
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
  static acquire(catalogPath: string, readOnly: boolean): OwnerLock {
    const lockPath = `${catalogPath}.owner`;
    if (readOnly) {
      // Readers share a file with each other but never with a writer of this process.
      if (readHolder(lockPath) === process.pid) throw OwnerLock.#ownedHere(catalogPath);
      const reader = new OwnerLock(lockPath);
      reader.#held = false;
      reader.#mayConfirm = false;
      reader.#readerOf = catalogPath;
      const count = (OwnerLock.#readersHere.get(catalogPath) ?? 0) + 1;
      OwnerLock.#readersHere.set(catalogPath, count);
      if (count === 1) {
        try {
          writeFileSync(readerMarker(catalogPath), `${process.pid}\n`, { mode: 0o600 });
        } catch {
          // a read-only directory: no other thread can have it open read-write either
        }
      }
      return reader;
    }
    if (hasReadersInThisProcess(catalogPath)) throw OwnerLock.#ownedHere(catalogPath);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const fd = openSync(lockPath, 'wx', 0o600);
        try {
          writeSync(fd, `${process.pid}\n`);
        } finally {
          closeSync(fd);
        }
        return new OwnerLock(lockPath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = readHolder(lockPath);
      if (holder === process.pid) throw OwnerLock.#ownedHere(catalogPath);
      // Another live process: leave its file alone and let DuckDB's lock give the verdict
      // (with the holder's pid) when the writer opens the file.
      if (holder !== undefined && isAlive(holder)) return OwnerLock.#foreign(lockPath);
      // Dead owner. Rename is atomic: of two threads racing to take over, one wins.
      try {
        renameSync(lockPath, `${lockPath}.stale-${process.pid}-${attempt}`);
        unlinkSync(`${lockPath}.stale-${process.pid}-${attempt}`);
      } catch {
        // lost the race; look again
      }
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
      const fd = openSync(this.#lockPath, 'w', 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
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
        rmSync(readerMarker(this.#readerOf), { force: true });
      }
      this.#readerOf = undefined;
    }
    if (!this.#held) return;
    this.#held = false;
    try {
      if (readHolder(this.#lockPath) === process.pid) unlinkSync(this.#lockPath);
    } catch {
      // already gone
    }
  }
}

function readerMarker(catalogPath: string): string {
  return `${catalogPath}.reader-${process.pid}-${threadId}`;
}

/** Markers of this pid: some thread here has the file open read-only. Others' are stale or foreign. */
function hasReadersInThisProcess(catalogPath: string): boolean {
  const prefix = `${basename(catalogPath)}.reader-${process.pid}-`;
  try {
    return readdirSync(dirname(catalogPath)).some((entry) => entry.startsWith(prefix));
  } catch {
    return false;
  }
}

function readHolder(lockPath: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
