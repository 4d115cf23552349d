import { join } from 'node:path';
import type { Catalog, CatalogOptions } from 'duckcat';
import { definitionFor, nameFor } from './payload.js';
import { fsyncFloor } from './peers/fsync-floor.js';
import { summarize } from './stats.js';
import type { Summary } from './stats.js';
import { TRACED_POINTS, TRACE_OPTION, createTrace } from './trace-fields.js';

/** One span of a `defineSync`, summarized over the traced writes (µs). */
export interface StageSummary {
  name: string;
  summary: Summary;
}

/** Where the time of one `defineSync` goes, from the core's trace hook. */
export interface StageBreakdownResult {
  writes: number;
  /** Writes whose trace had every point set; 0 when the core does not fill the trace. */
  traced: number;
  /** One entry per span between consecutive points; empty when `traced` is 0. */
  stages: StageSummary[];
  /**
   * Both thread hops together (worker wake-up + caller wake-up). Each hop alone also holds
   * whatever offset lies between the two threads' clocks; in their sum it cancels out.
   */
  wakeUps: StageSummary | null;
  /** Every `defineSync` as the caller timed it, traced or not. */
  total: Summary;
  /** An fsync-floor write after each `defineSync`, so both see the same disk. */
  fsyncFloor: Summary;
}

export interface StageBreakdownOptions {
  writes: number;
  warmup: number;
}

/**
 * The spans between consecutive points of the timeline: the caller's start, the six traced
 * points, the caller's return. Names follow the issue.
 */
const STAGE_NAMES = [
  'caller encode+post',
  'worker wake-up',
  'drain+plan',
  'journal write',
  'fdatasync',
  'reply',
  'caller wake-up',
] as const;
const WORKER_WAKE_UP = STAGE_NAMES.indexOf('worker wake-up');
const CALLER_WAKE_UP = STAGE_NAMES.indexOf('caller wake-up');

/** Absolute ms on the same clock the core writes into the trace. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Fills `timeline` with the caller's start, the traced points and the caller's return;
 * returns false when any traced point is unset, i.e. this write was not traced.
 */
function readTimeline(timeline: Float64Array, called: number, trace: Float64Array, returned: number): boolean {
  let at = 0;
  timeline[at++] = called;
  for (const field of TRACED_POINTS) {
    const value = trace[field] ?? 0;
    if (!(value > 0)) return false;
    timeline[at++] = value;
  }
  timeline[at] = returned;
  return true;
}

async function openTraced(path: string, trace: Float64Array): Promise<Catalog> {
  const { Catalog: CatalogClass } = await import('duckcat');
  // A symbol key is not part of CatalogOptions; the core reads it, an older core skips it.
  const options: CatalogOptions & Record<symbol, unknown> = { [TRACE_OPTION]: trace };
  return CatalogClass.open(path, options);
}

/**
 * Times `writes` traced `defineSync` calls, each followed by one fsync-floor write, under
 * `dir`. The trace is zeroed before each call, so a field the core did not write this time
 * reads 0 and the write counts as untraced rather than reusing the last write's points.
 */
export async function measureStageBreakdown(dir: string, options: StageBreakdownOptions): Promise<StageBreakdownResult> {
  const trace = createTrace();
  const catalog = await openTraced(join(dir, 'catalog.duckdb'), trace);
  const floor = fsyncFloor();
  const spansUs = STAGE_NAMES.map(() => new Float64Array(options.writes));
  const wakeUpsUs = new Float64Array(options.writes);
  const totalUs = new Float64Array(options.writes);
  const floorUs = new Float64Array(options.writes);
  const timeline = new Float64Array(STAGE_NAMES.length + 1);
  let traced = 0;
  try {
    await floor.setup(dir);
    for (let i = 0; i < options.warmup + options.writes; i++) {
      trace.fill(0);
      const called = now();
      catalog.defineSync(nameFor(i), definitionFor(i));
      const returned = now();
      const f0 = performance.now();
      const pending = floor.writeOne(i);
      if (pending !== undefined) await pending;
      const f1 = performance.now();

      const k = i - options.warmup;
      if (k < 0) continue;
      totalUs[k] = (returned - called) * 1e3;
      floorUs[k] = (f1 - f0) * 1e3;
      if (!readTimeline(timeline, called, trace, returned)) continue;
      for (let s = 0; s < STAGE_NAMES.length; s++) {
        const span = spansUs[s];
        if (span !== undefined) span[traced] = ((timeline[s + 1] ?? 0) - (timeline[s] ?? 0)) * 1e3;
      }
      wakeUpsUs[traced] = (spansUs[WORKER_WAKE_UP]?.[traced] ?? 0) + (spansUs[CALLER_WAKE_UP]?.[traced] ?? 0);
      traced++;
    }
  } finally {
    await floor.teardown();
    await catalog.close();
  }

  const stages =
    traced === 0
      ? []
      : STAGE_NAMES.map((name, s) => ({ name, summary: summarize(spansUs[s]?.subarray(0, traced) ?? []) }));
  return {
    writes: options.writes,
    traced,
    stages,
    wakeUps: traced === 0 ? null : { name: 'both wake-ups (no clock offset)', summary: summarize(wakeUpsUs.subarray(0, traced)) },
    total: summarize(totalUs),
    fsyncFloor: summarize(floorUs),
  };
}
