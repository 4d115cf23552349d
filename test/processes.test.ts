import { Catalog } from 'duckcat';
import { existsSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collect, spawnFixture, waitForLine } from './helpers/child.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

// Must match test/fixtures/remote-client.mjs (mode wait-for-owner-death).
const DEATH_TIMEOUTS = { timeoutMs: 30_000, hangTimeoutMs: 10_000 };

const entryMap = (entries: ReadonlyArray<readonly [string, unknown]>): Map<string, unknown> => new Map(entries);

describe('Catalog.connect from other processes', () => {
  it('lets 3 client processes and the owner write concurrently, and everyone agrees', async () => {
    const path = tempCatalogPath();
    const owner = await Catalog.open(path);
    expect(statSync(`${path}.sock`).mode & 0o777).toBe(0o600);
    owner.defineSync('before', 0);
    const clients = ['1', '2', '3'].map((id) => spawnFixture('remote-client.mjs', [path, id, '40', 'wait-for-done']));
    const results = clients.map((client) => collect(client));
    const connected = clients.map((client) => waitForLine(client, /^connected$/));
    // Settles when every client wrote, or one ended first (then the loop below stops too).
    let allWritten = false;
    const written = Promise.all(clients.map((client) => waitForLine(client, /^written$/))).then(
      () => ({ error: undefined }),
      (error: unknown) => ({ error }),
    ).finally(() => (allWritten = true));
    await Promise.all(connected);
    // The owner writes from when every client is connected until every client is done, so
    // its writes and theirs interleave.
    let ownerWrites = 0;
    while (!allWritten || ownerWrites < 40) await owner.define(`owner-${ownerWrites}`, ownerWrites++);
    expect((await written).error).toBeUndefined();
    // Every write of every party is acknowledged: one last owner write, which each client
    // waits to see in its replica before it reports its whole map.
    owner.defineSync('all-done', true);
    const reports = await Promise.all(results);
    for (const result of reports) expect(result.code, result.stderr).toBe(0);

    const expected: Array<[string, unknown]> = [['all-done', true], ['before', 0]];
    for (const id of ['1', '2', '3']) for (let i = 0; i < 40; i++) expected.push([`c${id}-${i}`, { by: id, i }]);
    for (let i = 0; i < ownerWrites; i++) expected.push([`owner-${i}`, i]);
    const ownerEntries = owner.entries();
    const shared = owner.get('shared') as { last: string; i: number };
    // The last replace of 'shared' was some client's 40th.
    expect(shared.i).toBe(39);
    expected.push(['shared', shared]);
    expect(entryMap(ownerEntries)).toEqual(entryMap(expected));
    // Each client's replica equals the owner's map, entry for entry and in the same order.
    for (const result of reports) {
      const { entries } = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { entries: Array<[string, unknown]> };
      expect(entries).toEqual(ownerEntries);
    }
    await owner.close();
    expect(existsSync(`${path}.sock`)).toBe(false);
    const reopened = await Catalog.open(path);
    expect(reopened.entries()).toEqual(ownerEntries);
    await reopened.close();
  });

  it('gives a connected client ERR_CATALOG_WRITER_EXITED soon after the owner is killed', async () => {
    const path = tempCatalogPath();
    const owner = spawnFixture('own-catalog.mjs', [path]);
    await waitForLine(owner, /^owning/);
    const client = spawnFixture('remote-client.mjs', [path, '9', '0', 'wait-for-owner-death']);
    await waitForLine(client, /^connected/);
    const killedAt = Date.now();
    owner.kill('SIGKILL');
    const result = await collect(client, DEATH_TIMEOUTS.timeoutMs + 15_000);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout.split('\n').filter((line) => line.startsWith('{')).at(-1) ?? '{}') as { code?: string; failedAt?: number };
    expect(report.code).toBe('ERR_CATALOG_WRITER_EXITED');
    // "Soon": the link sees the socket close, it does not wait out a deadline. The client's
    // deadlines are 30 s (timeoutMs) and 10 s (hangTimeoutMs); half the shorter one is a
    // generous bound on a loaded machine and still far below either.
    expect(report.failedAt! - killedAt).toBeLessThan(DEATH_TIMEOUTS.hangTimeoutMs / 2);
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
