// Optimistic concurrency on both stores (issue 10): the same assertions on a file catalog
// and on a PostgreSQL-backed one. `version(name)` is the seq of the batch that last wrote
// the name (its change events' seq), so it grows with every write and
// never repeats, even across a drop and a new define (no ABA); `replace`/`drop` with a stale
// `{ ifVersion }` refuse with ERR_CATALOG_CONFLICT, carrying the current version, and change
// nothing; with the current one they go through.
import { Catalog, type CatalogView } from 'duckcat';
import { afterEach, describe, expect, it } from 'vitest';
import { runFixture } from './helpers/child.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';
import { describePg, pgDatabase } from './helpers/pg-test.js';

type Opener = () => Promise<Catalog>;
/** Another handle on the same catalog: another process's view of it (a RemoteCatalog, or a peer on the same URL). */
type Peer = (catalog: Catalog) => Promise<CatalogView>;

/** The call's error (or a failure when it does not throw). */
async function refusal(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to be refused');
}

function ifVersionSuite(open: Opener, peer: Peer): void {
  const open_: Catalog[] = [];
  const peers: CatalogView[] = [];
  // One catalog at a time: a file has one owner per process.
  afterEach(async () => {
    for (const view of peers.splice(0)) await view.close();
    for (const catalog of open_.splice(0)) await catalog.close();
  });
  const fresh = async (): Promise<Catalog> => {
    const catalog = await open();
    open_.push(catalog);
    return catalog;
  };

  it('gives every write a new, larger version (the seq of its batch), none after a drop', async () => {
    const catalog = await fresh();
    catalog.defineSync('a', { n: 1 });
    const first = catalog.version('a')!;
    expect(first).toBeGreaterThan(0);
    catalog.replaceSync('a', { n: 2 });
    const second = catalog.version('a')!;
    expect(second).toBeGreaterThan(first);
    await catalog.replace('a', { n: 3 });
    expect(catalog.version('a')).toBeGreaterThan(second);
    // Another name's write moves the catalog's seq too: versions are the catalog's, not a per-name count.
    catalog.defineSync('a2', 1);
    expect(catalog.version('a2')).toBeGreaterThan(catalog.version('a')!);
    catalog.dropSync('a');
    expect(catalog.version('a')).toBeUndefined();
    expect(catalog.version('never')).toBeUndefined();
  });

  it('gives a write the seq of its change event as its version', async () => {
    const catalog = await fresh();
    // Other names first, so the seqs of a's writes are not 1, 2, 3 by coincidence.
    catalog.defineSync('pad1', {});
    catalog.defineSync('pad2', {});
    const events: Array<[string, number, number]> = [];
    catalog.on('change', (change) => events.push([change.name, change.version, change.seq]));
    catalog.defineSync('a', { n: 1 });
    const v1 = catalog.version('a')!;
    catalog.replaceSync('a', { n: 2 });
    const v2 = catalog.version('a')!;
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual([['a', v1, v1], ['a', v2, v2]]);
  });

  it('gives every op of an apply the seq of the batch\'s change events as its one version, on every handle', async () => {
    const catalog = await fresh();
    const other = await peer(catalog);
    peers.push(other);
    catalog.defineSync('p', {});
    await other.sync();
    await new Promise((resolve) => setImmediate(resolve));
    const events: Array<[string, number, number]> = [];
    const seen: Array<[string, number, number]> = [];
    catalog.on('change', (change) => events.push([change.name, change.version, change.seq]));
    other.on('change', (change) => seen.push([change.name, change.version, change.seq]));
    await catalog.apply([
      { op: 'define', name: 'x', definition: 1 },
      { op: 'define', name: 'y', definition: 2 },
      { op: 'replace', name: 'p', definition: 3 },
      { op: 'replace', name: 'x', definition: 4 },
    ]);
    const version = catalog.version('x')!;
    expect([catalog.version('y'), catalog.version('p')]).toEqual([version, version]);
    await other.sync();
    await new Promise((resolve) => setImmediate(resolve));
    const expected = [['x', version, version], ['y', version, version], ['p', version, version]];
    expect([...events].sort()).toEqual([...expected].sort());
    expect([...seen].sort()).toEqual([...expected].sort());
  });

  it('replaces and drops with the current ifVersion', async () => {
    const catalog = await fresh();
    catalog.defineSync('b', { n: 1 });
    catalog.replaceSync('b', { n: 2 }, { ifVersion: catalog.version('b') });
    await catalog.replace('b', { n: 3 }, { ifVersion: catalog.version('b') });
    expect(catalog.get('b')).toEqual({ n: 3 });
    await catalog.drop('b', { ifVersion: catalog.version('b') });
    expect(catalog.has('b')).toBe(false);
    catalog.defineSync('b2', { n: 1 });
    catalog.dropSync('b2', { ifVersion: catalog.version('b2') });
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
    const current = catalog.version('c')!;
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

  it('gives a name defined again after a drop a version it never had: the old one conflicts (no ABA)', async () => {
    const catalog = await fresh();
    catalog.defineSync('e', { n: 1 });
    const first = catalog.version('e')!;
    catalog.dropSync('e', { ifVersion: first });
    catalog.defineSync('e', { n: 2 });
    const again = catalog.version('e')!;
    expect(again).toBeGreaterThan(first);
    expect(await refusal(() => catalog.replace('e', { n: 99 }, { ifVersion: first }))).toMatchObject({ code: 'ERR_CATALOG_CONFLICT', expectedVersion: first, currentVersion: again });
    // Also when the drop and the define are one apply (one batch).
    await catalog.apply([{ op: 'drop', name: 'e' }, { op: 'define', name: 'e', definition: { n: 3 } }]);
    const third = catalog.version('e')!;
    expect(third).toBeGreaterThan(again);
    expect(await refusal(() => catalog.drop('e', { ifVersion: again }))).toMatchObject({ code: 'ERR_CATALOG_CONFLICT', currentVersion: third });
    expect(catalog.get('e')).toEqual({ n: 3 });
  });

  it('publishes two writes of one name sent in one tick as their net state, with a version above every earlier one', async () => {
    const catalog = await fresh();
    await Promise.all([catalog.define('t', 1), catalog.define('u', 1)]);
    const before = catalog.version('t')!;
    const events: number[] = [];
    catalog.on('change', ({ name, version }) => name === 't' && events.push(version));
    await Promise.all([catalog.replace('t', 3), catalog.replace('t', 4)]);
    await new Promise((resolve) => setImmediate(resolve));
    // Usually one group commit (one event, the net state); never a version seen before.
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events[0]).toBeGreaterThan(before);
    for (let i = 1; i < events.length; i++) expect(events[i]).toBeGreaterThan(events[i - 1]!);
    expect(catalog.getEntry('t')).toEqual({ definition: 4, version: events.at(-1) });
    // A write guarded by the version from before the pair is refused with the final one.
    expect(await refusal(() => catalog.replace('t', 5, { ifVersion: before }))).toMatchObject({ code: 'ERR_CATALOG_CONFLICT', currentVersion: events.at(-1) });
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
    const old = catalog.version('d')!;
    catalog.replaceSync('d', { n: 2 });
    const version = catalog.version('d')!;
    open_.splice(open_.indexOf(catalog), 1);
    const path = catalog.path;
    await catalog.close();
    const again = await open();
    open_.push(again);
    expect(again.path).toBe(path);
    expect(again.version('d')).toBe(version);
    expect(await refusal(() => again.replace('d', { n: 3 }, { ifVersion: old }))).toMatchObject({ code: 'ERR_CATALOG_CONFLICT', currentVersion: version });
    again.replaceSync('d', { n: 3 }, { ifVersion: version });
    expect(again.version('d')).toBeGreaterThan(version);
  });
}

describe('ifVersion on a file catalog', () => {
  const path = tempCatalogPath();
  ifVersionSuite(() => Catalog.open(path), (catalog) => Catalog.connect(catalog.path));
});

describePg('ifVersion on a postgres catalog', () => {
  let url: string | undefined;
  ifVersionSuite(
    async () => {
      url ??= await pgDatabase('if_version');
      return Catalog.open(url);
    },
    () => Catalog.open(url!),
  );

  it('refuses a replace guarded by a version read before another process dropped and defined the name again (no ABA)', async () => {
    const abaUrl = await pgDatabase('if_version_aba');
    const catalog = await Catalog.open(abaUrl);
    try {
      catalog.defineSync('aba', 'first');
      const read = catalog.version('aba')!;
      // Another process drops the name and defines it again, with the same definition.
      const peer = await runFixture('pg-peer.mjs', [abaUrl, 'drop:aba', 'define:aba:"first"']);
      expect(peer.code, peer.stderr).toBe(0);
      expect(peer.stdout.trim().split('\n').map((line) => JSON.parse(line))).toEqual([{ name: 'aba', ok: true }, { name: 'aba', ok: true }]);
      // This replica may not have seen it yet: PostgreSQL's row decides.
      const error = await refusal(() => catalog.replaceSync('aba', 'lost', { ifVersion: read }));
      await catalog.sync();
      const now = catalog.version('aba')!;
      expect(now).toBeGreaterThan(read);
      expect(error).toMatchObject({ code: 'ERR_CATALOG_CONFLICT', definitionName: 'aba', expectedVersion: read, currentVersion: now });
      await expect(catalog.drop('aba', { ifVersion: read })).rejects.toMatchObject({ code: 'ERR_CATALOG_CONFLICT', currentVersion: now });
      expect(catalog.get('aba')).toBe('first');
      catalog.replaceSync('aba', 'won', { ifVersion: now });
      expect(catalog.get('aba')).toBe('won');
    } finally {
      await catalog.close();
    }
  });
});
