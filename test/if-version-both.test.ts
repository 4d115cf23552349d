// Optimistic concurrency on both stores (issue 10): the same assertions on a file catalog
// and on a PostgreSQL-backed one. `version(name)` is the commit seq of the write that
// stored it (docs/api.md#version): new and larger on every define and replace, never
// repeated, even across a drop; `replace`/`drop` with a stale `{ ifVersion }` refuse with
// ERR_CATALOG_CONFLICT, carrying the current version, and change nothing; with the current
// one they go through. Versions are compared for equality and order only, never counted.
import { Catalog } from 'duckcat';
import { afterEach, describe, expect, it } from 'vitest';
import { tempCatalogPath } from './helpers/temp-catalog.js';
import { describePg, pgDatabase } from './helpers/pg-test.js';

type Opener = () => Promise<Catalog>;

/** The call's error (or a failure when it does not throw). */
async function refusal(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to be refused');
}

function ifVersionSuite(open: Opener): void {
  const open_: Catalog[] = [];
  // One catalog at a time: a file has one owner per process.
  afterEach(async () => {
    for (const catalog of open_.splice(0)) await catalog.close();
  });
  const fresh = async (): Promise<Catalog> => {
    const catalog = await open();
    open_.push(catalog);
    return catalog;
  };

  it('gives every define and replace a new, larger version, equal to its change event; none after a drop', async () => {
    const catalog = await fresh();
    const events: Array<[string, number, number]> = [];
    // Other names first, so the seqs of a's writes are not 1, 2, 3 by coincidence.
    catalog.defineSync('pad1', {});
    catalog.defineSync('pad2', {});
    catalog.on('change', (change) => events.push([change.name, change.version, change.seq]));
    catalog.defineSync('a', { n: 1 });
    const v1 = catalog.version('a')!;
    expect(Number.isSafeInteger(v1) && v1 > 0).toBe(true);
    catalog.replaceSync('a', { n: 2 });
    const v2 = catalog.version('a')!;
    await catalog.replace('a', { n: 3 });
    const v3 = catalog.version('a')!;
    expect(v2).toBeGreaterThan(v1);
    expect(v3).toBeGreaterThan(v2);
    catalog.dropSync('a');
    expect(catalog.version('a')).toBeUndefined();
    expect(catalog.version('never')).toBeUndefined();
    await new Promise((resolve) => setImmediate(resolve));
    // The version of a write is its change's seq.
    expect(events.slice(0, 3)).toEqual([['a', v1, v1], ['a', v2, v2], ['a', v3, v3]]);
  });

  it('replaces and drops with the current ifVersion', async () => {
    const catalog = await fresh();
    catalog.defineSync('b', { n: 1 });
    catalog.replaceSync('b', { n: 2 }, { ifVersion: catalog.version('b')! });
    await catalog.replace('b', { n: 3 }, { ifVersion: catalog.version('b')! });
    expect(catalog.get('b')).toEqual({ n: 3 });
    await catalog.drop('b', { ifVersion: catalog.version('b')! });
    expect(catalog.has('b')).toBe(false);
    catalog.defineSync('b2', { n: 1 });
    catalog.dropSync('b2', { ifVersion: catalog.version('b2')! });
    expect(catalog.has('b2')).toBe(false);
  });

  it('refuses a stale ifVersion with ERR_CATALOG_CONFLICT carrying the current version, changing nothing', async () => {
    const catalog = await fresh();
    catalog.defineSync('c', { n: 1 });
    const stale = catalog.version('c')!;
    catalog.replaceSync('c', { n: 2 });
    const current = catalog.version('c')!;
    const calls: Array<[string, () => unknown]> = [
      ['replaceSync', () => catalog.replaceSync('c', { n: 99 }, { ifVersion: stale })],
      ['replace', () => catalog.replace('c', { n: 99 }, { ifVersion: stale })],
      ['dropSync', () => catalog.dropSync('c', { ifVersion: stale })],
      ['drop', () => catalog.drop('c', { ifVersion: stale })],
    ];
    for (const [label, call] of calls) {
      const error = await refusal(call);
      expect(error, label).toMatchObject({ code: 'ERR_CATALOG_CONFLICT', definitionName: 'c', expectedVersion: stale, currentVersion: current });
      expect(catalog.get('c'), label).toEqual({ n: 2 });
      expect(catalog.version('c'), label).toBe(current);
    }
    // A version from the future is as stale as one from the past.
    expect(await refusal(() => catalog.replace('c', { n: 99 }, { ifVersion: current + 1000 }))).toMatchObject({ code: 'ERR_CATALOG_CONFLICT', currentVersion: current });
  });

  it('refuses ifVersion on a name that is not defined with currentVersion 0, creating nothing', async () => {
    const catalog = await fresh();
    for (const call of [
      () => catalog.replaceSync('ghost', { n: 1 }, { ifVersion: 1 }),
      () => catalog.replace('ghost', { n: 1 }, { ifVersion: 1 }),
      () => catalog.dropSync('ghost', { ifVersion: 1 }),
      () => catalog.drop('ghost', { ifVersion: 1 }),
    ]) {
      expect(await refusal(call)).toMatchObject({ code: 'ERR_CATALOG_CONFLICT', definitionName: 'ghost', currentVersion: 0 });
    }
    expect(catalog.has('ghost')).toBe(false);
  });

  it('never gives a name defined again after a drop a version it had: a stale ifVersion from before the drop is refused', async () => {
    const catalog = await fresh();
    catalog.defineSync('e', { n: 1 });
    const before = catalog.version('e')!;
    catalog.dropSync('e', { ifVersion: before });
    catalog.defineSync('e', { n: 2 });
    const after = catalog.version('e')!;
    expect(after).not.toBe(before);
    expect(await refusal(() => catalog.replace('e', { n: 3 }, { ifVersion: before }))).toMatchObject({ code: 'ERR_CATALOG_CONFLICT', currentVersion: after });
    expect(catalog.get('e')).toEqual({ n: 2 });
  });

  it('refuses an ifVersion that is not a positive safe integer with ERR_CATALOG_INVALID', async () => {
    const catalog = await fresh();
    catalog.defineSync('f', { n: 1 });
    const version = catalog.version('f');
    for (const bad of [0, -1, 1.5, Number.NaN, '1', 2 ** 53]) {
      const error = await refusal(() => catalog.replace('f', { n: 2 }, { ifVersion: bad as number }));
      expect(error, String(bad)).toMatchObject({ code: 'ERR_CATALOG_INVALID' });
    }
    expect(catalog.version('f')).toBe(version);
  });

  it('keeps the versions and refusals across a reopen', async () => {
    const catalog = await fresh();
    catalog.defineSync('d', { n: 1 });
    const stale = catalog.version('d')!;
    catalog.replaceSync('d', { n: 2 });
    const current = catalog.version('d')!;
    open_.splice(open_.indexOf(catalog), 1);
    const path = catalog.path;
    await catalog.close();
    const again = await open();
    open_.push(again);
    expect(again.path).toBe(path);
    expect(again.version('d')).toBe(current);
    expect(await refusal(() => again.replace('d', { n: 3 }, { ifVersion: stale }))).toMatchObject({ code: 'ERR_CATALOG_CONFLICT', currentVersion: current });
    again.replaceSync('d', { n: 3 }, { ifVersion: current });
    expect(again.version('d')).toBeGreaterThan(current);
  });
}

describe('ifVersion on a file catalog', () => {
  const path = tempCatalogPath();
  ifVersionSuite(() => Catalog.open(path));
});

describePg('ifVersion on a postgres catalog', () => {
  let url: string | undefined;
  ifVersionSuite(async () => {
    url ??= await pgDatabase('if_version');
    return Catalog.open(url);
  });
});
