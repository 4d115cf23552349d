import { Catalog, CatalogClient } from 'duckcat';
import { once } from 'node:events';
import { setImmediate } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { describe, expect, it } from 'vitest';
import { closedAfterEach } from './helpers/closed-after-each.js';
import { fixture } from './helpers/child.js';
import { seededRandom } from './helpers/seeded-random.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';
import { runAckWriter, sorted } from './helpers/ack-writer.js';
import { HELD_BEHIND_WRITER } from './helpers/reopen.js';

const open = closedAfterEach();
const openCatalog = (): Promise<Catalog> => open.open(tempCatalogPath());

function startClientThread(cat: Catalog): Worker {
  const port = cat.port();
  return new Worker(fixture('thread-client.mjs'), { workerData: { port }, transferList: [port] });
}

describe('CatalogClient in another thread', () => {
  it('reads the owner\'s rows and writes through the same writer', async () => {
    const cat = await openCatalog();
    cat.defineSync('from-main', { by: 'main' });
    const thread = startClientThread(cat);
    const [report] = (await once(thread, 'message')) as [{ seen: { before: unknown; size: number }; duplicate: string; list: string[] }];
    expect(report.seen).toEqual({ before: { by: 'main' }, size: 1 });
    expect(report.duplicate).toBe('ERR_CATALOG_EXISTS');
    expect(report.list).toEqual(['async-from-thread', 'from-main', 'from-thread']);
    // Acknowledged in the other thread, so visible here at once.
    expect(cat.get('from-thread')).toEqual({ by: 'thread' });
    expect(cat.get('async-from-thread')).toBe(2);
    cat.defineSync('from-main-later', 3);
    thread.postMessage('read');
    const [answer] = (await once(thread, 'message')) as [{ value: unknown }];
    expect(answer.value).toBe(3);
    // The thread closes its client and has nothing left to run. Its exit is not this test's
    // claim: under heavy load a worker whose client has closed sometimes never finishes
    // Node's worker teardown (see the next test; seen again in CI at load ~8), so it gets
    // 10 s, then is terminated.
    await Promise.race([once(thread, 'exit'), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    await thread.terminate();
  });

  it('refuses writes from a client once the owner closed the catalog', async () => {
    const cat = await Catalog.open(tempCatalogPath());
    const thread = startClientThread(cat);
    await once(thread, 'message');
    await cat.close();
    thread.postMessage('write-after-close');
    const [answer] = (await once(thread, 'message')) as [{ code: string }];
    expect(answer.code).toBe('ERR_CATALOG_CLOSED');
    // Not `once(thread, 'exit')`: under heavy load a worker whose client has closed (even
    // one that calls process.exit) sometimes never finishes Node's worker teardown — seen
    // in ~1 of 4 runs at load 6+, below duckcat's JavaScript; noted in the issue, not this test's claim.
    await thread.terminate();
  });

  it('never reads older than an acknowledged write, with a piscina pool of 4 hammering', async () => {
    const cat = await openCatalog();
    const keys = 16;
    const writers = 8;
    // Keys past `keys` are the owner thread's own: it writes them while the pool runs, and
    // the pool reads them (and the owner reads the pool's), each checked against `acked`.
    const ownerKeys = 4;
    const acked = new Int32Array(new SharedArrayBuffer((keys + ownerKeys) * Int32Array.BYTES_PER_ELEMENT));
    const pool = new Piscina({ filename: fixture('pool-task.mjs'), minThreads: 4, maxThreads: 4 });
    const owner = { writes: 0, reads: 0, stale: [] as unknown[], interleaved: 0 };
    const poolWrites = () => {
      let sum = 0;
      for (let key = 0; key < keys; key++) sum += Atomics.load(acked, key);
      return sum;
    };
    try {
      const random = seededRandom(99);
      let done = false;
      const tasks = Promise.all(
        Array.from({ length: writers }, (_, writer) => {
          const port = cat.port();
          return pool.run({ port, acked, keys, writers, owner: writer, iterations: 150, seed: writer + 1 }, { transferList: [port] }) as Promise<{
            writes: number;
            reads: number;
            stale: unknown[];
          }>;
        }),
      ).finally(() => (done = true));
      // The owner thread reads and writes meanwhile too, yielding between calls so the
      // pool's replies get through.
      while (!done) {
        const key = Math.floor(random() * (keys + ownerKeys));
        if (key >= keys) {
          const value = Atomics.load(acked, key) + 1;
          const before = poolWrites();
          cat.replaceSync(`key${key}`, { value });
          Atomics.store(acked, key, value);
          owner.writes++;
          // A write with pool writes acknowledged both before and after it.
          if (before > 0 && !done) owner.interleaved++;
        } else {
          const mustSee = Atomics.load(acked, key);
          const value = (cat.get(`key${key}`) as { value: number } | undefined)?.value ?? 0;
          if (value < mustSee) owner.stale.push({ key, value, mustSee });
          owner.reads++;
        }
        await setImmediate();
      }
      const results = await tasks;
      const stale = results.flatMap((r) => r.stale);
      expect(stale).toEqual([]);
      expect(owner.stale).toEqual([]);
      const writes = results.reduce((sum, r) => sum + r.writes, 0);
      expect(writes).toBeGreaterThan(300);
      expect(owner.reads).toBeGreaterThan(0);
      expect(owner.writes).toBeGreaterThan(0);
      expect(owner.interleaved).toBeGreaterThan(0);
      for (let key = 0; key < keys + ownerKeys; key++) {
        const stored = cat.get(`key${key}`) as { value: number } | undefined;
        expect(stored?.value ?? 0).toBe(Atomics.load(acked, key));
      }
    } finally {
      await pool.destroy();
    }
    const path = cat.path;
    const snapshot = cat.entries();
    await cat.close();
    const reopened = await Catalog.open(path);
    expect(reopened.entries()).toEqual(snapshot);
    await reopened.close();
  });

  it('refuses a port that did not come from catalog.port()', async () => {
    const { CatalogClient } = await import('duckcat');
    const { port1 } = new MessageChannel();
    expect(() => CatalogClient.fromPort(port1 as unknown as import('node:worker_threads').MessagePort)).toThrow(
      expect.objectContaining({ code: 'ERR_CATALOG_INVALID' }),
    );
    port1.close();
  });

  it("a client of a read-only owner sees every acknowledged write, also those only the journal holds", { timeout: 60_000 }, async () => {
    // DuckDB held a minute behind, then kill -9: the acknowledged rows are in the journal alone,
    // and a read-only open cannot roll them forward into DuckDB.
    const path = tempCatalogPath();
    const run = await runAckWriter({ path, seed: 11, names: 40, limit: 120, ...HELD_BEHIND_WRITER }, { atDone: true });
    expect(run.killed).toBe(true);
    const expected = run.model.expected();
    expect(expected.size).toBeGreaterThan(0);
    const owner = await Catalog.open(path, { readOnly: true });
    open.track(owner);
    const client = CatalogClient.fromPort(owner.port());
    expect(sorted(new Map(client.entries()))).toEqual(sorted(expected));
    await client.close();
  });
});
