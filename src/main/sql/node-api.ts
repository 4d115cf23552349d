/**
 * `@duckdb/node-api` is loaded on first attach only, so a service that never uses the
 * SQL functions never loads the DuckDB addon on its main thread.
 */
export type NodeApi = typeof import('@duckdb/node-api');

let loaded: Promise<NodeApi> | undefined;

/** The host's copy of `@duckdb/node-api`, imported once. */
export function loadNodeApi(): Promise<NodeApi> {
  loaded ??= import('@duckdb/node-api');
  return loaded;
}
