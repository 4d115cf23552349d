/**
 * Short names for long socket paths. bind() and connect() take a Unix socket's path in a
 * fixed `sun_path` field (108 bytes with its NUL on Linux, 104 on macOS), and Node passes a
 * longer one on truncated: the socket would be made, or looked for, somewhere else. Every
 * other file call takes paths up to PATH_MAX, so only the bind and the connect need a short
 * name, and on Linux one always exists: `/proc/self/fd/<n>` names whatever descriptor `n`
 * of this process refers to, so a descriptor of the long directory or socket file makes
 * the path short. The descriptor must stay open as long as the name is used.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { CatalogInvalidError } from './errors.js';

/** Longest socket path, in bytes, that bind() and connect() take whole on Linux. */
export const MAX_SOCKET_PATH_BYTES = 107;
/** The same limit on macOS and the BSDs (104-byte `sun_path`). */
const MAX_SOCKET_PATH_BYTES_BSD = 103;

// Linux's O_PATH (x86, ARM, RISC-V, …): a descriptor that names a file without opening it,
// the only way to hold one for a socket file. Node does not export the constant.
const O_PATH = 0o10000000;

/** A path that fits `sun_path`, valid until {@link ShortPath.close}. */
export interface ShortPath {
  readonly path: string;
  /** Releases the descriptor behind the short name, if any. Idempotent. */
  close(): void;
}

/**
 * A name that fits `sun_path` for the existing socket file `socketPath` (to connect to).
 * A symlink in its place is not followed: the alias then names the link, not a socket.
 * @throws {CatalogInvalidError} ERR_CATALOG_INVALID when the path is too long and this
 *   platform has no /proc to shorten it.
 * @throws the open's error (ENOENT, EACCES) when the file cannot be named.
 */
export function socketFileAlias(socketPath: string): ShortPath {
  if (fits(socketPath)) return direct(socketPath);
  return viaDescriptor(socketPath, O_PATH | constants.O_NOFOLLOW, '');
}

/**
 * A name that fits `sun_path` for a new socket `name` inside `directory` (to bind to).
 * Keep it open until the server is closed: libuv unlinks the bound name on close, and a
 * reused descriptor number would then name someone else's directory.
 * @throws {CatalogInvalidError} as {@link socketFileAlias}.
 */
export function socketBindAlias(directory: string, name: string): ShortPath {
  const full = `${directory}/${name}`;
  if (fits(full)) return direct(full);
  return viaDescriptor(directory, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW, `/${name}`);
}

function fits(path: string): boolean {
  const limit = process.platform === 'linux' ? MAX_SOCKET_PATH_BYTES : MAX_SOCKET_PATH_BYTES_BSD;
  return Buffer.byteLength(path) <= limit;
}

function direct(path: string): ShortPath {
  return { path, close: () => undefined };
}

function viaDescriptor(target: string, flags: number, suffix: string): ShortPath {
  if (process.platform !== 'linux') {
    throw new CatalogInvalidError(
      'path',
      `${target} is too long for a Unix socket path on ${process.platform} (at most ${MAX_SOCKET_PATH_BYTES_BSD} bytes); use a shorter catalog path`,
    );
  }
  let fd: number | undefined = openSync(target, flags);
  return {
    path: `/proc/self/fd/${fd}${suffix}`,
    close() {
      if (fd === undefined) return;
      closeSync(fd);
      fd = undefined;
    },
  };
}
