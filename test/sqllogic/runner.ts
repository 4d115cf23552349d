/**
 * Runs a SQLLogicTest file against a `@duckdb/node-api` host with a duckcat catalog
 * attached through `attachCatalog`, as a SQL user would have it.
 *
 * - `require semantic_views`: attaches the host's catalog (and re-attaches after every
 *   `load` / `restart`).
 * - `load <path>`: closes the host and its catalog, and opens a file-backed host at
 *   `<path>` (`__TEST_DIR__` is a fresh temporary directory per run).
 * - `restart`: closes the host instance and its catalog, and opens fresh ones on the same
 *   files.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { attachCatalog, type Catalog } from 'duckcat';
import { parseSqlLogic, type SqlLogicRecord } from './parser.js';
import { renderRows } from './render.js';

/** What a run found. `records` counts statements and queries (the checks), not directives. */
export interface SqlLogicResult {
  readonly records: number;
  readonly passed: number;
  readonly failures: readonly string[];
}

const EXTENSION = 'semantic_views';

interface Host {
  instance: DuckDBInstance;
  connection: DuckDBConnection;
  catalog: Catalog | undefined;
}

/** Runs the records of `text` in order, continuing after a failed check. */
export async function runSqlLogic(text: string, file = '<text>'): Promise<SqlLogicResult> {
  const records = parseSqlLogic(text);
  const testDir = mkdtempSync(join(tmpdir(), 'duckcat-sqllogic-'));
  let path = ':memory:';
  let required = false;
  let host = await openHost(path, required);
  let checks = 0;
  let passed = 0;
  const failures: string[] = [];
  try {
    for (const record of records) {
      if (record.kind === 'require') {
        if (record.extension !== EXTENSION) throw new Error(`${file}:${record.line}: cannot require "${record.extension}"`);
        required = true;
        host.catalog ??= await attachCatalog(host.connection);
        continue;
      }
      if (record.kind === 'load' || record.kind === 'restart') {
        if (record.kind === 'load') path = record.path.replaceAll('__TEST_DIR__', testDir);
        await closeHost(host);
        host = await openHost(path, required);
        continue;
      }
      checks++;
      const failure = await check(host.connection, record);
      if (failure === undefined) passed++;
      else failures.push(`${file}:${record.line}: ${failure}`);
    }
  } finally {
    await closeHost(host);
    rmSync(testDir, { recursive: true, force: true });
  }
  return { records: checks, passed, failures };
}

async function openHost(path: string, required: boolean): Promise<Host> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  return { instance, connection, catalog: required ? await attachCatalog(connection) : undefined };
}

async function closeHost(host: Host): Promise<void> {
  host.connection.closeSync();
  host.instance.closeSync();
  await host.catalog?.close();
}

/** Undefined when the record passes, else why it failed. */
async function check(connection: DuckDBConnection, record: Exclude<SqlLogicRecord, { kind: 'require' | 'load' | 'restart' }>): Promise<string | undefined> {
  if (record.kind === 'statement') {
    try {
      await connection.run(record.sql);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (record.expect === 'ok') return `statement failed: ${message}`;
      return record.error === undefined || message.includes(record.error) ? undefined : `error "${message}" does not contain "${record.error}"`;
    }
    return record.expect === 'ok' ? undefined : `statement succeeded, expected an error${record.error === undefined ? '' : ` containing "${record.error}"`}`;
  }
  let rows;
  try {
    const reader = await connection.runAndReadAll(record.sql);
    if (reader.columnCount !== record.types.length) return `query returned ${reader.columnCount} columns, expected ${record.types.length}`;
    rows = reader.getRows();
  } catch (error) {
    return `query failed: ${error instanceof Error ? error.message : String(error)}`;
  }
  const actual = renderRows(rows, record.sort);
  const expected = record.sort === 'rowsort' ? [...record.expected].sort() : record.expected;
  if (same(actual, expected)) return undefined;
  // SQLLogicTest also allows one value per line.
  if (same(actual.flatMap((row) => row.split('\t')), record.expected)) return undefined;
  return `expected\n${expected.join('\n')}\nbut got\n${actual.join('\n')}`;
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((line, i) => line === b[i]);
}
