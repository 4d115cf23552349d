import { LineChild } from './line-child.js';

/**
 * A fixture process that answers commands with JSON lines (the pg-*.mjs fixtures). Every
 * line it printed is kept in {@link seen}, so acknowledgements printed on the way to an
 * answer are not lost.
 */
export class JsonChild {
  readonly process: LineChild;
  readonly seen: Array<Record<string, unknown>> = [];

  constructor(fixture: string, config: unknown) {
    this.process = new LineChild(fixture, [JSON.stringify(config)]);
    // A child that died has a closed stdin: its death is reported by answer() and close(),
    // not as an EPIPE thrown out of a write.
    this.process.child.stdin!.on('error', () => undefined);
  }

  /** Sends one command line. */
  send(command: string): void {
    this.process.child.stdin!.write(`${command}\n`);
  }

  /** The next JSON line (kept in {@link seen} too); a line with `err` fails instead. */
  async next(): Promise<Record<string, unknown>> {
    for (;;) {
      const line = await this.process.next();
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      this.seen.push(parsed);
      if ('err' in parsed) throw new Error(`child failed: ${String(parsed.err)} ${String(parsed.message)}`);
      return parsed;
    }
  }

  /** The value under `key` of the next line that has it; a line with `err` fails instead. */
  async answer<T>(key: string): Promise<T> {
    for (;;) {
      const parsed = await this.next();
      if (key in parsed) return parsed[key] as T;
    }
  }

  /**
   * Sends `close` if the process still runs and waits for it to end (killing it after
   * 30 s, so a stuck child never outlives the test); its exit code.
   */
  async close(): Promise<number | null> {
    const child = this.process.child;
    if (child.exitCode === null && child.signalCode === null) {
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      try {
        const rest = await this.process.end('close\n');
        // A child that failed says why on its last lines: keep them with the others.
        for (const line of rest) {
          try {
            this.seen.push(JSON.parse(line) as Record<string, unknown>);
          } catch {
            // not JSON
          }
        }
        const failure = this.seen.find((line) => 'err' in line);
        if (failure !== undefined) process.stderr.write(`${this.process.child.pid}: ${JSON.stringify(failure)}\n`);
      } finally {
        clearTimeout(timer);
      }
    }
    return child.exitCode;
  }
}
