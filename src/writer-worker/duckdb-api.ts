/**
 * The parts of `@duckdb/node-api` the Store uses, loaded with `require`. The store thread
 * loads this module late (after DuckDB's lock and position, see store-thread.ts), and a
 * late ESM `import` of the package (CommonJS) in that thread was seen to give a namespace
 * whose every export was undefined on Node 20 (after the socket server had started; not
 * reproduced outside the thread), while `require` gave the whole package.
 */
import { createRequire } from 'node:module';

type Api = typeof import('@duckdb/node-api');

const api = createRequire(import.meta.url)('@duckdb/node-api') as Api;

export const { DuckDBAppender, DuckDBConnection, DuckDBInstance, INTEGER, LIST, VARCHAR, listValue, timestampTZValue } = api;
export type DuckDBAppender = import('@duckdb/node-api').DuckDBAppender;
export type DuckDBConnection = import('@duckdb/node-api').DuckDBConnection;
export type DuckDBInstance = import('@duckdb/node-api').DuckDBInstance;
export type DuckDBBlobValue = import('@duckdb/node-api').DuckDBBlobValue;
export type DuckDBPreparedStatement = import('@duckdb/node-api').DuckDBPreparedStatement;
