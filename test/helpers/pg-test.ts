/**
 * What a PostgreSQL test file needs from the run's cluster (test/helpers/pg-global-setup.ts):
 * `describePg` runs the suite, or skips it LOUDLY when the binaries are missing (the reason
 * in the suite's name and on stderr; the run's last lines repeat it), and fails it when
 * the binaries are there but the cluster did not start.
 */
import { beforeAll, describe, inject } from 'vitest';
import { adminQuery, createDatabase, createPasswordRole, quoteIdent, type PgClusterInfo } from './pg-cluster.js';
import type { PgProvided } from './pg-global-setup.js';

const provided: PgProvided = inject('pg');

/** Why this run has no PostgreSQL, or undefined when it has one (or should have). */
export const pgSkipReason: string | undefined = provided.kind === 'missing' ? provided.reason : undefined;

/** `describe`, when the run has a PostgreSQL; otherwise skipped, saying why. */
export function describePg(name: string, body: () => void): void {
  if (provided.kind === 'missing') {
    const reason = `PostgreSQL missing: ${provided.reason}`;
    process.stderr.write(`*** ${name}: SKIPPED (${reason}) ***\n`);
    describe.skip(`${name} [SKIPPED: ${reason}]`, body);
    return;
  }
  describe(name, () => {
    if (provided.kind === 'failed') {
      beforeAll(() => {
        throw new Error(`the PostgreSQL test cluster did not start: ${provided.error}`);
      });
    }
    body();
  });
}

/** The run's cluster; throws inside a test when there is none. */
export function pgCluster(): PgClusterInfo {
  if (provided.kind !== 'ready') throw new Error(`no PostgreSQL cluster: ${provided.kind === 'missing' ? provided.reason : provided.error}`);
  return provided.cluster;
}

let databases = 0;

/**
 * A fresh database on the run's cluster, named after the test file (plus a counter and
 * the pid, so files and reruns never share one); returns its URL.
 */
export async function pgDatabase(label: string): Promise<string> {
  const name = `${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}_${++databases}`;
  return createDatabase(pgCluster().adminUrl, name);
}

/** A role that logs in with `password` only, allowed on `database`; returns its URL. */
export async function pgPasswordUrl(role: string, password: string, databaseUrl: string): Promise<string> {
  await createPasswordRole(pgCluster().adminUrl, role, password);
  const url = new URL(databaseUrl);
  // PostgreSQL 15 gives PUBLIC no CREATE on a database: the catalog makes its own schema.
  await adminQuery(pgCluster().adminUrl, `GRANT ALL ON DATABASE ${quoteIdent(decodeURIComponent(url.pathname.slice(1)))} TO ${quoteIdent(role)}`);
  url.username = encodeURIComponent(role);
  url.password = encodeURIComponent(password);
  return url.toString();
}
