import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * semantic_query(name, dimensions := [...], metrics := [...]) as a table macro over
 * `query(semantic_query_sql(...))`, so its rows compose with an outer WHERE / ORDER BY.
 *
 * A TEMP macro, created on one connection: DuckDB keeps it in that connection's own
 * in-memory `temp` catalog, so nothing is written to the host's database file (a plain
 * CREATE MACRO on a file-backed host would persist there), and it is gone when the
 * connection closes. Measured on DuckDB 1.5: no other place works for every connection —
 * the `system` catalog refuses new entries, and a macro in an ATTACHed in-memory database
 * is only found through `search_path`, which is itself per connection. The omitted lists
 * need typed defaults: an untyped `[]` does not bind to semantic_query_sql's VARCHAR[].
 *
 * The options `"where"`, `"order"`, `"limit"`, `"offset"` are cast to their types before the
 * call, so an untyped NULL or an INTEGER limit reaches semantic_query_sql typed. Their
 * names are reserved words in DuckDB's grammar: a call spells them quoted,
 * `"limit" := 10`. The where text is an argument value: it reaches the planner as data.
 */
export const SEMANTIC_QUERY_MACRO_SQL =
  'CREATE OR REPLACE TEMP MACRO semantic_query(name, dimensions := []::VARCHAR[], metrics := []::VARCHAR[], ' +
  '"where" := NULL::VARCHAR, "order" := NULL::VARCHAR[], "limit" := NULL::BIGINT, "offset" := NULL::BIGINT) AS TABLE ' +
  'SELECT * FROM query(semantic_query_sql(name, dimensions, metrics, ' +
  'CAST("where" AS VARCHAR), CAST("order" AS VARCHAR[]), CAST("limit" AS BIGINT), CAST("offset" AS BIGINT)))';

/** Creates (or re-creates) the semantic_query macro on `connection`. Runs outside any callback. */
export async function installSemanticQuery(connection: DuckDBConnection): Promise<void> {
  await connection.run(SEMANTIC_QUERY_MACRO_SQL);
}
