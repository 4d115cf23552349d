import { join } from 'node:path';
import { requirePeer } from '../peer-require.js';
import { jsonFor, nameFor } from '../payload.js';
import type { WriteTarget } from '../write-target.js';

/**
 * Loads lmdb on first use rather than at import, so that where the package is missing (a
 * bench peer with a native binary) only the lmdb rows fail and the rest still run.
 * Default options on purpose: on Linux that is `overlappingSync` without `separateFlushed`,
 * under which a `put` promise resolves only after its transaction's fdatasync (lmdb-js
 * README, "put"), and `putSync` fdatasyncs on the calling thread before it returns. strace
 * shows both orders. So both rows are durable, like every duckcat row.
 */
async function openStore(dir: string): Promise<LmdbStore> {
  const { open } = requirePeer('lmdb') as { open(options: { path: string; encoding: 'string' }): LmdbStore };
  return open({ path: join(dir, 'lmdb'), encoding: 'string' });
}

/** The part of lmdb-js's RootDatabase the benchmark uses (lmdb lives in bench/peer-deps). */
interface LmdbStore {
  put(key: string, value: string): Promise<boolean>;
  putSync(key: string, value: string): boolean;
  close(): Promise<void>;
}

/**
 * lmdb-js `await put` from `callers` concurrent async callers, each awaiting its own put:
 * lmdb batches whatever is queued into one transaction and one flush, so this is the group
 * commit duckcat's `define xN` rows are measured against.
 */
export function lmdbAwaitPut(callers: number): WriteTarget {
  let db: LmdbStore | undefined;
  return {
    label: `lmdb-js await put x${callers}`,
    durable: true,
    concurrency: callers,
    async setup(dir) {
      db = await openStore(dir);
    },
    writeOne(i) {
      if (db === undefined) throw new Error('lmdb-js: writeOne before setup');
      return db.put(nameFor(i), jsonFor(i));
    },
    async teardown() {
      await db?.close();
      db = undefined;
    },
  };
}

/**
 * lmdb-js `putSync` from one caller: one transaction and one flush per op on the main
 * thread, the peer of duckcat `defineSync`. lmdb's README warns it is slow for frequent
 * writes; that cost is what this row shows.
 */
export function lmdbPutSync(): WriteTarget {
  let db: LmdbStore | undefined;
  return {
    label: 'lmdb-js putSync',
    durable: true,
    concurrency: 1,
    async setup(dir) {
      db = await openStore(dir);
    },
    writeOne(i) {
      if (db === undefined) throw new Error('lmdb-js: writeOne before setup');
      db.putSync(nameFor(i), jsonFor(i));
    },
    async teardown() {
      await db?.close();
      db = undefined;
    },
  };
}
