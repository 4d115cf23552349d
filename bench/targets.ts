import { betterSqlite3 } from './peers/better-sqlite3.js';
import { duckcatDefine, duckcatDefineSync } from './peers/duckcat.js';
import { duckcatClientProcess, duckcatClientThread } from './peers/duckcat-clients.js';
import { duckcatPgDefine, duckcatPgDefineSync } from './peers/duckcat-postgres.js';
import { duckdbDirect } from './peers/duckdb-direct.js';
import { fsyncFloor } from './peers/fsync-floor.js';
import { jsonSidecar } from './peers/json-sidecar.js';
import { lmdbAwaitPut, lmdbPutSync } from './peers/lmdb.js';
import type { PgBenchServer } from './pg-server.js';
import type { WriteTarget } from './write-target.js';

/** The label every other row's ratio is taken against. */
export const REFERENCE_LABEL = 'duckcat defineSync';

/**
 * Every write path in report order: duckcat first (the Postgres-backed rows when `pg` is
 * a running server), then peers from heaviest to the floor.
 */
export function allTargets(pg?: PgBenchServer): WriteTarget[] {
  return [
    duckcatDefineSync(),
    duckcatDefineSync('duckdb'),
    duckcatDefineSync('no journal'),
    duckcatDefine(1),
    duckcatDefine(8),
    duckcatDefine(64),
    duckcatClientThread(),
    duckcatClientProcess(),
    ...(pg === undefined ? [] : [duckcatPgDefineSync(pg), duckcatPgDefine(pg, 64)]),
    duckdbDirect(),
    lmdbAwaitPut(1),
    lmdbAwaitPut(64),
    lmdbPutSync(),
    betterSqlite3('FULL'),
    betterSqlite3('NORMAL'),
    jsonSidecar(100),
    jsonSidecar(1_000),
    jsonSidecar(10_000),
    fsyncFloor(),
  ];
}

/**
 * Keeps the targets whose label contains any of `filters` (case-insensitive); all of them
 * when `filters` is empty.
 */
export function selectTargets(targets: WriteTarget[], filters: readonly string[]): WriteTarget[] {
  if (filters.length === 0) return targets;
  const wanted = filters.map((filter) => filter.toLowerCase());
  return targets.filter((target) => wanted.some((filter) => target.label.toLowerCase().includes(filter)));
}
