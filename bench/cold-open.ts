import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { timeJsonParseOpen, writeJsonSnapshot } from './json-parse-open.js';
import type { JsonParseOpenResult } from './json-parse-open.js';
import { definitionFor, nameFor } from './payload.js';
import { measureSmallOpen } from './small-open.js';
import type { SmallOpenResult } from './small-open.js';

/** Cold open of a large catalog and read latency afterwards. */
export interface ColdOpenResult {
  entries: number;
  /** Time to create the catalog through `define`, for context only. */
  seedMs: number;
  /** Size of every file the catalog left in its directory. */
  fileMB: number;
  opens: Array<{ openMs: number; rssDeltaMB: number; heapDeltaMB: number }>;
  openMsMedian: number;
  /** `cat.size` right after `Catalog.open` resolved. */
  sizeAfterOpen: number;
  gets: number;
  getNs: number;
  /** The same loop over a plain Map of the same names: the floor a `get` can reach. */
  mapGetNs: number;
  /** The same entries loaded from one JSON file: the yardstick for `openMsMedian`. */
  jsonParse: JsonParseOpenResult;
  /** A 100-entry catalog of its own, opened the same way. */
  smallOpen: SmallOpenResult;
}

const OPENS = 3;
// Concurrent defines in flight while seeding: enough for the writer to batch them.
const SEED_CONCURRENCY = 1000;
const MB = 2 ** 20;

/** Times `gets` lookups spread over `names` (a prime stride, so no two in a row are adjacent). */
function timeGets(names: readonly string[], gets: number, get: (name: string) => unknown): number {
  let hits = 0;
  const loop = (count: number): void => {
    for (let i = 0; i < count; i++) {
      if (get(names[(i * 7919) % names.length] ?? '') !== undefined) hits++;
    }
  };
  loop(Math.min(gets, 100_000));
  const t0 = performance.now();
  loop(gets);
  const ns = ((performance.now() - t0) * 1e6) / gets;
  // Using `hits` keeps the optimiser from dropping the lookups as dead code.
  if (hits === 0) throw new Error('cold-open: every get missed; the catalog did not load');
  return ns;
}

/** Size of the files of one catalog (`cold.duckdb`, its WAL, journal, ...) in `dir`. */
function catalogSizeMB(dir: string, file: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith(file)) bytes += statSync(join(dir, entry)).size;
  }
  return bytes / MB;
}

/**
 * Seeds `entries` definitions under `dir` through `Catalog`, closes, then times fresh opens,
 * then the same entries loaded from one JSON file. The 100-entry open runs first, while the
 * heap is still small.
 */
export async function measureColdOpen(dir: string, entries: number, gets: number): Promise<ColdOpenResult> {
  const smallOpen = await measureSmallOpen(dir);
  const { Catalog } = await import('duckcat');
  const file = 'cold.duckdb';
  const path = join(dir, file);
  const names = Array.from({ length: entries }, (_, i) => nameFor(i));

  const seedStart = performance.now();
  const seeding = await Catalog.open(path);
  for (let first = 0; first < entries; first += SEED_CONCURRENCY) {
    const batch: Array<Promise<unknown>> = [];
    for (let i = first; i < Math.min(entries, first + SEED_CONCURRENCY); i++) {
      batch.push(seeding.define(nameFor(i), definitionFor(i)));
    }
    await Promise.all(batch);
  }
  await seeding.close();
  const seedMs = performance.now() - seedStart;

  const opens: ColdOpenResult['opens'] = [];
  let sizeAfterOpen = 0;
  let getNs = Number.NaN;
  for (let k = 0; k < OPENS; k++) {
    globalThis.gc?.();
    const before = process.memoryUsage();
    const t0 = performance.now();
    const catalog = await Catalog.open(path);
    const openMs = performance.now() - t0;
    sizeAfterOpen = catalog.size;
    globalThis.gc?.();
    const after = process.memoryUsage();
    opens.push({ openMs, rssDeltaMB: (after.rss - before.rss) / MB, heapDeltaMB: (after.heapUsed - before.heapUsed) / MB });
    if (k === OPENS - 1) getNs = timeGets(names, gets, (name) => catalog.get(name));
    await catalog.close();
  }

  const openMsMedian = [...opens.map((open) => open.openMs)].sort((a, b) => a - b)[OPENS >> 1] ?? Number.NaN;

  // As many runs as opens, in the same process, and before the Map below grows the heap,
  // so the ratio compares like with like.
  const snapshotPath = join(dir, 'snapshot.json');
  writeJsonSnapshot(snapshotPath, entries);
  const jsonParse = timeJsonParseOpen(snapshotPath, entries, OPENS);

  const map = new Map(names.map((name, i) => [name, definitionFor(i)]));
  const mapGetNs = timeGets(names, gets, (name) => map.get(name));
  return {
    entries,
    seedMs,
    fileMB: catalogSizeMB(dir, file),
    opens,
    openMsMedian,
    sizeAfterOpen,
    gets,
    getNs,
    mapGetNs,
    jsonParse,
    smallOpen,
  };
}

const selfPath = fileURLToPath(import.meta.url);

/**
 * Runs the measurement in a child process, so the RSS delta is that of the open alone and
 * not of whatever the write rounds left on the heap. The child's stderr passes through.
 */
export async function runColdOpenInChild(dir: string, entries: number, gets: number): Promise<ColdOpenResult> {
  const child = promisify(execFile)(process.execPath, ['--expose-gc', selfPath, dir, String(entries), String(gets)], {
    maxBuffer: 16 * MB,
  });
  child.child.stderr?.pipe(process.stderr);
  let stdout: string;
  try {
    ({ stdout } = await child);
  } catch (error) {
    // The child's stderr already went to ours; the summary needs only its error line.
    const stderr = error instanceof Error && 'stderr' in error ? String(error.stderr) : '';
    const errorLine = stderr.split('\n').find((line) => /^\w*Error\b/.test(line)) ?? String(error);
    throw new Error(`cold-open child failed: ${errorLine}`, { cause: error });
  }
  const parsed: unknown = JSON.parse(stdout.trim().split('\n').at(-1) ?? '');
  if (typeof parsed !== 'object' || parsed === null || !('openMsMedian' in parsed)) {
    throw new Error(`cold-open: unexpected child output: ${stdout.slice(0, 200)}`);
  }
  return parsed as ColdOpenResult;
}

if (process.argv[1] === selfPath) {
  const [dir, entries, gets] = process.argv.slice(2);
  if (dir === undefined) throw new Error('usage: node --expose-gc build/bench/cold-open.js DIR [ENTRIES] [GETS]');
  const result = await measureColdOpen(dir, Number(entries ?? 100_000), Number(gets ?? 1_000_000));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
