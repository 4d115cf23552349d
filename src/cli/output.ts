import { CatalogError } from '../shared/errors.js';
import { UsageError } from './cli-args.js';

/**
 * Where a command writes: stdout for results, stderr for errors and notes. With `--json`
 * stdout carries exactly one JSON document (or, for `watch`, one per line).
 */
export interface Output {
  readonly json: boolean;
  /** Results. */
  out(text: string): void;
  /** Notes and errors. */
  err(text: string): void;
}

export function processOutput(json: boolean): Output {
  return {
    json,
    out: (text) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  };
}

/** JSON text that never throws on a BigInt (written as a number when safe, else as a string). */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? (Number.isSafeInteger(Number(item)) ? Number(item) : item.toString()) : item), indent);
}

/** A plain-text table: a header, then rows, columns padded to their widest cell. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

/** `key  value` lines, nested objects flattened to dotted keys. */
export function keyValues(value: Record<string, unknown>): string {
  const pairs: Array<[string, string]> = [];
  const walk = (prefix: string, item: unknown) => {
    if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
      for (const [key, inner] of Object.entries(item)) walk(prefix === '' ? key : `${prefix}.${key}`, inner);
    } else {
      pairs.push([prefix, typeof item === 'string' ? item : toJson(item)]);
    }
  };
  walk('', value);
  const width = Math.max(0, ...pairs.map(([key]) => key.length));
  return pairs.map(([key, text]) => `${key.padEnd(width)}  ${text}`).join('\n');
}

/** The error as a script reads it: `{ error: { code, message, …fields } }`. */
export function errorDocument(error: unknown): { error: Record<string, unknown> } {
  if (error instanceof CatalogError) {
    const fields: Record<string, unknown> = { code: error.code, message: error.message };
    for (const key of ['definitionName', 'field', 'path', 'pid', 'holder'] as const) {
      const value = (error as unknown as Record<string, unknown>)[key];
      if (value !== undefined) fields[key] = value;
    }
    return { error: fields };
  }
  if (error instanceof UsageError) return { error: { code: 'USAGE', message: error.message } };
  return { error: { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) } };
}

/** Writes an error to stderr: one JSON document with `--json`, else `duckcat: CODE: message`. */
export function reportError(output: Output, error: unknown, extra?: Record<string, unknown>): void {
  const document = errorDocument(error);
  if (output.json) {
    output.err(toJson({ error: { ...document.error, ...extra } }));
    return;
  }
  output.err(`duckcat: ${String(document.error.code)}: ${String(document.error.message)}`);
  if (extra !== undefined) output.err(keyValues(extra));
}
