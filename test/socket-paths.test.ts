import { Catalog } from 'duckcat';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, runFixture, spawnFixture, waitForLine } from './helpers/child.js';
import { tempDir } from './helpers/temp-catalog.js';

// A Unix socket path is at most 107 bytes (108 with its NUL) for bind() and connect().
// The catalog's socket must work, be 0600 from the moment it appears, and leave nothing
// behind, whatever the length of the catalog's path.

/**
 * A catalog path of exactly `length` characters, in nested directories of mode 0755 (so a
 * socket's own mode, not its directory's, is what keeps other users out).
 */
function catalogPathOfLength(length: number, base = 'catalog.duckdb'): string {
  let dir = tempDir();
  chmodSync(dir, 0o755);
  for (;;) {
    const remaining = length - (dir.length + 1 + base.length);
    if (remaining === 0) break;
    if (remaining < 2) throw new Error(`cannot make a path of ${length} characters from ${dir}`);
    let segment = Math.min(40, remaining - 1);
    if (remaining - 1 - segment === 1) segment--;
    dir = join(dir, 'd'.repeat(segment));
    mkdirSync(dir, { mode: 0o755 });
  }
  const path = join(dir, base);
  expect(path).toHaveLength(length);
  return path;
}

/** Entries of the catalog's directory that belong to a socket: any socket, or a private binding directory. */
function socketLeftovers(path: string): string[] {
  const dir = dirname(path);
  return readdirSync(dir).filter((entry) => entry.startsWith(`.${basename(path)}.sock`) || lstatSync(join(dir, entry)).isSocket());
}

/** test/fixtures/socket-mode-watch.mjs, with every stdout line kept until asked for. */
class Watcher {
  readonly child: ChildProcess;
  readonly #lines: string[] = [];
  #onLine: (() => void) | undefined;

  constructor(path: string) {
    this.child = spawn(process.execPath, [fixture('socket-mode-watch.mjs'), dirname(path), basename(path)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let buffer = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      this.#lines.push(...lines);
      this.#onLine?.();
    });
  }

  /** Waits (up to 30 s) until the watcher has printed `line`. */
  async saw(line: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!this.#lines.includes(line)) {
      if (Date.now() > deadline) throw new Error(`the watcher did not print "${line}": ${this.#lines.join(' | ')}`);
      await new Promise<void>((resolve) => {
        this.#onLine = resolve;
        setTimeout(resolve, 100);
      });
    }
  }

  /** Ends the watch; its report. */
  async report(): Promise<{ sockets: number; privateDirs: number; violations: unknown[] }> {
    const closed = new Promise((resolve) => this.child.on('close', resolve));
    this.child.stdin!.end();
    await closed;
    return JSON.parse(this.#lines.at(-1)!) as { sockets: number; privateDirs: number; violations: unknown[] };
  }
}

const LENGTHS = [
  { length: 90, base: 'catalog.duckdb' },
  { length: 120, base: 'catalog.duckdb' },
  { length: 260, base: 'catalog.duckdb' },
  // A file name alone longer than a socket path may be.
  { length: 300, base: `${'n'.repeat(110)}.duckdb` },
];

describe.each(LENGTHS)('a catalog path of $length characters', ({ length, base }) => {
  it('serves another process: it connects and writes, both see it, and close leaves no socket behind', async () => {
    const path = catalogPathOfLength(length, base);
    const owner = await Catalog.open(path);
    const socket = lstatSync(`${path}.sock`);
    expect(socket.isSocket()).toBe(true);
    expect(socket.mode & 0o777).toBe(0o600);
    owner.defineSync('before', 0);
    const result = await runFixture('remote-client.mjs', [path, '1', '6']);
    expect(result.code, result.stderr).toBe(0);
    const { entries } = JSON.parse(result.stdout) as { entries: Array<[string, unknown]> };
    expect(new Map(entries).get('before')).toBe(0);
    for (let i = 0; i < 6; i++) expect(owner.get(`c1-${i}`)).toEqual({ by: '1', i });
    expect(new Map(entries)).toEqual(new Map(owner.entries()));
    await owner.close();
    expect(socketLeftovers(path)).toEqual([]);
  });

  it('after the owner is killed with SIGKILL, the next owner serves again and its close leaves nothing behind', async () => {
    const path = catalogPathOfLength(length, base);
    const killed = spawnFixture('own-catalog.mjs', [path]);
    await waitForLine(killed, /^owning/);
    killed.kill('SIGKILL');
    await new Promise((resolve) => killed.on('close', resolve));
    expect(socketLeftovers(path)).toEqual([`${basename(path)}.sock`]);
    const next = await Catalog.open(path);
    const remote = await Catalog.connect(path);
    remote.defineSync('via-socket', true);
    expect(next.get('via-socket')).toBe(true);
    await remote.close();
    await next.close();
    expect(socketLeftovers(path)).toEqual([]);
    // And once more, from a clean directory.
    const again = await Catalog.open(path);
    expect(again.get('via-socket')).toBe(true);
    await again.close();
    expect(socketLeftovers(path)).toEqual([]);
  });

  it('never shows another process a socket wider than 0600, across 8 opens and closes', async () => {
    const path = catalogPathOfLength(length, base);
    const watcher = new Watcher(path);
    for (let i = 0; i < 8; i++) {
      const owner = await Catalog.open(path);
      const { ino, ctimeNs } = lstatSync(`${path}.sock`, { bigint: true });
      // The watcher has looked while this socket existed: then close.
      await watcher.saw(`socket ${ino}:${ctimeNs}`);
      await owner.close();
    }
    const report = await watcher.report();
    expect(report.violations).toEqual([]);
    // Each socket is seen at least once (a link and an unlink change its ctime, so maybe more).
    expect(report.sockets).toBeGreaterThanOrEqual(8);
    expect(socketLeftovers(path)).toEqual([]);
  });
});

describe('the private binding directory', () => {
  it('is removed when an owner killed while binding left it behind', async () => {
    const path = catalogPathOfLength(120);
    const leftover = join(dirname(path), `.${basename(path)}.sock-AbC123`);
    mkdirSync(leftover, { mode: 0o700 });
    const owner = await Catalog.open(path);
    expect(existsSync(leftover)).toBe(false);
    await owner.close();
    expect(socketLeftovers(path)).toEqual([]);
  });
});
