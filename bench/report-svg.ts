import type { Environment } from './environment.js';
import { firstLine, formatUs } from './format.js';
import type { TargetResult } from './rounds.js';

// Layout in SVG user units. Rows hold two bars: p50 above, p99 below.
const WIDTH = 960;
const LABEL_WIDTH = 250;
const PLOT_LEFT = LABEL_WIDTH + 10;
const PLOT_WIDTH = 600;
const TOP = 78;
const ROW = 40;
const BAR = 14;
const P50_COLOR = '#1f5fa8';
const P99_COLOR = '#9cc3ea';

/** Axis ticks read as units: 10 µs, 1 ms, 10 ms rather than 10,000. */
function tickLabel(us: number): string {
  if (us >= 1e6) return `${us / 1e6} s`;
  if (us >= 1e3) return `${us / 1e3} ms`;
  return `${us < 1 ? us.toPrecision(1) : us} µs`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function text(x: number, y: number, content: string, attrs = ''): string {
  const extra = attrs === '' ? '' : ` ${attrs}`;
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}"${extra}>${escapeXml(content)}</text>`;
}

/** Decade bounds of the log axis, wide enough for every p50 and p99 shown. */
function axisDecades(results: readonly TargetResult[]): [number, number] {
  const values = results.flatMap((r) => (r.median === null ? [] : [r.median.p50, r.median.p99]));
  const positive = values.filter((v) => v > 0 && Number.isFinite(v));
  if (positive.length === 0) return [1, 4];
  const low = Math.floor(Math.log10(Math.min(...positive)));
  const high = Math.ceil(Math.log10(Math.max(...positive)));
  return [low, Math.max(high, low + 1)];
}

/**
 * A horizontal bar chart of median p50 and p99 latency per target on a log axis, as a
 * self-contained SVG string a browser can open. Not-durable targets are marked in the label.
 */
export function renderSvg(results: readonly TargetResult[], env: Environment, rounds: number): string {
  const [low, high] = axisDecades(results);
  const x = (us: number): number =>
    PLOT_LEFT + ((Math.log10(Math.max(us, 10 ** low)) - low) / (high - low)) * PLOT_WIDTH;
  const height = TOP + results.length * ROW + 50;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    text(16, 24, 'Write latency per op, µs (log scale): define of a new name, ~300 B JSON', 'font-size="16" font-weight="600"'),
    text(16, 44, `median of ${rounds} rounds · Node ${env.node} · ${env.cpuCount} × ${env.cpuModel} · ${env.tmpFilesystem} · ${env.date.slice(0, 10)}`, 'fill="#555"'),
    `<rect x="${PLOT_LEFT}" y="54" width="12" height="10" fill="${P50_COLOR}"/>`,
    text(PLOT_LEFT + 16, 63, 'p50'),
    `<rect x="${PLOT_LEFT + 60}" y="54" width="12" height="10" fill="${P99_COLOR}"/>`,
    text(PLOT_LEFT + 76, 63, 'p99'),
  ];
  const bottom = TOP + results.length * ROW;
  for (let decade = low; decade <= high; decade++) {
    const gx = x(10 ** decade);
    parts.push(`<line x1="${gx.toFixed(1)}" y1="${TOP - 4}" x2="${gx.toFixed(1)}" y2="${bottom}" stroke="#ddd"/>`);
    parts.push(text(gx, bottom + 16, tickLabel(10 ** decade), 'text-anchor="middle" fill="#555"'));
  }
  parts.push(text(PLOT_LEFT + PLOT_WIDTH / 2, bottom + 34, 'latency (µs)', 'text-anchor="middle" fill="#555"'));
  results.forEach((result, row) => {
    const y = TOP + row * ROW;
    const label = result.durable ? result.label : `${result.label} (not durable)`;
    parts.push(text(LABEL_WIDTH, y + BAR + 4, label, 'text-anchor="end"'));
    if (result.median === null) {
      const reason = result.error === null ? 'no result' : `failed: ${firstLine(result.error, 80)}`;
      parts.push(text(PLOT_LEFT + 4, y + BAR + 4, reason, 'fill="#b00"'));
      return;
    }
    const bars: Array<[number, string, number]> = [
      [result.median.p50, P50_COLOR, y + 2],
      [result.median.p99, P99_COLOR, y + 2 + BAR + 2],
    ];
    for (const [value, color, by] of bars) {
      const end = x(value);
      parts.push(`<rect x="${PLOT_LEFT}" y="${by}" width="${Math.max(1, end - PLOT_LEFT).toFixed(1)}" height="${BAR}" fill="${color}"/>`);
      parts.push(text(end + 4, by + BAR - 3, formatUs(value), 'fill="#333" font-size="11"'));
    }
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
