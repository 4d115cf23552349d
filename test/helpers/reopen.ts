import { Catalog, type CatalogOptions } from 'duckcat';
import { expect } from 'vitest';
import { entryMap, sorted, type AckModel, type AckRun } from './ack-writer.js';
import { readDuckdbFile } from './duckdb-file.js';

/** The test-only hooks of Catalog.open (see src/shared/options.ts HiddenOptions). */
export const APPLY_DELAY = Symbol.for('duckcat.applyDelayMs');
export const COMPACT_AFTER = Symbol.for('duckcat.compactAfterBytes');

/** DuckDB held a minute behind the journal, and lag bounds that never trigger backpressure. */
export const HELD_BEHIND: CatalogOptions = { maxLagRows: 1_000_000, maxLagMs: 600_000, [APPLY_DELAY]: 60_000 } as CatalogOptions;

/** The same for test/fixtures/ack-writer.mjs (its config is JSON: the hook goes as applyDelayMs). */
export const HELD_BEHIND_WRITER = { applyDelayMs: 60_000, options: { maxLagRows: 1_000_000, maxLagMs: 600_000 } } as const;

type Model = Map<string, unknown>;

/** Opens the catalog twice in a row; each time its entries must equal `expected`. Returns the first open's recovery. */
export async function reopenTwice(path: string, expected: ReadonlyMap<string, unknown>, options?: CatalogOptions): Promise<Catalog['recovery']> {
  const first = await Catalog.open(path, options);
  const recovery = first.recovery;
  expect(sorted(entryMap(first.entries()))).toEqual(sorted(expected));
  await first.close();
  const second = await Catalog.open(path, options);
  expect(second.recovery).toBeUndefined();
  expect(sorted(entryMap(second.entries()))).toEqual(sorted(expected));
  await second.close();
  return recovery;
}

export function expectCleanRun(run: AckRun): void {
  expect(run.error, run.stderr).toBeUndefined();
  expect(run.ready).toBe(true);
}

/**
 * Reopens a killed writer's catalog and checks every acknowledged write against `model`
 * (a call in flight at the kill may or may not have landed). Reopens a second time (no
 * recovery left to do, same entries), then has a plain DuckDB reader agree. Returns the
 * first open's recovery report and the verified entries.
 */
export async function verifyAfterKill(path: string, model: AckModel): Promise<{ recovery: Catalog['recovery']; entries: Model }> {
  const first = await Catalog.open(path);
  const recovery = first.recovery;
  const entries = entryMap(first.entries());
  expect(model.mismatches(entries)).toEqual([]);
  await first.close();
  const second = await Catalog.open(path);
  expect(second.recovery).toBeUndefined();
  expect(sorted(entryMap(second.entries()))).toEqual(sorted(entries));
  await second.close();
  const file = await readDuckdbFile(path);
  expect(sorted(file.rows)).toEqual(sorted(entries));
  return { recovery, entries };
}

