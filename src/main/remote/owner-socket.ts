/**
 * How `Catalog.connect` finds the owner's `<file>.sock`, and what it says when nobody
 * serves the file: a process holding it read-only (it serves no one, and DuckDB keeps
 * writers out meanwhile) is named, since waiting for it or reading too are the only ways on.
 */
import { CatalogLockedError, CatalogWriterExitedError, type CatalogError } from '../../shared/errors.js';
import { socketFileAlias, type ShortPath } from '../../shared/socket-address.js';
import { removeDeadSocket, type SocketState } from '../../shared/socket-probe.js';
import { realCatalogPath } from '../owner-lock.js';
import { liveReaders } from '../reader-markers.js';

/** The socket file of the owner of `catalogPath`. */
export function socketPathOf(catalogPath: string): string {
  return `${catalogPath}.sock`;
}

/**
 * The owner's live socket, as a path connect() takes whatever the catalog path's length
 * (close it once connected). A dead owner's socket is removed on the way.
 * @throws {CatalogLockedError} ERR_CATALOG_LOCKED, with `holder.readOnly`, when nobody
 *   serves because a process holds the file read-only.
 * @throws {CatalogWriterExitedError} ERR_CATALOG_WRITER_EXITED when nobody serves the file.
 */
export async function reachOwner(catalogPath: string): Promise<ShortPath> {
  const socketPath = socketPathOf(catalogPath);
  const found = await removeDeadSocket(socketPath);
  if (found !== 'live') throw noOwnerError(catalogPath, found);
  try {
    return socketFileAlias(socketPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw noOwnerError(catalogPath, 'absent');
    throw error;
  }
}

/**
 * Why the link got no hello. When it did connect, the owner is alive but did not answer;
 * otherwise the socket is looked at again (and removed if dead).
 */
export async function ownerGoneError(catalogPath: string, connected: boolean): Promise<CatalogError> {
  const found = connected ? 'live' : await removeDeadSocket(socketPathOf(catalogPath));
  if (found === 'live') return new CatalogWriterExitedError(`no process serves ${catalogPath} (${socketPathOf(catalogPath)} does not answer)`);
  return noOwnerError(catalogPath, found);
}

function noOwnerError(catalogPath: string, found: Exclude<SocketState, 'live'>): CatalogError {
  const reader = liveReaders(realCatalogPath(catalogPath))[0];
  if (reader !== undefined) {
    const who = reader.pid === process.pid ? `this process (PID ${reader.pid})` : `process PID ${reader.pid}`;
    return new CatalogLockedError(
      catalogPath,
      reader.pid,
      `catalog file ${catalogPath} is open read-only by ${who}, which serves no other process: nobody can write it until that process closes it. ` +
        `Open it with { readOnly: true } to read it meanwhile, or Catalog.open it once PID ${reader.pid} has closed it`,
      { holder: { pid: reader.pid, readOnly: true } },
    );
  }
  const socketPath = socketPathOf(catalogPath);
  const why = {
    absent: `no ${socketPath}`,
    dead: `removed the stale ${socketPath}`,
    foreign: `${socketPath} is not a socket; left alone`,
    unreachable: `${socketPath} belongs to another user or cannot be reached`,
  }[found];
  return new CatalogWriterExitedError(`no process serves ${catalogPath} (${why})`);
}
