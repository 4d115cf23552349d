import { formatRatio, formatUs } from './format.js';
import type { StageBreakdownResult, StageSummary } from './stage-breakdown.js';
import { renderColumns } from './text-table.js';
import type { Column } from './text-table.js';

/** The stage-breakdown section: one row per span, then the whole call and the fsync floor. */
export function renderStageBreakdown(result: StageBreakdownResult): string {
  const floorP50 = result.fsyncFloor.p50;
  const columns: readonly Column<StageSummary>[] = [
    { title: 'stage', left: true, cell: (row) => row.name },
    { title: 'p50 µs', cell: (row) => formatUs(row.summary.p50) },
    { title: 'p99 µs', cell: (row) => formatUs(row.summary.p99) },
    { title: 'p99.9 µs', cell: (row) => formatUs(row.summary.p999) },
    { title: 'p50 vs fsync-floor', cell: (row) => formatRatio(floorP50 > 0 ? row.summary.p50 / floorP50 : null) },
  ];
  const writes = result.writes.toLocaleString('en-US');
  let heading: string;
  if (result.traced === 0) {
    // A core without the hook leaves every field 0: say so rather than print spans of 0.
    heading = `Stages of one defineSync: trace not available (every duckcat.trace field stayed 0 over ${writes} writes)`;
  } else if (result.traced < result.writes) {
    heading = `Stages of one defineSync, ${result.traced.toLocaleString('en-US')} of ${writes} writes traced (the rest left a field 0)`;
  } else {
    heading = `Stages of one defineSync over ${writes} writes (points from the duckcat.trace hook)`;
  }
  const rows: StageSummary[] = [
    ...result.stages,
    ...(result.wakeUps === null ? [] : [result.wakeUps]),
    { name: 'defineSync, whole call', summary: result.total },
    { name: 'fsync-floor, same run', summary: result.fsyncFloor },
  ];
  return [heading, ...renderColumns(columns, rows)].join('\n');
}
