import type { Catalog } from 'duckcat';
import { definitionFor, nameFor } from '../payload.js';
import type { PgBenchServer } from '../pg-server.js';
import type { WriteTarget } from '../write-target.js';

/** Every round gets a database of its own, so no round writes into another's rows. */
async function openPgCatalog(server: PgBenchServer): Promise<Catalog> {
  const { Catalog: CatalogClass } = await import('duckcat');
  return CatalogClass.open(await server.newDatabase());
}

/**
 * duckcat `defineSync` on a PostgreSQL-backed catalog from one caller: returns once
 * PostgreSQL has committed the change (its own durability: fsync=on, loopback TCP).
 */
export function duckcatPgDefineSync(server: PgBenchServer): WriteTarget {
  let catalog: Catalog | undefined;
  return {
    label: 'duckcat defineSync (postgres)',
    durable: true,
    concurrency: 1,
    async setup() {
      catalog = await openPgCatalog(server);
    },
    writeOne(i) {
      if (catalog === undefined) throw new Error('duckcat postgres: writeOne before setup');
      catalog.defineSync(nameFor(i), definitionFor(i));
    },
    async teardown() {
      await catalog?.close();
      catalog = undefined;
    },
  };
}

/** duckcat `define` on a PostgreSQL-backed catalog from `callers` concurrent async callers. */
export function duckcatPgDefine(server: PgBenchServer, callers: number): WriteTarget {
  let catalog: Catalog | undefined;
  return {
    label: `duckcat define x${callers} (postgres)`,
    durable: true,
    concurrency: callers,
    async setup() {
      catalog = await openPgCatalog(server);
    },
    writeOne(i) {
      if (catalog === undefined) throw new Error('duckcat postgres: writeOne before setup');
      return catalog.define(nameFor(i), definitionFor(i));
    },
    async teardown() {
      await catalog?.close();
      catalog = undefined;
    },
  };
}
