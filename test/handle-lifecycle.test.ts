import { Catalog, CatalogClient, CatalogClosedError, type CatalogOptions } from 'duckcat';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnFixture, waitForLine } from './helpers/child.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

// Issue 13, defect 3: `client.define()` then `client.close()` lost the write (the outbox
// flushed in a microtask after the port had closed) and the caller got ERR_CATALOG_TIMEOUT
// after timeoutMs; RemoteCatalog.close() left pending calls to time out the same way.
// One lifecycle now: open → closing → closed; close() lets sent calls finish and refuses new ones.

const owners: Catalog[] = [];
afterEach(async () => {
  await Promise.all(owners.splice(0).map((cat) => cat.close()));
});

async function openOwner(options?: CatalogOptions): Promise<Catalog> {
  const cat = await Catalog.open(tempCatalogPath(), options);
  owners.push(cat);
  return cat;
}

async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

describe('close() settles every call at once', () => {
  it('a CatalogClient write issued just before close() commits, and close() waits for it', async () => {
    const cat = await openOwner({ timeoutMs: 5_000 });
    const client = CatalogClient.fromPort(cat.port());
    const started = performance.now();
    const write = client.define('sent-before-close', { v: 1 });
    const closing = client.close();
    expect(client.state).toBe('closing');
    expect(await outcome(write)).toBe('ok');
    await closing;
    expect(client.state).toBe('closed');
    // Well inside timeoutMs: nothing waited for a deadline.
    expect(performance.now() - started).toBeLessThan(2_500);
    expect(cat.get('sent-before-close')).toEqual({ v: 1 });
  });

  it('calls made after close() began reject with ERR_CATALOG_CLOSED, sync ones throw it', async () => {
    const cat = await openOwner();
    const client = CatalogClient.fromPort(cat.port());
    const closing = client.close();
    expect(await outcome(client.define('late', 1))).toBe('ERR_CATALOG_CLOSED');
    expect(() => client.defineSync('late', 1)).toThrow(CatalogClosedError);
    expect(() => client.get('late')).toThrow(CatalogClosedError);
    await closing;
    expect(cat.has('late')).toBe(false);
  });

  it('a RemoteCatalog write issued just before close() commits', async () => {
    const cat = await openOwner({ timeoutMs: 5_000 });
    const remote = await Catalog.connect(cat.path);
    const writes = [remote.define('remote-a', 1), remote.replace('remote-b', 2)];
    const closing = remote.close();
    expect(await Promise.all(writes.map(outcome))).toEqual(['ok', 'ok']);
    await closing;
    expect(remote.state).toBe('closed');
    await cat.sync();
    expect(cat.get('remote-a')).toBe(1);
    expect(cat.get('remote-b')).toBe(2);
  });

  it('the owner\'s async writes issued just before close() commit and survive a reopen', async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path);
    const writes = Array.from({ length: 50 }, (_, i) => cat.define(`k${i}`, i));
    const closing = cat.close();
    expect(cat.state).toBe('closing');
    expect(new Set(await Promise.all(writes.map(outcome)))).toEqual(new Set(['ok']));
    await closing;
    expect(cat.state).toBe('closed');
    const reopened = await Catalog.open(path);
    expect(reopened.size).toBe(50);
    await reopened.close();
  });

  it('close() has one signature everywhere: a promise, the same one each time', async () => {
    const cat = await openOwner();
    const client = CatalogClient.fromPort(cat.port());
    const remote = await Catalog.connect(cat.path);
    for (const handle of [client, remote]) {
      const first = handle.close();
      expect(first).toBeInstanceOf(Promise);
      expect(handle.close()).toBe(first);
      await first;
    }
  });
});

describe('after the owner closes', () => {
  it('a CatalogClient\'s reads, writes and sync() throw ERR_CATALOG_CLOSED, and connected is false', async () => {
    const cat = await Catalog.open(tempCatalogPath());
    const client = CatalogClient.fromPort(cat.port());
    client.defineSync('x', 1);
    expect(client.connected).toBe(true);
    await cat.close();
    expect(client.connected).toBe(false);
    expect(() => client.get('x')).toThrow(CatalogClosedError);
    expect(() => client.list()).toThrow(CatalogClosedError);
    expect(() => client.defineSync('y', 1)).toThrow(CatalogClosedError);
    expect(await outcome(client.sync())).toBe('ERR_CATALOG_CLOSED');
    await client.close();
  });
});

describe('a RemoteCatalog when its owner goes away', () => {
  it('the owner closes: its close() does not wait for connected processes, and every remote call then throws ERR_CATALOG_CLOSED', async () => {
    const cat = await Catalog.open(tempCatalogPath(), { timeoutMs: 10_000 });
    const remote = await Catalog.connect(cat.path);
    remote.defineSync('r', 1);
    const started = performance.now();
    await cat.close();
    // Was timeoutMs + more: an open connection kept the store thread alive until it was stopped.
    expect(performance.now() - started).toBeLessThan(5_000);
    await expect.poll(() => remote.connected).toBe(false);
    expect(() => remote.get('r')).toThrow(CatalogClosedError);
    expect(() => remote.defineSync('s', 1)).toThrow(CatalogClosedError);
    expect(await outcome(remote.sync())).toBe('ERR_CATALOG_CLOSED');
    await remote.close();
  });

  it('the owner is killed: reads keep serving the last state, connected says so, writes and sync() throw ERR_CATALOG_WRITER_EXITED', async () => {
    const path = tempCatalogPath();
    const owner = spawnFixture('own-catalog.mjs', [path]);
    await waitForLine(owner, /^owning \d+/);
    const remote = await Catalog.connect(path);
    remote.defineSync('before-the-kill', 1);
    owner.kill('SIGKILL');
    await expect.poll(() => remote.connected, { timeout: 10_000 }).toBe(false);
    expect(remote.get('before-the-kill')).toBe(1);
    expect(remote.has('owner')).toBe(true);
    expect(() => remote.defineSync('after', 1)).toThrow(expect.objectContaining({ code: 'ERR_CATALOG_WRITER_EXITED' }));
    expect(await outcome(remote.sync())).toBe('ERR_CATALOG_WRITER_EXITED');
    await remote.close();
  });
});

describe('checkpoint() on every kind of handle', () => {
  it('a CatalogClient and a RemoteCatalog ask the owner\'s writer for it', async () => {
    const cat = await openOwner();
    const client = CatalogClient.fromPort(cat.port());
    const remote = await Catalog.connect(cat.path);
    client.defineSync('c', 1);
    await client.checkpoint();
    await remote.checkpoint();
    expect((await cat.stats()).lag.rows).toBe(0);
    await Promise.all([client.close(), remote.close()]);
  });
});

describe('sync()', () => {
  it('resolves on every kind of handle, and a remote read after it sees a write acknowledged elsewhere', async () => {
    const cat = await openOwner();
    const client = CatalogClient.fromPort(cat.port());
    const remote = await Catalog.connect(cat.path);
    for (let i = 0; i < 200; i++) {
      client.defineSync(`w${i}`, i);
      await remote.sync();
      expect(remote.get(`w${i}`)).toBe(i);
    }
    await cat.sync();
    await client.sync();
    await Promise.all([client.close(), remote.close()]);
  });
});
