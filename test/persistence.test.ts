import { Catalog } from 'duckcat';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runFixture } from './helpers/child.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

async function readInChild(path: string): Promise<Array<[string, unknown]>> {
  const result = await runFixture('write-then-exit.mjs', [path, 'read']);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { entries: Array<[string, unknown]> }).entries;
}

describe('persistence across processes', () => {
  it('reads definitions written and closed by another process', async () => {
    const path = tempCatalogPath();
    const written = await runFixture('write-then-exit.mjs', [path, 'close', '3']);
    expect(written.code, written.stderr).toBe(0);
    const cat = await Catalog.open(path);
    expect(cat.entries()).toEqual([0, 1, 2].map((i) => [`view${i}`, { base: 'orders', i }]));
    await cat.close();
  });

  it('keeps drops and replaces across a restart (define, restart, drop, restart)', async () => {
    const path = tempCatalogPath();
    const first = await Catalog.open(path);
    first.defineSync('orders_view', { base: 'orders' });
    first.defineSync('gone', 1);
    await first.close();
    expect(await readInChild(path)).toEqual([['gone', 1], ['orders_view', { base: 'orders' }]]);
    const second = await Catalog.open(path);
    second.dropSync('gone');
    second.replaceSync('orders_view', { base: 'orders', v: 2 });
    await second.close();
    expect(await readInChild(path)).toEqual([['orders_view', { base: 'orders', v: 2 }]]);
  });

  it('exits on its own when the owner forgets close(), and the writes survive', async () => {
    const path = tempCatalogPath();
    const result = await runFixture('write-then-exit.mjs', [path, 'forget', '5'], 20_000);
    expect(result.code, result.stderr).toBe(0);
    expect((await readInChild(path)).map(([name]) => name)).toEqual(['view0', 'view1', 'view2', 'view3', 'view4']);
  });

  it('does not abort when process.exit() runs while writes are in flight', async () => {
    const path = tempCatalogPath();
    const result = await runFixture('write-then-exit.mjs', [path, 'exit-busy', '200'], 20_000);
    expect(result.signal).toBeNull();
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    const atExit = JSON.parse(lines.at(-1)!) as { inFlight: number; settled: string[] };
    // exit() ran with one write acknowledged and the rest issued but not answered yet.
    expect(atExit.settled).toHaveLength(1);
    expect(atExit.inFlight).toBe(199);
    const names = (await readInChild(path)).map(([name]) => name);
    expect(names).toContain('acked');
    // Acknowledged before the exit, so durable; of the rest, whatever landed is a prefix
    // (one writer commits them in issue order).
    expect(names).toEqual(expect.arrayContaining(atExit.settled));
    const busy = names.filter((name) => name.startsWith('busy')).map((name) => Number(name.slice(4)));
    expect(busy.sort((a, b) => a - b)).toEqual(Array.from({ length: busy.length }, (_, i) => i));
  });

  it('removes its owner file on close', async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path);
    expect(existsSync(`${path}.owner`)).toBe(true);
    await cat.close();
    expect(existsSync(`${path}.owner`)).toBe(false);
  });
});
