import type { ColdOpenResult } from './cold-open.js';
import { firstLine, formatOps, formatRatio, formatUs } from './format.js';
import type { TargetResult } from './rounds.js';
import { renderColumns } from './text-table.js';
import type { Column } from './text-table.js';

const COLUMNS: readonly Column<TargetResult>[] = [
  { title: 'target', left: true, cell: (r) => r.label },
  { title: 'durable', left: true, cell: (r) => (r.durable ? 'yes' : 'NO') },
  { title: 'callers', cell: (r) => String(r.concurrency) },
  { title: 'ops', cell: (r) => (r.median === null ? '-' : r.median.count.toLocaleString('en-US')) },
  { title: 'p50 µs', cell: (r) => formatUs(r.median?.p50 ?? Number.NaN) },
  { title: 'p99 µs', cell: (r) => formatUs(r.median?.p99 ?? Number.NaN) },
  { title: 'p99.9 µs', cell: (r) => formatUs(r.median?.p999 ?? Number.NaN) },
  { title: 'max µs', cell: (r) => formatUs(r.median?.max ?? Number.NaN) },
  { title: 'mean µs', cell: (r) => formatUs(r.median?.mean ?? Number.NaN) },
  { title: 'ops/s', cell: (r) => formatOps(r.median?.opsPerSec ?? Number.NaN) },
  { title: 'p50 vs defineSync', cell: (r) => formatRatio(r.ratioP50) },
];

/**
 * The results as a plain-text table (median across rounds of each figure), then one line
 * per failed target. "ops" is the total measured across rounds.
 */
export function renderTable(results: readonly TargetResult[], rounds: number): string {
  const out = [
    `Write latency per op, median of ${rounds} rounds (one op = define of a new name, ~300 B JSON)`,
    ...renderColumns(COLUMNS, results),
  ];
  for (const result of results) {
    if (result.error !== null) out.push(`${result.label}: failed: ${firstLine(result.error, 160)}`);
  }
  return out.join('\n');
}

function formatRunsMs(runsMs: readonly number[]): string {
  return runsMs.map((ms) => ms.toFixed(0)).join(', ');
}

/** One indented "label: text" line of the cold-open section, labels aligned. */
function coldRow(label: string, text: string): string {
  return `  ${`${label}:`.padEnd(21)}${text}`;
}

/**
 * The cold-open section. Each open against its yardstick: the big open against loading the
 * same entries with JSON.parse (the issue wants open / JSON.parse ≤ 1), the small open
 * against the 60 ms the issue sets.
 */
export function renderColdOpen(cold: ColdOpenResult): string {
  const first = cold.opens[0];
  const json = cold.jsonParse;
  const small = cold.smallOpen;
  return [
    `Cold open of ${cold.entries.toLocaleString('en-US')} entries (${cold.fileMB.toFixed(1)} MB on disk, page cache warm)`,
    coldRow('seed via define', `${(cold.seedMs / 1e3).toFixed(1)} s`),
    coldRow(
      'open to full map',
      `${cold.openMsMedian.toFixed(0)} ms median (runs: ${formatRunsMs(cold.opens.map((open) => open.openMs))} ms), size ${cold.sizeAfterOpen}`,
    ),
    coldRow(
      'JSON.parse',
      `${json.runsMsMedian.toFixed(0)} ms median (runs: ${formatRunsMs(json.runsMs)} ms), ` +
        `readFileSync + JSON.parse + Map of the same entries, ${json.fileMB.toFixed(1)} MB`,
    ),
    coldRow('open / JSON.parse', `${formatRatio(cold.openMsMedian / json.runsMsMedian)} (target ≤ 1.00x)`),
    coldRow('RSS delta', `${first?.rssDeltaMB.toFixed(1) ?? '-'} MB (first open; heap ${first?.heapDeltaMB.toFixed(1) ?? '-'} MB)`),
    coldRow(
      'get',
      `${cold.getNs.toFixed(1)} ns per get over ${cold.gets.toLocaleString('en-US')} gets (plain Map.get: ${cold.mapGetNs.toFixed(1)} ns)`,
    ),
    coldRow(
      `open of ${small.entries} entries`,
      `${small.runsMsMedian.toFixed(1)} ms median of ${small.runsMs.length} (runs: ${formatRunsMs(small.runsMs)} ms), ` +
        `size ${small.sizeAfterOpen}, a catalog of its own (target ≤ 60 ms)`,
    ),
  ].join('\n');
}
