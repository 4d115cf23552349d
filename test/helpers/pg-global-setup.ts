/**
 * vitest globalSetup: one throwaway PostgreSQL cluster for the whole run, handed to the
 * test files as `inject('pg')`, stopped and removed afterwards (also when tests fail or
 * the run is interrupted). Tests that stop the server (the outage test) start a cluster of
 * their own, so this one is never taken away from a file running beside them.
 *
 * No binaries: nothing starts, `inject('pg')` carries the reason, and every pg test file
 * skips with it (test/helpers/pg-test.ts), with a line here too.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { PgCluster, findPgBinaries, type PgClusterInfo } from './pg-cluster.js';

/** What `inject('pg')` gives a test file. */
export type PgProvided =
  | { readonly kind: 'ready'; readonly cluster: PgClusterInfo }
  | { readonly kind: 'missing'; readonly reason: string }
  | { readonly kind: 'failed'; readonly error: string };

declare module 'vitest' {
  export interface ProvidedContext {
    pg: PgProvided;
  }
}

/** Read by .ci/run, whose closing "N passed, N failed" line then says the pg tests were skipped. */
const SKIP_MARKER = '.tmp/postgres-skipped';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  rmSync(SKIP_MARKER, { force: true });
  const binaries = findPgBinaries();
  if ('missing' in binaries) {
    const line = `*** duckcat: PostgreSQL tests SKIPPED: ${binaries.missing} ***`;
    process.stderr.write(`\n${line}\n\n`);
    mkdirSync('.tmp', { recursive: true });
    writeFileSync(SKIP_MARKER, binaries.missing);
    project.provide('pg', { kind: 'missing', reason: binaries.missing });
    // Again after the run, so it is among the last lines a reader sees.
    return async () => void process.stderr.write(`\n${line}\n`);
  }
  let cluster: PgCluster | undefined;
  try {
    cluster = await PgCluster.create(binaries);
    project.provide('pg', { kind: 'ready', cluster: cluster.info() });
  } catch (error) {
    // The binaries are there, so this is a fault, not an absence: the pg tests fail with it
    // (the rest of the suite still runs).
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`\n*** duckcat: the PostgreSQL test cluster did not start: ${message} ***\n\n`);
    project.provide('pg', { kind: 'failed', error: message });
  }
  const stop = async (): Promise<void> => {
    const current = cluster;
    cluster = undefined;
    await current?.destroy();
  };
  // Ctrl-C: vitest may not reach the teardown; the directory and server must not outlive the run.
  // Once stopped, the signal is raised again (the handler is gone by then) so the run ends as it would have.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void stop().finally(() => process.kill(process.pid, signal)));
  }
  return stop;
}
