/**
 * Shared by the PostgreSQL fault tests (pg-outage, pg-replica-catch-up): the limits they
 * hold the catalog to, and how they wait without asserting on time.
 */
import type { Catalog } from 'duckcat';
import { expect } from 'vitest';

export const SCHEMA = 'duckcat';
/** The catalogs' timeoutMs in these tests. */
export const TIMEOUT_MS = 4000;
/** A hang guard, not a latency claim: far above any error path, far below the test's timeout. */
export const NO_HANG_MS = TIMEOUT_MS + 10_000;

/** A failed call as pg-outage-writer.mjs reports it. */
export interface Failure {
  code: string;
  ms: number;
  sync?: boolean;
}

/** A catalog error with a stable code, not the timeout, and not after a hang. */
export function expectTypedOutageError(failure: Failure): void {
  expect(failure.code).toMatch(/^ERR_CATALOG_[A-Z_]+$/);
  expect(failure.code).not.toBe('ERR_CATALOG_TIMEOUT');
  expect(failure.code).not.toBe('ERR_CATALOG_WRITER_EXITED');
  expect(failure.ms).toBeLessThan(NO_HANG_MS);
}

/**
 * Until `catalog` holds every name in `names`, from its change feed alone (no sync()); at
 * most 30 s, a bound for a hang, not a latency claim (the bench measures that).
 */
export async function untilReaderHas(catalog: Catalog, names: readonly string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!names.every((name) => catalog.has(name))) {
    if (Date.now() > deadline) throw new Error(`the replica still lacks ${names.filter((name) => !catalog.has(name)).join(', ')} after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
