/**
 * Binding `<file>.sock` so that it never exists, even for a moment, with a wider mode than
 * 0600, for any length of catalog path. bind() creates the socket with the process's umask
 * (0755 typically) and a chmod can only follow, so the socket is bound inside a fresh 0700
 * directory beside the file (no other user can reach it there), made 0600, and only then
 * hard-linked to its public name — a link keeps the bound inode and, unlike rename, never
 * replaces a file in its place. The directory goes at once; one left by an owner killed
 * in between is removed by the next owner.
 */
import { chmodSync, linkSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { CatalogStorageError } from '../shared/errors.js';
import { socketBindAlias, type ShortPath } from '../shared/socket-address.js';

/** A socket bound and in place at its public name. */
export interface BoundSocket {
  /** The alias the server was bound through; close it after the server. */
  readonly alias: ShortPath;
  /** Identity of the socket file, so that close removes only its own. */
  readonly dev: number;
  readonly ino: number;
}

const BOUND_NAME = 's';

/**
 * Makes `server` listen on a new socket and links it to `path` (which must not exist).
 * @throws {CatalogStorageError} when the private directory is not this user's 0700 one.
 * @throws the file system's error when `path` exists (EEXIST) or the directory is not writable.
 */
export async function bindPrivately(server: Server, path: string): Promise<BoundSocket> {
  const privateDir = mkdtempSync(join(dirname(path), privatePrefix(path)));
  let alias: ShortPath | undefined;
  let listening = false;
  try {
    checkPrivate(privateDir);
    alias = socketBindAlias(privateDir, BOUND_NAME);
    await listen(server, alias.path);
    listening = true;
    const inside = join(privateDir, BOUND_NAME);
    chmodSync(inside, 0o600);
    linkSync(inside, path);
    const { dev, ino } = lstatSync(path);
    return { alias, dev, ino };
  } catch (error) {
    if (listening) server.close();
    alias?.close();
    throw error;
  } finally {
    rmSync(privateDir, { recursive: true, force: true });
  }
}

/**
 * Removes the private directories an owner killed during {@link bindPrivately} left beside
 * `path`. Only the caller may be binding `path` now (it holds DuckDB's write lock), so any
 * such directory is a leftover; one that is not this user's, or holds more than the bound
 * socket, is left alone.
 */
export function removeLeftoverDirs(path: string): void {
  const prefix = privatePrefix(path);
  const dir = dirname(path);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.startsWith(prefix) || entry.length !== prefix.length + 6) continue;
    const leftover = join(dir, entry);
    try {
      const stat = lstatSync(leftover);
      if (!stat.isDirectory() || stat.uid !== process.getuid?.()) continue;
      const inside = readdirSync(leftover);
      if (inside.every((name) => name === BOUND_NAME && lstatSync(join(leftover, name)).isSocket())) {
        rmSync(leftover, { recursive: true, force: true });
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
}

function privatePrefix(path: string): string {
  return `.${basename(path)}-`;
}

/** mkdtemp makes a 0700 directory; a umask or file system that gave anything wider is refused. */
function checkPrivate(dir: string): void {
  const stat = lstatSync(dir);
  const uid = process.getuid?.();
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o077) !== 0) {
    throw new CatalogStorageError(`${dir} is not a private directory of this user (mode ${(stat.mode & 0o777).toString(8)}); not binding the socket there`);
  }
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (error: Error) => reject(error);
    server.once('error', fail);
    server.listen(path, () => {
      server.off('error', fail);
      resolve();
    });
  });
}
