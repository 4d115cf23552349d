/**
 * The one answer to "is this `<file>.sock` a dead owner's leftover?", asked by an owner
 * before it serves and by `Catalog.connect` before it links. A socket file nobody listens
 * on (ECONNREFUSED) is what a killed owner leaves behind; only that is ever removed.
 */
import { lstatSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { socketFileAlias } from './socket-address.js';

/**
 * What is at a socket path:
 * - `absent`: nothing;
 * - `live`: a socket someone accepts on;
 * - `dead`: a socket nobody listens on (a killed owner's);
 * - `foreign`: something else (a regular file, a symlink, a directory): never touched;
 * - `unreachable`: a socket this process may not connect to (another user's), left alone.
 */
export type SocketState = 'absent' | 'live' | 'dead' | 'foreign' | 'unreachable';

/** Looks at `path` and, for a socket, tries to connect (the probe hangs up at once). */
export async function probeSocket(path: string): Promise<SocketState> {
  try {
    if (!lstatSync(path).isSocket()) return 'foreign';
  } catch {
    return 'absent';
  }
  let alias;
  try {
    alias = socketFileAlias(path);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : 'unreachable';
  }
  try {
    return await new Promise<SocketState>((resolve) => {
      const probe = createConnection(alias.path);
      probe.once('connect', () => {
        probe.destroy();
        resolve('live');
      });
      probe.once('error', (error: NodeJS.ErrnoException) => {
        probe.destroy();
        resolve(stateAfter(error.code));
      });
    });
  } finally {
    alias.close();
  }
}

function stateAfter(code: string | undefined): SocketState {
  if (code === 'ECONNREFUSED') return 'dead';
  if (code === 'ENOENT') return 'absent';
  // A full accept backlog: someone listens, just not fast enough.
  if (code === 'EAGAIN') return 'live';
  return 'unreachable';
}

/**
 * {@link probeSocket}, removing the file when it is `dead`.
 * @returns What was found (`dead`: it is gone now).
 */
export async function removeDeadSocket(path: string): Promise<SocketState> {
  const state = await probeSocket(path);
  if (state === 'dead') rmSync(path, { force: true });
  return state;
}
