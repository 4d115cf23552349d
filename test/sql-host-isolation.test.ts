import { symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { Catalog } from 'duckcat';
import { tempCatalogPath } from './helpers/temp-catalog.js';

const view = JSON.stringify({ base_table: 't', dimensions: [{ name: 'd', expr: 'x' }], metrics: [] });

async function answer(connection: DuckDBConnection, sql = 'SELECT 6 * 7'): Promise<unknown> {
  return (await connection.runAndReadAll(sql)).getRows()[0]?.[0];
}

async function registered(connection: DuckDBConnection): Promise<bigint> {
  return (await answer(connection, "SELECT count(*) FROM duckdb_functions() WHERE function_name = 'define_semantic_view'")) as bigint;
}

describe('the host database is never the catalog', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function openCatalog(path = tempCatalogPath()): Promise<Catalog> {
    const cat = await Catalog.open(path);
    cleanups.push(() => cat.close());
    return cat;
  }

  async function openHost(path = ':memory:', options?: Record<string, string>): Promise<DuckDBConnection> {
    const instance = await DuckDBInstance.create(path, options);
    const connection = await instance.connect();
    cleanups.push(() => {
      connection.closeSync();
      instance.closeSync();
    });
    return connection;
  }

  // Read-only, so the test itself never writes the catalog's file from a second instance.
  it('refuses a host whose main database is the catalog file, and the host stays usable', async () => {
    const cat = await openCatalog();
    const connection = await openHost(cat.path, { access_mode: 'READ_ONLY' });
    await expect(cat.attach(connection)).rejects.toMatchObject({
      code: 'ERR_CATALOG_INVALID',
      field: 'connection',
      message: expect.stringContaining(`is the catalog's own file ${cat.path}`),
    });
    expect(await registered(connection)).toBe(0n);
    expect(await answer(connection)).toBe(42);
  });

  it('refuses the catalog file reached through a symlink or ATTACHed under another name', async () => {
    const cat = await openCatalog();
    const link = join(dirname(cat.path), 'link.duckdb');
    symlinkSync(cat.path, link);
    const viaLink = await openHost(link, { access_mode: 'READ_ONLY' });
    await expect(cat.attach(viaLink)).rejects.toMatchObject({ code: 'ERR_CATALOG_INVALID' });

    const host = await openHost();
    await host.run(`ATTACH '${cat.path}' AS sneaky (READ_ONLY)`);
    await expect(cat.attach(host)).rejects.toMatchObject({ code: 'ERR_CATALOG_INVALID', message: expect.stringContaining('"sneaky"') });
    await host.run('DETACH sneaky');
    await cat.attach(host);
    expect(await registered(host)).toBe(1n);
  });

  it('keeps the catalog out of a file-backed host: no catalog tables appear in the host database', async () => {
    const cat = await openCatalog();
    const hostPath = tempCatalogPath('host.duckdb');
    const connection = await openHost(hostPath);
    await cat.attach(connection);
    await connection.run('SELECT define_semantic_view($1, $2)', ['v', view]);
    expect(await answer(connection, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'semantic_layer'")).toBe(0n);
    await expect(connection.run('SELECT * FROM semantic_layer._definitions')).rejects.toThrow(/does not exist/);
    const files = (await connection.runAndReadAll('PRAGMA database_list')).getRowObjectsJS().map((row) => row.file);
    expect(files).not.toContain(cat.path);
    expect(cat.get('v')).toMatchObject({ kind: 'semantic_view' });
  });

  it('keeps the host usable during writes through SQL and after the catalog closes', async () => {
    const cat = await openCatalog();
    const instance = await DuckDBInstance.create(':memory:');
    const busy = await instance.connect();
    const ddl = await instance.connect();
    cleanups.push(() => {
      busy.closeSync();
      ddl.closeSync();
      instance.closeSync();
    });
    await cat.attach(ddl);
    // A long host query on one connection while another connection of the same instance
    // writes definitions through the catalog.
    const long = busy.runAndReadAll('SELECT count(*) FROM range(30000000) t(i) WHERE i % 7 = 0');
    const writes = (async () => {
      for (let i = 0; i < 20; i++) await ddl.run('SELECT replace_semantic_view($1, $2)', [`v${i}`, view]);
    })();
    const [counted] = await Promise.all([long, writes]);
    expect(counted.getRows()[0]![0]).toBe(4285715n);
    expect(cat.size).toBe(20);
    await cat.close();
    expect(await answer(busy)).toBe(42);
    await expect(ddl.run("SELECT define_semantic_view('late', '{}')")).rejects.toThrow(/ERR_CATALOG_CLOSED/);
    expect(await answer(ddl, 'SELECT count(*) FROM range(10)')).toBe(10n);
  });
});
