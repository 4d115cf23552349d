import { describe, expect, it } from 'vitest';
import { Catalog } from 'duckcat';
import { tempCatalogPath } from './helpers/temp-catalog.js';

describe('getEntry', () => {
  it('returns the definition and its version from one state of the map, undefined when absent', async () => {
    const path = tempCatalogPath();
    const catalog = await Catalog.open(path);
    try {
      expect(catalog.getEntry('a')).toBeUndefined();
      catalog.defineSync('a', { n: 1 });
      const first = catalog.getEntry('a')!;
      expect(first).toEqual({ definition: { n: 1 }, version: catalog.version('a') });
      expect(Object.isFrozen(first.definition)).toBe(true);
      catalog.replaceSync('a', { n: 2 }, { ifVersion: first.version });
      const second = catalog.getEntry('a')!;
      expect(second.definition).toEqual({ n: 2 });
      expect(second.version).toBeGreaterThan(first.version);
      expect(() => catalog.replaceSync('a', { n: 3 }, { ifVersion: first.version })).toThrow(
        expect.objectContaining({ code: 'ERR_CATALOG_CONFLICT', currentVersion: second.version }),
      );
      catalog.dropSync('a', { ifVersion: second.version });
      expect(catalog.getEntry('a')).toBeUndefined();
    } finally {
      await catalog.close();
    }
    const reopened = await Catalog.open(path);
    try {
      expect(reopened.getEntry('a')).toBeUndefined();
    } finally {
      await reopened.close();
    }
  });
});
