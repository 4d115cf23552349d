import { Catalog } from 'duckcat';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFixture, spawnFixture, waitForLine } from './helpers/child.js';
import { LineChild } from './helpers/line-child.js';
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

/** test/fixtures/socket-mode-watch.mjs on the catalog's directory. */
function watch(path: string): LineChild {
  return new LineChild('socket-mode-watch.mjs', [dirname(path), basename(path)]);
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
    const watcher = watch(path);
    for (let i = 0; i < 8; i++) {
      const owner = await Catalog.open(path);
      const { ino, ctimeNs } = lstatSync(`${path}.sock`, { bigint: true });
      // The watcher has looked while this socket existed: then close.
      await watcher.saw(`socket ${ino}:${ctimeNs}`);
      await owner.close();
    }
    const report = JSON.parse((await watcher.end()).at(-1)!) as { sockets: number; violations: unknown[] };
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
