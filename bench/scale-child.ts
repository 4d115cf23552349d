/**
 * One step of the scale bench, in a process of its own so its RSS and heap are its alone:
 * `build` fills a catalog, `open` times a cold open of it, `json` times JSON.parse of the
 * same entries into a Map. Prints one JSON line on stdout; progress on stderr.
 */
import { readFileSync, readdirSync, statSync, watch, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { definitionFor, nameFor } from './payload.js';
import { percentile } from './stats.js';

const MB = 2 ** 20;

export interface BuildResult {
  entries: number;
  /** Entries acknowledged before the first failure (all of them when none failed). */
  acknowledged: number;
  wallMs: number;
  opsPerSec: number;
  /**
   * CPU time of the whole process (every thread: main, journal, store, DuckDB's, GC's) per
   * op while building, in µs: unlike ops/s it hardly moves with the neighbours' load.
   */
  cpuUsPerOp: number;
  /** The machine's 1-minute load average as the build ended: how contended the run was. */
  loadAverage: number;
  /** Async define latency, 256 in flight (ms). */
  asyncMs: { p50: number; p999: number; max: number };
  /** Every `probeEvery`-th op is a defineSync instead: how long one caller waits (ms). */
  syncMs: { count: number; p50: number; p999: number; max: number };
  /** Writes whose call overlapped a compaction (seal until its sealed log was deleted). */
  duringCompaction: { compactions: number; writes: number; maxAsyncMs: number; maxSyncMs: number; p999AsyncMs: number };
  timeouts: number;
  failure: string | null;
  journalMB: number;
  snapshotMB: number;
  fileMB: number;
}

export interface OpenResult {
  openMs: number;
  rssDeltaMB: number;
  size: number;
}

export interface JsonResult {
  fileMB: number;
  parseMs: number;
  rssDeltaMB: number;
}

function sizeMB(dir: string, prefix: string, suffix: (rest: string) => boolean): number {
  let bytes = 0;
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith(prefix) && suffix(entry.slice(prefix.length))) bytes += statSync(join(dir, entry)).size;
  }
  return bytes / MB;
}

/** Compaction windows seen on the directory: a sealed log appears at the seal and goes once a snapshot covers it. */
function watchCompactions(path: string): { windows: Array<[number, number]>; stop: () => void } {
  const file = basename(path);
  const sealed = new RegExp(`^${file.replace(/\./g, '\\.')}\\.journal\\.\\d+$`);
  const open = new Map<string, number>();
  const windows: Array<[number, number]> = [];
  const watcher = watch(dirname(path), (_event, name) => {
    if (name === null || !sealed.test(name)) return;
    const now = wallNow();
    let sealedAt: number | undefined;
    try {
      // The rename's own time: the event may come late when a defineSync held the loop.
      sealedAt = statSync(join(dirname(path), name)).ctimeMs;
    } catch {
      sealedAt = undefined;
    }
    if (sealedAt !== undefined && !open.has(name)) open.set(name, sealedAt);
    else if (sealedAt === undefined && open.has(name)) {
      windows.push([open.get(name)!, now]);
      open.delete(name);
    }
  });
  return {
    windows,
    stop() {
      watcher.close();
      for (const start of open.values()) windows.push([start, wallNow()]);
    },
  };
}

/** Wall-clock ms, comparable with file times. */
function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

function summary(values: number[]): { p50: number; p999: number; max: number } {
  const sorted = Float64Array.from(values).sort();
  return { p50: percentile(sorted, 0.5), p999: percentile(sorted, 0.999), max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN };
}

export async function build(path: string, entries: number, inFlight: number, probeEvery: number): Promise<BuildResult> {
  const { Catalog } = await import('duckcat');
  const catalog = await Catalog.open(path);
  const compactions = watchCompactions(path);
  const asyncSamples: Array<[number, number]> = [];
  const syncSamples: Array<[number, number]> = [];
  let next = 0;
  let acknowledged = 0;
  let timeouts = 0;
  let failure: string | null = null;
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  let reported = started;
  async function caller(): Promise<void> {
    while (next < entries && failure === null) {
      const i = next++;
      const t0 = wallNow();
      try {
        if (probeEvery > 0 && i % probeEvery === probeEvery - 1) {
          catalog.defineSync(nameFor(i), definitionFor(i));
          syncSamples.push([t0, wallNow()]);
        } else {
          await catalog.define(nameFor(i), definitionFor(i));
          asyncSamples.push([t0, wallNow()]);
        }
        acknowledged++;
      } catch (error) {
        if ((error as { code?: string }).code === 'ERR_CATALOG_TIMEOUT') timeouts++;
        failure ??= `failed at ${acknowledged} entries: ${(error as Error).message}`;
      }
      if (performance.now() - reported > 10_000) {
        reported = performance.now();
        process.stderr.write(`  build ${acknowledged}/${entries} (${Math.round(acknowledged / ((reported - started) / 1000))} ops/s)\n`);
      }
    }
  }
  await Promise.all(Array.from({ length: inFlight }, caller));
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuAtStart);
  const loadAverage = loadavg()[0]!;
  await new Promise((resolve) => setTimeout(resolve, 200));
  compactions.stop();
  const journalMB = sizeMB(dirname(path), basename(path), (rest) => rest.startsWith('.journal'));
  const snapshotMB = sizeMB(dirname(path), basename(path), (rest) => rest === '.snapshot');
  await catalog.close().catch(() => undefined);
  const overlaps = ([t0, t1]: [number, number]) => compactions.windows.some(([from, to]) => t0 <= to && t1 >= from);
  const ms = ([t0, t1]: [number, number]) => t1 - t0;
  const asyncHit = asyncSamples.filter(overlaps).map(ms);
  const syncHit = syncSamples.filter(overlaps).map(ms);
  const syncAll = summary(syncSamples.map(ms));
  return {
    entries,
    acknowledged,
    wallMs,
    opsPerSec: acknowledged / (wallMs / 1000),
    cpuUsPerOp: (cpu.user + cpu.system) / Math.max(1, acknowledged),
    loadAverage,
    asyncMs: summary(asyncSamples.map(ms)),
    syncMs: { count: syncSamples.length, ...syncAll },
    duringCompaction: {
      compactions: compactions.windows.length,
      writes: asyncHit.length + syncHit.length,
      maxAsyncMs: asyncHit.length === 0 ? 0 : summary(asyncHit).max,
      maxSyncMs: syncHit.length === 0 ? 0 : summary(syncHit).max,
      p999AsyncMs: summary(asyncHit).p999,
    },
    timeouts,
    failure,
    journalMB,
    snapshotMB,
    fileMB: sizeMB(dirname(path), basename(path), (rest) => rest === '' || rest === '.wal'),
  };
}

export async function open(path: string): Promise<OpenResult> {
  const { Catalog } = await import('duckcat');
  globalThis.gc?.();
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const catalog = await Catalog.open(path);
  const openMs = performance.now() - t0;
  globalThis.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const rssDeltaMB = (process.memoryUsage().rss - before) / MB;
  const size = catalog.size;
  await catalog.close();
  return { openMs, rssDeltaMB, size };
}

/** The yardstick: the same entries as one JSON object, read and parsed into a Map. */
export function json(path: string, entries: number): JsonResult {
  globalThis.gc?.();
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const map = new Map(Object.entries(parsed));
  const parseMs = performance.now() - t0;
  globalThis.gc?.();
  const rssDeltaMB = (process.memoryUsage().rss - before) / MB;
  if (map.size !== entries) throw new Error(`json: loaded ${map.size} entries, expected ${entries}`);
  return { fileMB: statSync(path).size / MB, parseMs, rssDeltaMB };
}

export function writeJson(path: string, entries: number): void {
  const parts: string[] = [];
  for (let i = 0; i < entries; i++) parts.push(`${JSON.stringify(nameFor(i))}:${JSON.stringify(definitionFor(i))}`);
  writeFileSync(path, `{${parts.join(',')}}`);
}

const [step, path, entries, inFlight, probeEvery] = process.argv.slice(2);
if (step !== undefined && path !== undefined && entries !== undefined) {
  const n = Number(entries);
  let result: unknown;
  if (step === 'build') result = await build(path, n, Number(inFlight ?? 256), Number(probeEvery ?? 0));
  else if (step === 'open') result = await open(path);
  else if (step === 'write-json') result = writeJson(path, n);
  else if (step === 'json') result = json(path, n);
  else throw new Error(`unknown step ${step}`);
  process.stdout.write(`${JSON.stringify(result ?? null)}\n`);
}
