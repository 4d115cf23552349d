import { Catalog } from 'duckcat';
import { existsSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collect, runFixture, spawnFixture, waitForLine } from './helpers/child.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

describe('Catalog.connect from other processes', () => {
  it('lets 3 client processes and the owner write concurrently, and everyone agrees', async () => {
    const path = tempCatalogPath();
    const owner = await Catalog.open(path);
    expect(statSync(`${path}.sock`).mode & 0o777).toBe(0o600);
    owner.defineSync('before', 0);
    const clients = ['1', '2', '3'].map((id) => runFixture('remote-client.mjs', [path, id, '40']));
    let ownerWrites = 0;
    const ownerWriting = (async () => {
      for (let i = 0; i < 40; i++, ownerWrites++) await owner.define(`owner-${i}`, i);
    })();
    const results = await Promise.all(clients);
    await ownerWriting;
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    const expectedSize = 1 + 40 + 3 * 40 + 1;
    expect(owner.size).toBe(expectedSize);
    for (const id of ['1', '2', '3']) {
      for (let i = 0; i < 40; i++) expect(owner.get(`c${id}-${i}`)).toEqual({ by: id, i });
    }
    // Each client saw everything committed before its own last write, including the others'.
    for (const result of results) {
      const { entries } = JSON.parse(result.stdout) as { entries: Array<[string, unknown]> };
      expect(entries.length).toBeGreaterThan(40);
      const [, before] = entries.find(([name]) => name === 'before') ?? [];
      expect(before).toBe(0);
    }
    const snapshot = owner.entries();
    await owner.close();
    expect(existsSync(`${path}.sock`)).toBe(false);
    const reopened = await Catalog.open(path);
    expect(reopened.entries()).toEqual(snapshot);
    await reopened.close();
  });

  it('gives a connected client ERR_CATALOG_WRITER_EXITED soon after the owner is killed', async () => {
    const path = tempCatalogPath();
    const owner = spawnFixture('own-catalog.mjs', [path]);
    await waitForLine(owner, /^owning/);
    const client = spawnFixture('remote-client.mjs', [path, '9', '0', 'wait-for-owner-death']);
    await waitForLine(client, /^connected/);
    owner.kill('SIGKILL');
    const result = await collect(client, 20_000);
    const report = JSON.parse(result.stdout.split('\n').filter((line) => line.startsWith('{')).at(-1) ?? '{}') as { code?: string; afterMs?: number };
    expect(report.code).toBe('ERR_CATALOG_WRITER_EXITED');
    expect(result.code).toBe(0);
  });

  it('detects and removes the socket file of a dead owner', async () => {
    const path = tempCatalogPath();
    const owner = spawnFixture('own-catalog.mjs', [path]);
    await waitForLine(owner, /^owning/);
    owner.kill('SIGKILL');
    await new Promise((resolve) => owner.on('close', resolve));
    expect(existsSync(`${path}.sock`)).toBe(true);
    await expect(Catalog.connect(path)).rejects.toThrow(expect.objectContaining({ code: 'ERR_CATALOG_WRITER_EXITED' }));
    expect(existsSync(`${path}.sock`)).toBe(false);
    // And the next owner serves again.
    const next = await Catalog.open(path);
    expect(next.get('owner')).toBeTypeOf('number');
    const remote = await Catalog.connect(path);
    remote.defineSync('via-socket', true);
    expect(next.get('via-socket')).toBe(true);
    await remote.close();
    await next.close();
  });

  it('refuses to connect when nobody owns the file', async () => {
    await expect(Catalog.connect(tempCatalogPath())).rejects.toThrow(expect.objectContaining({ code: 'ERR_CATALOG_WRITER_EXITED' }));
  });
});
