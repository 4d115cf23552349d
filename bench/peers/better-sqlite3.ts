import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { requirePeer } from '../peer-require.js';
import { jsonFor, nameFor } from '../payload.js';
import type { WriteTarget } from '../write-target.js';

/**
 * better-sqlite3 in WAL mode, one prepared INSERT per op in autocommit. With
 * synchronous=FULL every commit fsyncs the WAL (durable); with NORMAL the WAL is only
 * fsynced at checkpoints, so a power loss can drop the last commits (labelled not durable).
 */
export function betterSqlite3(synchronous: 'FULL' | 'NORMAL'): WriteTarget {
  let db: Database.Database | undefined;
  let insert: Database.Statement<[string, string]> | undefined;
  return {
    label: `better-sqlite3 ${synchronous}`,
    durable: synchronous === 'FULL',
    concurrency: 1,
    async setup(dir) {
      const Sqlite = requirePeer('better-sqlite3') as typeof Database;
      db = new Sqlite(join(dir, `sqlite-${synchronous.toLowerCase()}.db`));
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${synchronous}`);
      db.exec('CREATE TABLE t(name TEXT PRIMARY KEY, definition TEXT NOT NULL, version INTEGER NOT NULL, updated_at TEXT NOT NULL)');
      insert = db.prepare("INSERT INTO t VALUES (?, ?, 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
    },
    writeOne(i) {
      if (insert === undefined) throw new Error('better-sqlite3: writeOne before setup');
      insert.run(nameFor(i), jsonFor(i));
    },
    async teardown() {
      db?.close();
      db = undefined;
      insert = undefined;
    },
  };
}
