/** Number formatting shared by the table and the chart. */

/** Microseconds: one decimal below 100 µs, where the decimal still carries information. */
export function formatUs(value: number): string {
  if (!Number.isFinite(value)) return '-';
  if (value < 100) return value.toFixed(1);
  return Math.round(value).toLocaleString('en-US');
}

export function formatOps(value: number): string {
  if (!Number.isFinite(value)) return '-';
  return Math.round(value).toLocaleString('en-US');
}

export function formatRatio(value: number | null): string {
  return value === null || !Number.isFinite(value) ? '-' : `${value.toFixed(2)}x`;
}

/** The first line of an error, short enough for one table row. */
export function firstLine(text: string, max = 100): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
