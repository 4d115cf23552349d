import { Catalog, CatalogError } from 'duckcat';
import { existsSync } from 'node:fs';
import { isAbsolute, relative as relativePath } from 'node:path';
import { describe, expect, it } from 'vitest';
import { closedAfterEach } from './helpers/closed-after-each.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

const open = closedAfterEach();
const openCatalog = (path = tempCatalogPath(), options?: Parameters<typeof Catalog.open>[1]): Promise<Catalog> => open.open(path, options);

const code = (c: string) => expect.objectContaining({ code: c });

describe('Catalog write and read API', () => {
  it('defines, reads back, lists sorted and counts', async () => {
    const cat = await openCatalog();
    cat.defineSync('orders', { base: 'orders', dims: ['region'] });
    await cat.define('customers', { base: 'customers' });
    cat.defineSync('Zebra', 1);
    expect(cat.get('orders')).toEqual({ base: 'orders', dims: ['region'] });
    expect(cat.has('customers')).toBe(true);
    expect(cat.has('missing')).toBe(false);
    expect(cat.get('missing')).toBeUndefined();
    expect(cat.list()).toEqual(['Zebra', 'customers', 'orders']);
    expect(cat.size).toBe(3);
    expect(cat.entries()).toEqual([
      ['Zebra', 1],
      ['customers', { base: 'customers' }],
      ['orders', { base: 'orders', dims: ['region'] }],
    ]);
  });

  it('replaces (upserts) and drops, sync and async', async () => {
    const cat = await openCatalog();
    cat.replaceSync('a', 1);
    cat.replaceSync('a', 2);
    await cat.replace('b', 3);
    expect(cat.get('a')).toBe(2);
    cat.dropSync('a');
    await cat.drop('b');
    expect(cat.size).toBe(0);
  });

  it('refuses define of an existing name with ERR_CATALOG_EXISTS and keeps the old value', async () => {
    const cat = await openCatalog();
    cat.defineSync('a', 'first');
    expect(() => cat.defineSync('a', 'second')).toThrow(code('ERR_CATALOG_EXISTS'));
    await expect(cat.define('a', 'third')).rejects.toThrow(code('ERR_CATALOG_EXISTS'));
    expect(cat.get('a')).toBe('first');
  });

  it('refuses drop of a missing name with ERR_CATALOG_NOT_FOUND', async () => {
    const cat = await openCatalog();
    expect(() => cat.dropSync('nope')).toThrow(code('ERR_CATALOG_NOT_FOUND'));
    await expect(cat.drop('nope')).rejects.toThrow(code('ERR_CATALOG_NOT_FOUND'));
  });

  it('refuses bad input with ERR_CATALOG_INVALID naming the field, changing nothing', async () => {
    const cat = await openCatalog(undefined, { maxNameBytes: 8, maxDefinitionBytes: 64 });
    cat.defineSync('keep', 1);
    expect(() => cat.defineSync('', 1)).toThrow(expect.objectContaining({ code: 'ERR_CATALOG_INVALID', field: 'name' }));
    expect(() => cat.defineSync('much-too-long', 1)).toThrow(expect.objectContaining({ field: 'name' }));
    // @ts-expect-error a bigint is not JSON: refused by the types, and at run time for JavaScript callers.
    expect(() => cat.defineSync('x', { n: 1n })).toThrow(expect.objectContaining({ field: 'definition.n' }));
    expect(() => cat.replaceSync('keep', 'y'.repeat(100))).toThrow(expect.objectContaining({ field: 'definition' }));
    // @ts-expect-error undefined is not JSON
    await expect(cat.define('x', undefined)).rejects.toThrow(expect.objectContaining({ field: 'definition' }));
    expect(cat.entries()).toEqual([['keep', 1]]);
  });

  it('returns frozen values that callers cannot change', async () => {
    const cat = await openCatalog();
    const input = { dims: [{ name: 'region' }] };
    cat.defineSync('v', input);
    input.dims.push({ name: 'mutated after define' });
    const stored = cat.get('v') as { dims: Array<{ name: string }> };
    expect(stored.dims).toHaveLength(1);
    expect(Object.isFrozen(stored)).toBe(true);
    expect(Object.isFrozen(stored.dims[0])).toBe(true);
    expect(() => stored.dims.push({ name: 'x' })).toThrow(TypeError);
  });

  it('applies many concurrent async writes in submission order', async () => {
    const cat = await openCatalog();
    const results = await Promise.allSettled([
      cat.define('k', 1),
      cat.define('k', 2),
      cat.replace('k', 3),
      cat.drop('k'),
      cat.drop('k'),
      cat.define('k', 4),
      ...Array.from({ length: 200 }, (_, i) => cat.define(`n${i}`, { i })),
    ]);
    expect(results.slice(0, 6).map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as CatalogError).code))).toEqual([
      'ok',
      'ERR_CATALOG_EXISTS',
      'ok',
      'ok',
      'ERR_CATALOG_NOT_FOUND',
      'ok',
    ]);
    expect(cat.get('k')).toBe(4);
    expect(cat.size).toBe(201);
  });

  it('sees a sync write issued while async writes are in flight after them', async () => {
    const cat = await openCatalog();
    const pending = cat.define('a', 1);
    cat.replaceSync('a', 2);
    await pending;
    expect(cat.get('a')).toBe(2);
  });
});

describe('Catalog.open', () => {
  it('is in-memory and not persistent without a path or with :memory:', async () => {
    for (const cat of [await openCatalog(':memory:'), await Catalog.open()]) {
      open.track(cat);
      expect(cat.persistent).toBe(false);
      expect(cat.path).toBe(':memory:');
      cat.defineSync('a', 1);
      expect(cat.get('a')).toBe(1);
    }
  });

  it('keeps nothing of an in-memory catalog after close', async () => {
    const first = await Catalog.open(':memory:');
    first.defineSync('a', 1);
    await first.close();
    const second = await openCatalog(':memory:');
    expect(second.size).toBe(0);
  });

  it('resolves a relative path to an absolute one and is persistent', async () => {
    const absolute = tempCatalogPath();
    const relative = relativePath(process.cwd(), absolute);
    expect(isAbsolute(relative)).toBe(false);
    const cat = await openCatalog(relative);
    expect(cat.persistent).toBe(true);
    expect(cat.path).toBe(absolute);
    cat.defineSync('here', 1);
    await cat.close();
    // The file is where the relative path pointed, and the absolute path opens the same catalog.
    expect(existsSync(absolute)).toBe(true);
    const again = await openCatalog(absolute);
    expect(again.entries()).toEqual([['here', 1]]);
  });

  it('refuses bad paths and options with ERR_CATALOG_INVALID', async () => {
    await expect(Catalog.open('')).rejects.toThrow(expect.objectContaining({ code: 'ERR_CATALOG_INVALID', field: 'path' }));
    await expect(Catalog.open(tempCatalogPath(), { timeoutMs: -5 })).rejects.toThrow(
      expect.objectContaining({ code: 'ERR_CATALOG_INVALID', field: 'options.timeoutMs' }),
    );
  });

  it('refuses a second open of the same file in this process with ERR_CATALOG_LOCKED', async () => {
    const path = tempCatalogPath();
    await openCatalog(path);
    await expect(Catalog.open(path)).rejects.toThrow(expect.objectContaining({ code: 'ERR_CATALOG_LOCKED', pid: process.pid }));
  });

  it('maps an unreadable file to ERR_CATALOG_STORAGE', async () => {
    const { writeFileSync } = await import('node:fs');
    const path = tempCatalogPath();
    writeFileSync(path, 'this is not a duckdb file, just some text that is long enough to have a header'.repeat(100));
    await expect(Catalog.open(path)).rejects.toThrow(expect.objectContaining({ code: 'ERR_CATALOG_STORAGE' }));
  });
});

describe('Catalog#close', () => {
  it('is idempotent and makes every later call throw ERR_CATALOG_CLOSED', async () => {
    const cat = await Catalog.open(tempCatalogPath());
    cat.defineSync('a', 1);
    const first = cat.close();
    expect(cat.close()).toBe(first);
    await first;
    await cat.close();
    expect(cat.closed).toBe(true);
    expect(() => cat.get('a')).toThrow(code('ERR_CATALOG_CLOSED'));
    expect(() => cat.list()).toThrow(code('ERR_CATALOG_CLOSED'));
    expect(() => cat.defineSync('b', 1)).toThrow(code('ERR_CATALOG_CLOSED'));
    await expect(cat.define('b', 1)).rejects.toThrow(code('ERR_CATALOG_CLOSED'));
    await expect(cat.checkpoint()).rejects.toThrow(code('ERR_CATALOG_CLOSED'));
  });

  it('lets writes queued before close commit', async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path);
    const writes = Array.from({ length: 50 }, (_, i) => cat.define(`q${i}`, i));
    await cat.close();
    await Promise.all(writes);
    const reopened = await openCatalog(path);
    expect(reopened.size).toBe(50);
  });

  it('releases the file so it can be reopened in the same process', async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path);
    cat.defineSync('a', { v: 1 });
    await cat.checkpoint();
    await cat.close();
    const again = await openCatalog(path);
    expect(again.get('a')).toEqual({ v: 1 });
  });
});

describe('Catalog#stats and #export', () => {
  it('counts batches, commits and refused ops, and reports commit latency', async () => {
    const cat = await openCatalog();
    cat.defineSync('a', 1);
    expect(() => cat.defineSync('a', 2)).toThrow(code('ERR_CATALOG_EXISTS'));
    await Promise.all(Array.from({ length: 20 }, (_, i) => cat.define(`b${i}`, i)));
    const stats = await cat.stats();
    expect(stats.ops).toBe(22);
    expect(stats.refusedOps).toBe(1);
    expect(stats.commits).toBeGreaterThanOrEqual(2);
    expect(stats.commits).toBeLessThan(22);
    expect(stats.largestBatch).toBeGreaterThan(1);
    expect(stats.failedBatches).toBe(0);
    expect(stats.queueDepth).toBe(0);
    expect(stats.parties).toBe(1);
    expect(stats.commitLatencyUs.p50).toBeGreaterThan(0);
    expect(stats.commitLatencyUs.p99).toBeGreaterThanOrEqual(stats.commitLatencyUs.p50);
  });

  it('exports every definition as one JSON-ready object', async () => {
    const cat = await openCatalog();
    cat.defineSync('b', { x: [1, 2] });
    cat.defineSync('a', 'text');
    expect(JSON.stringify(cat.export())).toBe('{"a":"text","b":{"x":[1,2]}}');
  });
});
