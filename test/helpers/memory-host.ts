import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { Catalog } from 'duckcat';

/** An in-memory catalog and an in-memory host DuckDB connection: the semantic-view tests' fixture. */
export interface MemoryHost {
  readonly cat: Catalog;
  readonly host: DuckDBInstance;
  readonly connection: DuckDBConnection;
}

export async function openMemoryHost(): Promise<MemoryHost> {
  const cat = await Catalog.open();
  const host = await DuckDBInstance.create(':memory:');
  return { cat, host, connection: await host.connect() };
}

/** Closes what {@link openMemoryHost} opened; safe after a setup that failed part-way. */
export async function closeMemoryHost(opened: Partial<MemoryHost>): Promise<void> {
  opened.connection?.closeSync();
  opened.host?.closeSync();
  await opened.cat?.close();
}
