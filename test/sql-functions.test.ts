import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Catalog, CatalogExistsError, CatalogNotFoundError, catalogErrorFromSql } from 'duckcat';
import { tempCatalogPath } from './helpers/temp-catalog.js';

const sales = {
  base_table: 'orders',
  dimensions: [{ name: 'region', expr: 'region', comment: 'where it shipped' }],
  metrics: [
    { name: 'revenue', expr: 'amount', agg: 'sum' },
    { name: 'orders', expr: 'count(*)' },
  ],
  filters: ["status = 'paid'"],
  comment: 'paid orders',
};
const json = (value: unknown) => JSON.stringify(value);

/** The error a statement fails with (DuckDB prefixes its error class: "Invalid Input Error: ERR_..."). */
async function failure(connection: DuckDBConnection, sql: string, values?: string[]): Promise<Error> {
  try {
    await connection.run(sql, values);
  } catch (error) {
    return error as Error;
  }
  throw new Error(`expected ${sql} to fail`);
}

function codeOf(error: Error): string | undefined {
  return catalogErrorFromSql(error)?.code;
}

async function scalar(connection: DuckDBConnection, sql: string, values?: string[]): Promise<unknown> {
  return (await connection.runAndReadAll(sql, values)).getRows()[0]?.[0];
}

describe('semantic view SQL functions', () => {
  let cat: Catalog;
  let host: DuckDBInstance;
  let connection: DuckDBConnection;

  beforeEach(async () => {
    cat = await Catalog.open(tempCatalogPath());
    host = await DuckDBInstance.create(':memory:');
    connection = await host.connect();
    await cat.attach(connection);
  });

  afterEach(async () => {
    connection.closeSync();
    host.closeSync();
    await cat.close();
  });

  it('registers every function on the host instance, for all its connections, and semantic_query on the attached one', async () => {
    const other = await host.connect();
    const functions = "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_name LIKE '%semantic%' ORDER BY 1";
    const reader = await other.runAndReadAll(functions);
    expect(reader.getRows().map((row) => row[0])).toEqual([
      'define_semantic_view',
      'describe_semantic_view',
      'describe_semantic_view_members',
      'drop_semantic_view',
      'explain_semantic_view',
      'list_semantic_views',
      'replace_semantic_view',
      'semantic_query_sql',
      'semantic_view_sql',
    ]);
    // The semantic_query macro is TEMP: on the attached connection only, until attach(other).
    const macro = "SELECT database_name FROM duckdb_functions() WHERE function_name = 'semantic_query'";
    expect((await connection.runAndReadAll(macro)).getRows()).toEqual([['temp']]);
    expect((await other.runAndReadAll(macro)).getRows()).toEqual([]);
    await cat.attach(other);
    expect((await other.runAndReadAll(macro)).getRows()).toEqual([['temp']]);
    other.closeSync();
  });

  it('define_semantic_view commits through the catalog and returns a status', async () => {
    expect(await scalar(connection, 'SELECT define_semantic_view($1, $2)', ['sales', json(sales)])).toBe("Semantic view 'sales' registered successfully");
    expect(cat.get('sales')).toEqual({ kind: 'semantic_view', ...sales });
    // Durable: a fresh open of the file (after close) reads it back.
    await cat.close();
    const reopened = await Catalog.open(cat.path);
    expect(reopened.get('sales')).toMatchObject({ kind: 'semantic_view', base_table: 'orders' });
    await reopened.close();
  });

  it('list_semantic_views, describe_semantic_view and describe_semantic_view_members answer from the catalog', async () => {
    await connection.run('SELECT define_semantic_view($1, $2)', ['sales', json(sales)]);
    cat.defineSync('not_a_view', { some: 'config' });
    const list = await connection.runAndReadAll(
      "SELECT name, base_table, dimension_count, metric_count, comment, definition->>'$.base_table' AS t, typeof(definition) AS type FROM list_semantic_views()",
    );
    expect(list.getRowObjectsJS()).toEqual([
      { name: 'sales', base_table: 'orders', dimension_count: 1, metric_count: 2, comment: 'paid orders', t: 'orders', type: 'JSON' },
    ]);
    const described = await connection.runAndReadAll("SELECT * FROM describe_semantic_view('sales')");
    expect(described.getRowObjectsJS()).toEqual([
      {
        name: 'sales',
        base_table: 'orders',
        dimensions: '[{"comment":"where it shipped","expr":"region","name":"region"}]',
        metrics: '[{"agg":"sum","expr":"amount","name":"revenue"},{"expr":"count(*)","name":"orders"}]',
        filters: '["status = \'paid\'"]',
        joins: 'null',
      },
    ]);
    const members = await connection.runAndReadAll("SELECT * FROM describe_semantic_view_members('sales')");
    expect(members.getRowObjectsJS()).toEqual([
      { kind: 'dimension', name: 'region', expr: 'region', agg: null, comment: 'where it shipped' },
      { kind: 'metric', name: 'revenue', expr: 'amount', agg: 'sum', comment: null },
      { kind: 'metric', name: 'orders', expr: 'count(*)', agg: null, comment: null },
      { kind: 'filter', name: null, expr: "status = 'paid'", agg: null, comment: null },
    ]);
  });

  it('defines one view per row and stops at the first bad row, keeping the rows before it', async () => {
    const good = json({ base_table: 't', dimensions: [], metrics: [{ name: 'n', expr: 'count(*)' }] });
    const reader = await connection.runAndReadAll(
      `SELECT define_semantic_view(name, def) FROM (VALUES ('a', $1), ('b', $1), ('c', $1)) v(name, def) ORDER BY name`,
      [good],
    );
    expect(reader.getRows().map((row) => row[0])).toEqual(['a', 'b', 'c'].map((name) => `Semantic view '${name}' registered successfully`));
    const error = await failure(connection, `SELECT define_semantic_view(name, def) FROM (VALUES ('d', $1), ('a', $1)) v(name, def)`, [good]);
    expect(codeOf(error)).toBe('ERR_CATALOG_EXISTS');
    expect(cat.list()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('commits independently of the host transaction, and never while planning', async () => {
    await connection.run('BEGIN');
    await connection.run('SELECT define_semantic_view($1, $2)', ['in_tx', json(sales)]);
    await connection.run('ROLLBACK');
    expect(cat.has('in_tx')).toBe(true);
    await connection.run('EXPLAIN SELECT define_semantic_view($1, $2)', ['explained', json(sales)]);
    expect(cat.has('explained')).toBe(false);
  });

  it('replace_semantic_view upserts, drop_semantic_view removes', async () => {
    expect(await scalar(connection, 'SELECT replace_semantic_view($1, $2)', ['sales', json(sales)])).toBe("Semantic view 'sales' registered successfully");
    const changed = { ...sales, comment: 'v2' };
    expect(await scalar(connection, 'SELECT replace_semantic_view($1, $2)', ['sales', json(changed)])).toBe("Semantic view 'sales' replaced successfully");
    expect(cat.get('sales')).toMatchObject({ comment: 'v2' });
    expect(await scalar(connection, "SELECT drop_semantic_view('sales')")).toBe("Semantic view 'sales' dropped successfully");
    expect(cat.has('sales')).toBe(false);
    expect((await connection.runAndReadAll('SELECT count(*) FROM list_semantic_views()')).getRows()[0]![0]).toBe(0n);
  });

  describe('errors surface as query errors that carry the duckcat code', () => {
    it('ERR_CATALOG_EXISTS for define of a defined name', async () => {
      await connection.run('SELECT define_semantic_view($1, $2)', ['sales', json(sales)]);
      const error = await failure(connection, 'SELECT define_semantic_view($1, $2)', ['sales', json(sales)]);
      expect(error.message).toMatch(/^Invalid Input Error: ERR_CATALOG_EXISTS: definition "sales" already exists/);
      const rebuilt = catalogErrorFromSql(error);
      expect(rebuilt).toMatchObject({ code: 'ERR_CATALOG_EXISTS', message: 'definition "sales" already exists', cause: error, definitionName: 'sales' });
      // The same class the API throws, not the base class.
      expect(rebuilt).toBeInstanceOf(CatalogExistsError);
      expect(rebuilt?.name).toBe('CatalogExistsError');
    });

    it('ERR_CATALOG_NOT_FOUND for drop and describe of an unknown name', async () => {
      expect(codeOf(await failure(connection, "SELECT drop_semantic_view('ghost')"))).toBe('ERR_CATALOG_NOT_FOUND');
      expect(codeOf(await failure(connection, "SELECT * FROM describe_semantic_view_members('ghost')"))).toBe('ERR_CATALOG_NOT_FOUND');
      const error = await failure(connection, "SELECT * FROM describe_semantic_view('ghost')");
      expect(error.message).toMatch(/^Binder Error: ERR_CATALOG_NOT_FOUND: definition "ghost" does not exist/);
      expect(catalogErrorFromSql(error)).toBeInstanceOf(CatalogNotFoundError);
      expect(codeOf(await failure(connection, "SELECT semantic_view_sql('ghost', [], ['n'])"))).toBe('ERR_CATALOG_NOT_FOUND');
    });

    it.each([
      ['text that is not JSON', 'SELECT define_semantic_view($1, $2)', ['v', '{"base_table":'], /invalid definition: is not valid JSON/],
      ['a NULL definition', 'SELECT define_semantic_view($1, NULL)', ['v'], /invalid definition: must be JSON text, got NULL/],
      ['a NULL name', 'SELECT define_semantic_view(NULL, $1)', [json(sales)], /invalid name: must not be NULL/],
      ['an empty name', 'SELECT define_semantic_view($1, $2)', ['', json(sales)], /invalid name: must not be empty/],
      ['a bad definition', 'SELECT define_semantic_view($1, $2)', ['v', json({ ...sales, metrics: [{ name: 'region', expr: 'x' }] })], /invalid definition.metrics\[0\].name: duplicate name "region"/],
      ['a bad replacement', 'SELECT replace_semantic_view($1, $2)', ['v', json({ base_table: 't' })], /invalid definition.dimensions: is required/],
      ['a NULL drop', 'SELECT drop_semantic_view(NULL)', [], /invalid name: must not be NULL/],
    ])('ERR_CATALOG_INVALID for %s, naming the field', async (_label, sql, values, message) => {
      const error = await failure(connection, sql, values);
      expect(codeOf(error)).toBe('ERR_CATALOG_INVALID');
      expect(error.message).toMatch(message);
      expect(cat.has('v')).toBe(false);
    });

    it('ERR_CATALOG_INVALID when replace, drop, describe or semantic_query meet a definition that is not a semantic view', async () => {
      cat.defineSync('config', { retries: 3 });
      for (const sql of [
        "SELECT replace_semantic_view('config', $1)",
        "SELECT drop_semantic_view('config')",
        "SELECT * FROM describe_semantic_view('config')",
        "SELECT * FROM describe_semantic_view_members('config')",
        "SELECT * FROM semantic_query('config', metrics := ['n'])",
        "SELECT * FROM explain_semantic_view('config', metrics := ['n'])",
      ]) {
        const error = await failure(connection, sql, sql.includes('$1') ? [json(sales)] : undefined);
        expect(codeOf(error)).toBe('ERR_CATALOG_INVALID');
        expect(error.message).toMatch(/"config" is not a semantic view/);
      }
      expect(cat.get('config')).toEqual({ retries: 3 });
    });

    it('ERR_CATALOG_CLOSED once the catalog is closed, while the host keeps working', async () => {
      await cat.close();
      for (const sql of [
        "SELECT define_semantic_view('v', '{}')",
        "SELECT drop_semantic_view('v')",
        'SELECT * FROM list_semantic_views()',
        "SELECT * FROM semantic_query('v', metrics := ['n'])",
        "SELECT * FROM explain_semantic_view('v', metrics := ['n'])",
      ]) {
        expect(codeOf(await failure(connection, sql))).toBe('ERR_CATALOG_CLOSED');
      }
      expect(await scalar(connection, 'SELECT 6 * 7')).toBe(42);
    });
  });

  it('catalogErrorFromSql ignores errors that did not come from duckcat', async () => {
    const error = await failure(connection, 'SELECT * FROM no_such_table');
    expect(catalogErrorFromSql(error)).toBeUndefined();
    expect(catalogErrorFromSql('ERR_CATALOG_BOGUS: x')).toBeUndefined();
    expect(catalogErrorFromSql(undefined)).toBeUndefined();
  });
});

describe('Catalog#attach options', () => {
  it('refuses bad options and a closed catalog', async () => {
    const cat = await Catalog.open();
    const host = await DuckDBInstance.create(':memory:');
    const connection = await host.connect();
    await expect(cat.attach(connection, { poolWaitMs: 0 })).rejects.toMatchObject({ code: 'ERR_CATALOG_INVALID', field: 'options.poolWaitMs' });
    await expect(cat.attach(connection, { poolWait: 5 } as never)).rejects.toMatchObject({ code: 'ERR_CATALOG_INVALID', field: 'options.poolWait' });
    await cat.close();
    await expect(cat.attach(connection)).rejects.toMatchObject({ code: 'ERR_CATALOG_CLOSED' });
    connection.closeSync();
    host.closeSync();
  });
});
