import { spawn, type ChildProcess } from 'node:child_process';
import { fixture } from './child.js';

/**
 * A fixture in its own process, driven over stdin, whose stdout lines are all kept until
 * read: none is lost between two waits (unlike a listener added per wait).
 */
export class LineChild {
  readonly child: ChildProcess;
  readonly #lines: string[] = [];
  #wake: (() => void) | undefined;
  readonly #closed: Promise<void>;

  constructor(name: string, args: readonly string[]) {
    this.child = spawn(process.execPath, [fixture(name), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#closed = new Promise((resolve) => this.child.on('close', () => resolve()));
    let buffer = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      this.#lines.push(...lines);
      this.#wake?.();
    });
  }

  /** The next line not read yet; fails after 30 s. */
  async next(): Promise<string> {
    await this.#until(() => this.#lines.length > 0, 'a line');
    return this.#lines.shift()!;
  }

  /** Waits (up to 30 s) until the child has printed `line`, and drops the lines before it. */
  async saw(line: string): Promise<void> {
    await this.#until(() => this.#lines.includes(line), `"${line}"`);
    this.#lines.splice(0, this.#lines.indexOf(line) + 1);
  }

  /** Ends stdin (after `text`) and waits for the process to end; every line it printed after the last read. */
  async end(text = ''): Promise<string[]> {
    this.child.stdin!.end(text);
    await this.#closed;
    return this.#lines.splice(0);
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.#closed;
  }

  async #until(done: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!done()) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`the child ended before printing ${what}: ${this.#lines.join(' | ')}`);
      if (Date.now() > deadline) throw new Error(`the child did not print ${what} within 30 s: ${this.#lines.join(' | ')}`);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 100);
      });
    }
  }
}
