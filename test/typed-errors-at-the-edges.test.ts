import { DuckDBInstance } from '@duckdb/node-api';
import { Catalog, CatalogInvalidError, attachCatalog } from 'duckcat';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/temp-catalog.js';

// Issue 11: bad inputs at the edges threw raw TypeError / ENOENT instead of typed errors.

async function refusal(run: () => Promise<unknown>): Promise<CatalogInvalidError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(CatalogInvalidError);
    return error as CatalogInvalidError;
  }
  throw new Error('expected a refusal');
}

describe('Catalog.open paths', () => {
  it('a missing directory is ERR_CATALOG_INVALID naming it, and nothing is created', async () => {
    const dir = tempDir();
    const error = await refusal(() => Catalog.open(join(dir, 'missing-dir', 'x.duckdb')));
    expect(error.field).toBe('path');
    expect(error.message).toContain(join(dir, 'missing-dir'));
  });

  it.each(['file:x.duckdb', 's3://bucket/x.duckdb', 'md:catalog'])('a URL (%s) is ERR_CATALOG_INVALID', async (path) => {
    const error = await refusal(() => Catalog.open(path));
    expect(error.field).toBe('path');
    expect(error.message).toContain('URL');
  });
});

describe('SQL entry points with something that is not a connection', () => {
  it.each([
    ['an empty object', {}],
    ['null', null],
    ['a DuckDBInstance', 'instance'],
  ])('%s: attach, query, check and attachCatalog refuse with ERR_CATALOG_INVALID (field connection)', async (_label, given) => {
    const instance = await DuckDBInstance.create();
    const value = given === 'instance' ? instance : given;
    const cat = await Catalog.open();
    try {
      for (const run of [
        () => cat.attach(value as never),
        () => cat.query(value as never, 'v', { metrics: ['m'] }),
        () => cat.check(value as never, 'v'),
        () => attachCatalog(value as never),
      ]) {
        const error = await refusal(run);
        expect(error.field).toBe('connection');
        if (given === 'instance') expect(error.message).toContain('instance.connect()');
      }
    } finally {
      await cat.close();
      instance.closeSync();
    }
  });
});
