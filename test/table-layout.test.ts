import { DuckDBInstance } from '@duckdb/node-api';
import { Catalog } from 'duckcat';
import { describe, expect, it } from 'vitest';
import { runAckWriter, sorted } from './helpers/ack-writer.js';
import { readDuckdbFile } from './helpers/duckdb-file.js';
import { expectCleanRun, verifyAfterKill } from './helpers/reopen.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

// The DuckDB table has no key on `name` (an index made every checkpoint cost in proportion
// to the table); the writer keeps one row per name itself, and files written with the key
// are rewritten to the unkeyed layout at their first writable open.

const KEY_QUERY = `SELECT count(*)::INTEGER FROM duckdb_constraints()
  WHERE schema_name = 'semantic_layer' AND table_name = '_definitions' AND constraint_type = 'PRIMARY KEY'`;

async function withFile<T>(path: string, run: (query: (sql: string) => Promise<unknown[][]>) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  try {
    return await run(async (sql) => (await connection.runAndReadAll(sql)).getRows());
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Rewrites a closed catalog's table with a primary key on `name`, as files were written before. */
async function rewriteKeyed(path: string): Promise<void> {
  await withFile(path, async (query) => {
    await query(`BEGIN;
      CREATE TABLE semantic_layer.keyed (name VARCHAR PRIMARY KEY, definition JSON NOT NULL, version BIGINT NOT NULL, updated_at TIMESTAMPTZ NOT NULL);
      INSERT INTO semantic_layer.keyed SELECT * FROM semantic_layer._definitions;
      DROP TABLE semantic_layer._definitions;
      ALTER TABLE semantic_layer.keyed RENAME TO _definitions;
      COMMIT;`);
  });
}

const keyCount = (path: string) => withFile(path, async (query) => Number((await query(KEY_QUERY))[0]?.[0]));

describe('the DuckDB table layout', () => {
  it('a new file has no key on name, and replaces, drops and re-defines leave exactly one row per name', async () => {
    const path = tempCatalogPath();
    const catalog = await Catalog.open(path);
    const expected = new Map<string, unknown>();
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 40; i++) {
        const name = `n${i}`;
        if (!catalog.has(name)) catalog.defineSync(name, { round, i });
        else if ((i + round) % 3 === 0) catalog.dropSync(name);
        else catalog.replaceSync(name, { round, i });
        const value = catalog.get(name);
        if (value === undefined) expected.delete(name);
        else expected.set(name, value);
      }
      await catalog.sync();
      await catalog.checkpoint();
    }
    await catalog.close();
    expect(await keyCount(path)).toBe(0);
    // readDuckdbFile throws on a second row for a name.
    expect(sorted((await readDuckdbFile(path)).rows)).toEqual(sorted(expected));
  });

  it('keeps row groups of at most 8,192 rows, so a checkpoint that vacuums deleted rows rewrites little', async () => {
    const path = tempCatalogPath();
    const catalog = await Catalog.open(path);
    for (let i = 0; i < 20_000; i += 1_000) {
      await catalog.apply(Array.from({ length: 1_000 }, (_, k) => ({ op: 'define' as const, name: `r${i + k}`, definition: { i: i + k } })));
    }
    await catalog.close();
    const groups = await withFile(path, (query) =>
      query(`SELECT row_group_id, max(start + count) - min(start) AS rows FROM pragma_storage_info('semantic_layer._definitions')
        WHERE column_name = 'name' GROUP BY row_group_id ORDER BY row_group_id`),
    );
    expect(groups.length).toBeGreaterThanOrEqual(3);
    for (const [, rows] of groups) expect(Number(rows)).toBeLessThanOrEqual(8_192);
  });

  it('a file written with the key opens with its rows, is rewritten unkeyed once, and takes writes', async () => {
    const path = tempCatalogPath();
    const first = await Catalog.open(path);
    for (let i = 0; i < 50; i++) first.defineSync(`keyed${i}`, { i });
    await first.close();
    await rewriteKeyed(path);
    expect(await keyCount(path)).toBe(1);

    const opened = await Catalog.open(path);
    expect(opened.size).toBe(50);
    opened.replaceSync('keyed1', { i: 1, replaced: true });
    opened.dropSync('keyed2');
    opened.defineSync('new', { fresh: true });
    await opened.close();
    expect(await keyCount(path)).toBe(0);
    const rows = (await readDuckdbFile(path)).rows;
    expect(rows.size).toBe(50);
    expect(rows.get('keyed1')).toEqual({ i: 1, replaced: true });
    expect(rows.has('keyed2')).toBe(false);

    // A read-only open of a keyed file reads it and changes nothing.
    await rewriteKeyed(path);
    const readOnly = await Catalog.open(path, { readOnly: true });
    expect(readOnly.get('new')).toEqual({ fresh: true });
    await readOnly.close();
    expect(await keyCount(path)).toBe(1);
  });

  it('a second row or a changed version made by hand is healed by the next write of that name, one row each', async () => {
    const path = tempCatalogPath();
    const first = await Catalog.open(path);
    for (let i = 0; i < 20; i++) first.defineSync(`h${i}`, { i });
    await first.close();
    await withFile(path, async (query) => {
      await query(`INSERT INTO semantic_layer._definitions SELECT * FROM semantic_layer._definitions WHERE name = 'h1'`);
      await query(`UPDATE semantic_layer._definitions SET version = version + 1000 WHERE name = 'h2'`);
      await query(`INSERT INTO semantic_layer._definitions SELECT 'h3', definition, version + 7, updated_at FROM semantic_layer._definitions WHERE name = 'h3'`);
    });
    const opened = await Catalog.open(path);
    opened.replaceSync('h1', { healed: 1 });
    opened.replaceSync('h2', { healed: 2 });
    await opened.apply([{ op: 'drop', name: 'h3' }, { op: 'replace', name: 'h4', definition: { healed: 4 } }]);
    const expected = new Map(opened.entries());
    await opened.close();
    // readDuckdbFile throws on a second row for a name.
    expect(sorted((await readDuckdbFile(path)).rows)).toEqual(sorted(expected));
  });

  it('a keyed file with a writer killed -9 mid-run reopens with every acknowledged write, unkeyed, one row per name', async () => {
    const path = tempCatalogPath();
    const seeded = await Catalog.open(path);
    for (let i = 0; i < 30; i++) seeded.defineSync(`w${i}`, { seeded: i });
    const initial = new Map(seeded.entries());
    await seeded.close();
    await rewriteKeyed(path);

    const run = await runAckWriter({ path, seed: 71, names: 30, limit: 400 }, { afterReadyMs: 150 }, initial);
    expectCleanRun(run);
    // verifyAfterKill reopens twice and has a plain DuckDB reader agree (one row per name).
    await verifyAfterKill(path, run.model);
    expect(await keyCount(path)).toBe(0);
  });
});
