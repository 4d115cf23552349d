// Optimistic concurrency on both stores (issue 10): the same assertions on a file catalog
// and on a PostgreSQL-backed one. `version(name)` is 1 after a define and grows by one per
// replace; `replace`/`drop` with a stale `{ ifVersion }` refuse with ERR_CATALOG_CONFLICT,
// carrying the current version, and change nothing; with the current one they go through.
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

  it('counts versions from 1 on define, one more per replace, none after a drop', async () => {
    const catalog = await fresh();
    catalog.defineSync('a', { n: 1 });
    expect(catalog.version('a')).toBe(1);
    catalog.replaceSync('a', { n: 2 });
    await catalog.replace('a', { n: 3 });
    expect(catalog.version('a')).toBe(3);
    catalog.dropSync('a');
    expect(catalog.version('a')).toBeUndefined();
    expect(catalog.version('never')).toBeUndefined();
  });

  it('replaces and drops with the current ifVersion', async () => {
    const catalog = await fresh();
    catalog.defineSync('b', { n: 1 });
    catalog.replaceSync('b', { n: 2 }, { ifVersion: 1 });
    await catalog.replace('b', { n: 3 }, { ifVersion: 2 });
    expect(catalog.get('b')).toEqual({ n: 3 });
    expect(catalog.version('b')).toBe(3);
    await catalog.drop('b', { ifVersion: 3 });
    expect(catalog.has('b')).toBe(false);
    catalog.defineSync('b2', { n: 1 });
    catalog.dropSync('b2', { ifVersion: 1 });
    expect(catalog.has('b2')).toBe(false);
  });

  it('refuses a stale ifVersion with ERR_CATALOG_CONFLICT carrying the current version, changing nothing', async () => {
    const catalog = await fresh();
    catalog.defineSync('c', { n: 1 });
    const stale = catalog.version('c')!;
    catalog.replaceSync('c', { n: 2 });
    const calls: Array<[string, () => unknown]> = [
      ['replaceSync', () => catalog.replaceSync('c', { n: 99 }, { ifVersion: stale })],
      ['replace', () => catalog.replace('c', { n: 99 }, { ifVersion: stale })],
      ['dropSync', () => catalog.dropSync('c', { ifVersion: stale })],
      ['drop', () => catalog.drop('c', { ifVersion: stale })],
    ];
    for (const [label, call] of calls) {
      const error = await refusal(call);
      expect(error, label).toMatchObject({ code: 'ERR_CATALOG_CONFLICT', definitionName: 'c', expectedVersion: stale, currentVersion: 2 });
      expect(catalog.get('c'), label).toEqual({ n: 2 });
      expect(catalog.version('c'), label).toBe(2);
    }
    // A version from the future is as stale as one from the past.
    expect(await refusal(() => catalog.replace('c', { n: 99 }, { ifVersion: 7 }))).toMatchObject({ code: 'ERR_CATALOG_CONFLICT', currentVersion: 2 });
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

  it('starts a name defined again after a drop over at version 1', async () => {
    const catalog = await fresh();
    catalog.defineSync('e', { n: 1 });
    catalog.replaceSync('e', { n: 2 });
    catalog.dropSync('e', { ifVersion: 2 });
    catalog.defineSync('e', { n: 3 });
    expect(catalog.version('e')).toBe(1);
  });

  it('refuses an ifVersion that is not a positive safe integer with ERR_CATALOG_INVALID', async () => {
    const catalog = await fresh();
    catalog.defineSync('f', { n: 1 });
    for (const bad of [0, -1, 1.5, Number.NaN, '1', 2 ** 53]) {
      const error = await refusal(() => catalog.replace('f', { n: 2 }, { ifVersion: bad as number }));
      expect(error, String(bad)).toMatchObject({ code: 'ERR_CATALOG_INVALID' });
    }
    expect(catalog.version('f')).toBe(1);
  });

  it('keeps the versions and refusals across a reopen', async () => {
    const catalog = await fresh();
    catalog.defineSync('d', { n: 1 });
    catalog.replaceSync('d', { n: 2 });
    open_.splice(open_.indexOf(catalog), 1);
    const path = catalog.path;
    await catalog.close();
    const again = await open();
    open_.push(again);
    expect(again.path).toBe(path);
    expect(again.version('d')).toBe(2);
    expect(await refusal(() => again.replace('d', { n: 3 }, { ifVersion: 1 }))).toMatchObject({ code: 'ERR_CATALOG_CONFLICT' });
    again.replaceSync('d', { n: 3 }, { ifVersion: 2 });
    expect(again.version('d')).toBe(3);
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
