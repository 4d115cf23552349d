import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { definitionFor, nameFor } from './payload.js';

/**
 * The yardstick for the cold open: the same entries as one JSON file, loaded the simplest
 * way there is. The target is a cold open no slower than this.
 */
export interface JsonParseOpenResult {
  fileMB: number;
  /** readFileSync + JSON.parse + a Map of name -> definition, one figure per run. */
  runsMs: number[];
  runsMsMedian: number;
}

const MB = 2 ** 20;

/** Writes entries 0..entries-1 to `path` as one object `{ name: definition, ... }`. */
export function writeJsonSnapshot(path: string, entries: number): void {
  const snapshot: Record<string, unknown> = {};
  for (let i = 0; i < entries; i++) snapshot[nameFor(i)] = definitionFor(i);
  writeFileSync(path, JSON.stringify(snapshot));
}

/** Loads the snapshot into the same shape `Catalog.open` ends with: a full Map. */
function loadSnapshot(path: string): Map<string, unknown> {
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`json-parse: ${path} is not an object`);
  return new Map(Object.entries(parsed));
}

/**
 * Times `runs` loads of the snapshot, each after a collection so no run pays for the last
 * one's garbage. `expected` guards against timing a load that lost entries.
 */
export function timeJsonParseOpen(path: string, expected: number, runs: number): JsonParseOpenResult {
  const runsMs: number[] = [];
  for (let k = 0; k < runs; k++) {
    globalThis.gc?.();
    const t0 = performance.now();
    const map = loadSnapshot(path);
    runsMs.push(performance.now() - t0);
    if (map.size !== expected) throw new Error(`json-parse: loaded ${map.size} entries, expected ${expected}`);
  }
  const sorted = [...runsMs].sort((a, b) => a - b);
  return { fileMB: statSync(path).size / MB, runsMs, runsMsMedian: sorted[sorted.length >> 1] ?? Number.NaN };
}
