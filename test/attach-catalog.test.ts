import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { attachCatalog, hostCatalogPath, HOST_CATALOG_SUFFIX, type Catalog } from 'duckcat';
import { tempDir } from './helpers/temp-catalog.js';

const view = JSON.stringify({ base_table: 'orders', dimensions: [], metrics: [{ name: 'n', expr: 'count(*)' }] });

describe('attachCatalog(connection[, options])', () => {
  const open: Array<{ close(): unknown }> = [];
  afterEach(async () => {
    for (const item of open.splice(0).reverse()) await item.close();
  });

  async function host(path: string): Promise<DuckDBConnection> {
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    open.push({ close: () => instance.closeSync() }, { close: () => connection.closeSync() });
    return connection;
  }

  function keep(catalog: Catalog): Catalog {
    open.push(catalog);
    return catalog;
  }

  it('keeps the catalog of a file-backed host beside its file, never in it', async () => {
    const file = join(tempDir(), 'warehouse.duckdb');
    const connection = await host(file);
    expect(await hostCatalogPath(connection)).toBe(`${file}${HOST_CATALOG_SUFFIX}`);
    const catalog = keep(await attachCatalog(connection));
    expect(catalog.path).toBe(`${file}.catalog.duckdb`);
    expect(catalog.persistent).toBe(true);
    await connection.run('SELECT define_semantic_view($1, $2)', ['v', view]);
    expect(catalog.get('v')).toMatchObject({ base_table: 'orders' });
    expect(existsSync(catalog.path)).toBe(true);
    // The host's own file holds no catalog table and no macro.
    const tables = await connection.runAndReadAll("SELECT count(*)::INTEGER FROM duckdb_tables() WHERE database_name <> 'temp'");
    expect(tables.getRows()).toEqual([[0]]);
  });

  it('opens an in-memory catalog for an in-memory host', async () => {
    const connection = await host(':memory:');
    expect(await hostCatalogPath(connection)).toBe(':memory:');
    const catalog = keep(await attachCatalog(connection));
    expect(catalog.persistent).toBe(false);
    await connection.run('SELECT define_semantic_view($1, $2)', ['v', view]);
    expect((await connection.runAndReadAll("SELECT name FROM list_semantic_views()")).getRows()).toEqual([['v']]);
  });

  it('takes the first database with a file, as the seeds did: an ATTACHed file behind an in-memory main', async () => {
    const connection = await host(':memory:');
    const file = join(tempDir(), 'side.duckdb');
    await connection.run(`ATTACH '${file}' AS side`);
    expect(await hostCatalogPath(connection)).toBe(`${file}${HOST_CATALOG_SUFFIX}`);
  });

  it('reopens the same catalog for the same host file after a restart', async () => {
    const file = join(tempDir(), 'warehouse.duckdb');
    const first = await DuckDBInstance.create(file);
    const connection = await first.connect();
    const catalog = await attachCatalog(connection);
    await connection.run('SELECT define_semantic_view($1, $2)', ['v', view]);
    connection.closeSync();
    first.closeSync();
    await catalog.close();
    const again = keep(await attachCatalog(await host(file)));
    expect(again.list()).toEqual(['v']);
  });

  it('refuses bad options, and closes the catalog when attach fails', async () => {
    const file = join(tempDir(), 'warehouse.duckdb');
    const connection = await host(file);
    await expect(attachCatalog(connection, { path: 'x' } as never)).rejects.toMatchObject({ code: 'ERR_CATALOG_INVALID', field: 'options.path' });
    await expect(attachCatalog(connection, 5 as never)).rejects.toMatchObject({ code: 'ERR_CATALOG_INVALID', field: 'options' });
    await expect(attachCatalog(connection, { catalog: { bogus: 1 } as never })).rejects.toMatchObject({ field: 'options.bogus' });
    await expect(attachCatalog(connection, { attach: { poolWaitMs: 0 } })).rejects.toMatchObject({ field: 'options.poolWaitMs' });
    // Nothing stayed open: the same file can be opened again.
    keep(await attachCatalog(connection, { attach: { poolWaitMs: 100 } }));
  });

  it('refuses a second catalog for a host whose catalog is open', async () => {
    const file = join(tempDir(), 'warehouse.duckdb');
    const connection = await host(file);
    keep(await attachCatalog(connection));
    await expect(attachCatalog(connection)).rejects.toMatchObject({ code: 'ERR_CATALOG_LOCKED' });
  });
});
