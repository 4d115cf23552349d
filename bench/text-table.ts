/** A column of a plain-text table over rows of type T. */
export interface Column<T> {
  title: string;
  /** Left-aligned when true; numbers are right-aligned. */
  left?: boolean;
  cell(row: T): string;
}

/** Header, rule and one line per row, each column as wide as its widest cell. */
export function renderColumns<T>(columns: readonly Column<T>[], rows: readonly T[]): string[] {
  const cells = rows.map((row) => columns.map((column) => column.cell(row)));
  const widths = columns.map((column, c) =>
    Math.max(column.title.length, ...cells.map((rowCells) => (rowCells[c] ?? '').length)),
  );
  const line = (lineCells: readonly string[]): string =>
    lineCells
      .map((cell, c) => (columns[c]?.left ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0)))
      .join('  ');
  return [
    line(columns.map((column) => column.title)),
    line(widths.map((width) => '-'.repeat(width))),
    ...cells.map(line),
  ];
}
