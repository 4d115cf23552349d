import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import { jsonFor, nameFor } from '../payload.js';
import type { WriteTarget } from '../write-target.js';

/**
 * The no-worker baseline: @duckdb/node-api on the main thread, one prepared INSERT per op in
 * autocommit, so each op is its own commit (DuckDB syncs its WAL on commit). Same settings
 * and table shape as duckcat's writer, so the difference is the thread hop and the Map.
 */
export function duckdbDirect(): WriteTarget {
  let instance: DuckDBInstance | undefined;
  let connection: DuckDBConnection | undefined;
  let insert: DuckDBPreparedStatement | undefined;
  return {
    label: 'duckdb-direct',
    durable: true,
    concurrency: 1,
    async setup(dir) {
      instance = await DuckDBInstance.create(join(dir, 'direct.duckdb'), {
        threads: '1',
        autoinstall_known_extensions: 'false',
        autoload_known_extensions: 'false',
      });
      connection = await instance.connect();
      await connection.run(
        'CREATE TABLE t(name VARCHAR PRIMARY KEY, definition JSON, version BIGINT, updated_at TIMESTAMPTZ)',
      );
      insert = await connection.prepare('INSERT INTO t VALUES ($1, $2, $3, now())');
    },
    async writeOne(i) {
      const statement = insert;
      if (statement === undefined) throw new Error('duckdb-direct: writeOne before setup');
      statement.bindVarchar(1, nameFor(i));
      statement.bindVarchar(2, jsonFor(i));
      statement.bindBigInt(3, 1n);
      await statement.run();
    },
    async teardown() {
      insert?.destroySync();
      connection?.closeSync();
      instance?.closeSync();
      insert = undefined;
      connection = undefined;
      instance = undefined;
    },
  };
}
