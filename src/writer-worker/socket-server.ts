import { chmodSync, lstatSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { WorkerToMain } from '../shared/protocol.js';
import type { Party } from './parties.js';

/**
 * `<file>.sock`: how other processes reach the one owner of a catalog file (DuckDB lets
 * only one process open it read-write). Newline-delimited JSON both ways; the socket file
 * is mode 0600, so only the owning user can connect.
 */
export class SocketServer {
  readonly #server: Server;
  readonly #path: string;

  private constructor(server: Server, path: string) {
    this.#server = server;
    this.#path = path;
  }

  /**
   * Listens on `path`, first removing a socket file left by a dead owner.
   * @param onConnection Gets a party for each remote process and a function to register
   *   its request handler.
   * @param onDisconnect Called once when that process hangs up (or its socket fails).
   */
  static async listen(
    path: string,
    onConnection: (party: Party, onRequest: (handler: (message: unknown) => void) => void) => void,
    onDisconnect: (party: Party) => void,
  ): Promise<SocketServer> {
    await removeIfStale(path);
    const server = createServer((socket) => {
      let handler: (message: unknown) => void = () => undefined;
      const party: Party = {
        send: (message: WorkerToMain) => {
          if (socket.destroyed) return;
          // A client that does not read its replies and changes is dropped, not buffered for.
          if (socket.writableLength > MAX_UNREAD_BYTES) {
            socket.destroy();
            return;
          }
          socket.write(`${JSON.stringify(message)}\n`);
        },
        wake: () => undefined,
        close: () => socket.end(),
      };
      // A peer that hangs up at once (a liveness probe, a crashed client) must cost the
      // writer nothing: socket errors are that peer's problem, never an uncaught exception.
      socket.on('error', () => socket.destroy());
      socket.once('close', () => onDisconnect(party));
      readLines(socket, (line) => {
        let message: unknown;
        try {
          message = JSON.parse(line);
        } catch {
          socket.destroy();
          return;
        }
        handler(message);
      });
      onConnection(party, (h) => (handler = h));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    chmodSync(path, 0o600);
    server.unref();
    return new SocketServer(server, path);
  }

  close(): void {
    this.#server.close();
    rmSync(this.#path, { force: true });
  }
}

/** Most bytes a client may leave unread before it is disconnected. */
export const MAX_UNREAD_BYTES = 64 * 1024 * 1024;

/**
 * Longest line either side accepts, in UTF-16 code units: a peer that sends more without a
 * newline is cut off instead of being buffered without bound.
 */
export const MAX_LINE_LENGTH = 32 * 1024 * 1024;

/** Splits a socket's bytes into lines; destroys the socket when a line passes {@link MAX_LINE_LENGTH}. */
export function readLines(socket: Socket, onLine: (line: string) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    // Only the new chunk is searched: a long line costs linear, not quadratic, time.
    let newline = chunk.indexOf('\n');
    if (newline < 0) {
      buffered += chunk;
      if (buffered.length > MAX_LINE_LENGTH) socket.destroy();
      return;
    }
    let line = buffered + chunk.slice(0, newline);
    for (;;) {
      if (line.length > MAX_LINE_LENGTH) {
        socket.destroy();
        return;
      }
      if (line.length > 0) onLine(line);
      const start = newline + 1;
      newline = chunk.indexOf('\n', start);
      if (newline < 0) {
        buffered = chunk.slice(start);
        return;
      }
      line = chunk.slice(start, newline);
    }
  });
}

// A socket file nobody listens on is what a killed owner leaves behind. Anything else at
// that name is the user's: never removed (the catalog then serves no other process).
async function removeIfStale(path: string): Promise<void> {
  let entry;
  try {
    entry = lstatSync(path);
  } catch {
    return;
  }
  if (!entry.isSocket()) throw new Error(`${path} exists and is not a socket; leaving it alone`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (!alive) rmSync(path, { force: true });
}
