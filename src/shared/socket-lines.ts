/**
 * The framing of `<file>.sock`, used by both ends (the owner's socket server and a
 * connecting process's link worker): newline-delimited JSON, one message per line.
 */
import type { Socket } from 'node:net';

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
