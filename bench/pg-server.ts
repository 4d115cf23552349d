/**
 * The bench's own throwaway PostgreSQL cluster, for the Postgres-backed rows: started once
 * per run through the test harness (test/helpers/pg-cluster.ts, compiled alongside the
 * bench), a fresh database per round, stopped and removed at the end. Where the server
 * binaries are missing, `start` says why instead, and those rows are skipped.
 */
import { PgCluster, findPgBinaries } from '../test/helpers/pg-cluster.js';

export class PgBenchServer {
  readonly #cluster: PgCluster;
  #databases = 0;

  private constructor(cluster: PgCluster) {
    this.#cluster = cluster;
  }

  /** A running cluster, or the reason there is none (binaries missing, or the start failed). */
  static async start(): Promise<PgBenchServer | { readonly skipped: string }> {
    const binaries = findPgBinaries();
    if ('missing' in binaries) return { skipped: `PostgreSQL binaries missing: ${binaries.missing}` };
    try {
      return new PgBenchServer(await PgCluster.create(binaries));
    } catch (error) {
      return { skipped: `PostgreSQL did not start: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  /** A fresh, empty database; its URL. */
  newDatabase(): Promise<string> {
    return this.#cluster.createDatabase(`bench_${++this.#databases}`);
  }

  /** Stops the server and removes its directory. */
  stop(): Promise<void> {
    return this.#cluster.destroy();
  }
}
