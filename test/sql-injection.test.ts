import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { Catalog } from 'duckcat';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeMemoryHost, openMemoryHost } from './helpers/memory-host.js';

// Each payload tries to end the generated SELECT and run a statement of its own, with a
// quoting form a hand-written scanner might not know.
const PAYLOADS: ReadonlyArray<readonly [string, string]> = [
  ['an E-string', "E'\\'' = '') GROUP BY 1; CREATE TABLE pwn_e AS SELECT 1 AS x; SELECT (E'\\''"],
  ['dollar quoting', "$$ = $$) GROUP BY 1; CREATE TABLE pwn_d AS SELECT 1 AS x; SELECT ($$"],
  ['tagged dollar quoting', "$t$ = $t$) GROUP BY 1; CREATE TABLE pwn_t AS SELECT 1 AS x; SELECT ($t$"],
  ['a nested comment', "1 = 1 /* /* */ ) GROUP BY 1; CREATE TABLE pwn_c AS SELECT 1 AS x; SELECT ( /* */"],
  ["a U&'...' string", "U&'\\0027' = '') GROUP BY 1; CREATE TABLE pwn_u AS SELECT 1 AS x; SELECT ('"],
  ['unbalanced parentheses inside quotes', "region = ')' ) GROUP BY 1; CREATE TABLE pwn_p AS SELECT 1 AS x; SELECT ('('"],
  ['a plain semicolon', '1 = 1; CREATE TABLE pwn_s AS SELECT 1 AS x'],
];

describe('SQL text in a query or a definition never runs as another statement', () => {
  let cat: Catalog;
  let host: DuckDBInstance;
  let connection: DuckDBConnection;

  beforeAll(async () => {
    ({ cat, host, connection } = await openMemoryHost());
    await connection.run("CREATE TABLE orders (region VARCHAR, amount INTEGER); INSERT INTO orders VALUES ('EU', 100), ('US', 50)");
    cat.defineSync('sales', {
      kind: 'semantic_view',
      base_table: 'orders',
      dimensions: [{ name: 'region', expr: 'region' }],
      metrics: [{ name: 'revenue', expr: 'amount', agg: 'sum' }],
    });
    await cat.attach(connection);
  });

  afterAll(() => closeMemoryHost({ cat, host, connection }));

  async function hostTables(): Promise<string[]> {
    const reader = await connection.runAndReadAll("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'pwn%'");
    return reader.getRows().map((row) => String(row[0]));
  }

  it.each(PAYLOADS)('a where-condition with %s is refused or harmless, and creates nothing', async (_label, where) => {
    const outcome = await cat.query(connection, 'sales', { dimensions: ['region'], metrics: ['revenue'], where }).then(
      () => 'answered',
      (error: { code?: string }) => error.code ?? 'raw error',
    );
    expect(['answered', 'ERR_CATALOG_INVALID']).toContain(outcome);
    expect(await hostTables()).toEqual([]);
  });

  it.each(PAYLOADS)('a definition filter with %s is refused at define time, or expands into one harmless SELECT', async (label, filter) => {
    const name = `evil_${label.replace(/\W+/g, '_')}`;
    const defined = await cat.define(name, { kind: 'semantic_view', base_table: 'orders', dimensions: [{ name: 'region', expr: 'region' }], metrics: [], filters: [filter] }).then(
      () => true,
      (error: { code?: string }) => {
        expect(error.code).toBe('ERR_CATALOG_INVALID');
        return false;
      },
    );
    if (defined) {
      await cat.query(connection, name, { dimensions: ['region'] }).catch((error: { code?: string }) => expect(error.code).toBe('ERR_CATALOG_INVALID'));
      await connection.run(`SELECT * FROM semantic_query('${name}', dimensions := ['region'])`).catch(() => undefined);
    }
    expect(await hostTables()).toEqual([]);
  });
});
