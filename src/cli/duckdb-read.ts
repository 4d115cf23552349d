import { existsSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { DuckDBInstance, type DuckDBBlobValue } from '@duckdb/node-api';
import { isLockError, parseLockHolder } from '../shared/duckdb-messages.js';
import { SELECT_ALL, SELECT_APPLIED_SEQ, TABLE_EXISTS } from '../writer-worker/sql.js';
import type { Stored } from '../writer-worker/batch-plan.js';

/** What DuckDB's file holds, read without write access, or why it could not be read. */
export type DuckDBRead =
  | { readonly state: 'missing' }
  | { readonly state: 'held'; readonly pid: number | undefined }
  | { readonly state: 'unreadable'; readonly error: string }
  | {
      readonly state: 'readable';
      readonly appliedSeq: number | null;
      readonly rows: Map<string, Stored>;
      /** Names with more than one row (the table has no key; duckcat keeps one row per name). */
      readonly duplicated: readonly string[];
    };

// ignoreBOM: a name that starts with U+FEFF keeps it (names come back as bytes, see sql.ts).
const NAME_DECODER = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });

/**
 * Opens the catalog file with `access_mode: READ_ONLY` (DuckDB writes nothing then) and
 * reads its rows and recorded journal position. A file an owner holds cannot be opened
 * (DuckDB's lock): reported as `held`, with the owner's pid.
 */
export async function readDuckDB(path: string): Promise<DuckDBRead> {
  if (!existsSync(path)) return { state: 'missing' };
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY', autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (isLockError(message)) return { state: 'held', pid: parseLockHolder(message)?.pid };
    return { state: 'unreadable', error: message };
  }
  const connection = await instance.connect();
  try {
    const exists = (await connection.runAndReadAll(TABLE_EXISTS)).getRows()[0]?.[0];
    if (exists === 0) return { state: 'readable', appliedSeq: null, rows: new Map(), duplicated: [] };
    let appliedSeq: number | null = null;
    try {
      const value = (await connection.runAndReadAll(SELECT_APPLIED_SEQ)).getRows()[0]?.[0];
      appliedSeq = value === undefined || value === null ? null : Number(value);
    } catch {
      // A file from before positions were recorded.
    }
    const rows = new Map<string, Stored>();
    const reader = await connection.runAndReadAll(SELECT_ALL);
    const duplicated = new Set<string>();
    for (const [bytes, json, version] of reader.getRows() as Array<[DuckDBBlobValue, string, number]>) {
      const name = NAME_DECODER.decode(bytes.bytes);
      if (rows.has(name)) duplicated.add(name);
      rows.set(name, { json, version });
    }
    return { state: 'readable', appliedSeq, rows, duplicated: [...duplicated].sort() };
  } catch (error) {
    return { state: 'unreadable', error: error instanceof Error ? error.message : String(error) };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Names whose definition or version differ between two row sets (JSON compared as values). */
export function differingNames(a: ReadonlyMap<string, Stored>, b: ReadonlyMap<string, Stored>): string[] {
  const names = new Set([...a.keys(), ...b.keys()]);
  const differing: string[] = [];
  for (const name of names) {
    const left = a.get(name);
    const right = b.get(name);
    if (left === undefined || right === undefined || left.version !== right.version || !isDeepStrictEqual(JSON.parse(left.json), JSON.parse(right.json))) differing.push(name);
  }
  return differing.sort();
}
