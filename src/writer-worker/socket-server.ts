import { lstatSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { WorkerToMain } from '../shared/protocol.js';
import { readLines } from '../shared/socket-lines.js';
import { removeDeadSocket } from '../shared/socket-probe.js';
import type { Party } from './parties.js';
import { bindPrivately, removeLeftoverDirs, type BoundSocket } from './private-bind.js';

/**
 * `<file>.sock`: how other processes reach the one owner of a catalog file (DuckDB lets
 * only one process open it read-write). Newline-delimited JSON both ways; the socket file
 * is mode 0600 from the moment it appears, so only the owning user can connect.
 */
export class SocketServer {
  readonly #server: Server;
  readonly #path: string;
  readonly #bound: BoundSocket;
  readonly #clients: ReadonlySet<Socket>;

  private constructor(server: Server, path: string, bound: BoundSocket, clients: ReadonlySet<Socket>) {
    this.#server = server;
    this.#path = path;
    this.#bound = bound;
    this.#clients = clients;
  }

  /**
   * Listens on `path` (any length), first removing what a killed owner left: a socket
   * nobody accepts on, and the private directory it was bound in.
   * @throws when something else is at `path` (never removed: the catalog then serves no
   *   other process) or the socket cannot be bound.
   * @param onConnection Gets a party for each remote process and a function to register
   *   its request handler.
   * @param onDisconnect Called once when that process hangs up (or its socket fails).
   */
  static async listen(
    path: string,
    onConnection: (party: Party, onRequest: (handler: (message: unknown) => void) => void) => void,
    onDisconnect: (party: Party) => void,
  ): Promise<SocketServer> {
    removeLeftoverDirs(path);
    const found = await removeDeadSocket(path);
    if (found !== 'absent' && found !== 'dead') throw new Error(`${path} exists and is not a dead owner's socket (${found}); leaving it alone`);
    const clients = new Set<Socket>();
    const server = createServer((socket) => {
      clients.add(socket);
      socket.once('close', () => clients.delete(socket));
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
    const bound = await bindPrivately(server, path);
    server.unref();
    return new SocketServer(server, path, bound, clients);
  }

  /**
   * Stops accepting, hangs up on every connected process (after `farewell`, when given) (their links report the owner
   * gone at once; an open connection would also keep this thread from exiting) and removes
   * the socket file, if it is still this server's.
   */
  close(farewell?: WorkerToMain): void {
    this.#server.close();
    for (const socket of this.#clients) {
      if (farewell === undefined || socket.destroyed) {
        socket.destroy();
        continue;
      }
      // Flushed before the hang-up, so the process learns it was a clean close; a peer that
      // keeps its half open is cut off shortly after.
      socket.end(`${JSON.stringify(farewell)}\n`);
      setTimeout(() => socket.destroy(), FAREWELL_MS);
    }
    this.#bound.alias.close();
    try {
      const now = lstatSync(this.#path);
      if (now.dev === this.#bound.dev && now.ino === this.#bound.ino) rmSync(this.#path, { force: true });
    } catch {
      // already gone
    }
  }
}

/** How long a connected process gets to read the farewell of a clean close. */
const FAREWELL_MS = 200;

/** Most bytes a client may leave unread before it is disconnected. */
export const MAX_UNREAD_BYTES = 64 * 1024 * 1024;
