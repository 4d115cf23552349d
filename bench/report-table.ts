import type { ColdOpenResult } from './cold-open.js';
import { firstLine, formatOps, formatRatio, formatUs } from './format.js';
import type { TargetResult } from './rounds.js';

interface Column {
  title: string;
  /** Left-aligned when true; numbers are right-aligned. */
  left?: boolean;
  cell(result: TargetResult): string;
}

const COLUMNS: readonly Column[] = [
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
  const rows = results.map((result) => COLUMNS.map((column) => column.cell(result)));
  const widths = COLUMNS.map((column, c) =>
    Math.max(column.title.length, ...rows.map((row) => (row[c] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, c) => (COLUMNS[c]?.left ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0)))
      .join('  ');
  const out = [
    `Write latency per op, median of ${rounds} rounds (one op = define of a new name, ~300 B JSON)`,
    line(COLUMNS.map((column) => column.title)),
    line(widths.map((width) => '-'.repeat(width))),
    ...rows.map(line),
  ];
  for (const result of results) {
    if (result.error !== null) out.push(`${result.label}: failed: ${firstLine(result.error, 160)}`);
  }
  return out.join('\n');
}

export function renderColdOpen(cold: ColdOpenResult): string {
  const opens = cold.opens.map((open) => open.openMs.toFixed(0)).join(', ');
  return [
    `Cold open of ${cold.entries.toLocaleString('en-US')} entries (${cold.fileMB.toFixed(1)} MB on disk, page cache warm)`,
    `  seed via define:  ${(cold.seedMs / 1e3).toFixed(1)} s`,
    `  open to full map: ${cold.openMsMedian.toFixed(0)} ms median (runs: ${opens} ms), size ${cold.sizeAfterOpen}`,
    `  RSS delta:        ${cold.opens[0]?.rssDeltaMB.toFixed(1) ?? '-'} MB (first open; heap ${cold.opens[0]?.heapDeltaMB.toFixed(1) ?? '-'} MB)`,
    `  get:              ${cold.getNs.toFixed(1)} ns per get over ${cold.gets.toLocaleString('en-US')} gets (plain Map.get: ${cold.mapGetNs.toFixed(1)} ns)`,
  ].join('\n');
}
