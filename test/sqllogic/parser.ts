/**
 * Parses the subset of DuckDB's SQLLogicTest format that duckcat's .test files and the
 * seeds' phase2_ddl.test use. Records are separated by blank lines; `#` lines are comments.
 */

/** One record of a .test file, with the 1-based line it starts on. */
export type SqlLogicRecord =
  | { readonly kind: 'statement'; readonly line: number; readonly expect: 'ok' | 'error'; readonly sql: string; readonly error?: string }
  | { readonly kind: 'query'; readonly line: number; readonly types: string; readonly sort: 'none' | 'rowsort'; readonly sql: string; readonly expected: readonly string[] }
  | { readonly kind: 'require'; readonly line: number; readonly extension: string }
  | { readonly kind: 'load'; readonly line: number; readonly path: string }
  | { readonly kind: 'restart'; readonly line: number };

const SEPARATOR = '----';

/**
 * @param text The file's contents.
 * @returns The records in file order.
 * @throws {Error} naming the line for a command this runner does not support.
 */
export function parseSqlLogic(text: string): SqlLogicRecord[] {
  const lines = text.split(/\r?\n/);
  const records: SqlLogicRecord[] = [];
  let i = 0;
  while (i < lines.length) {
    const header = lines[i]!.trim();
    const line = i + 1;
    i++;
    if (header === '' || header.startsWith('#')) continue;
    // The record's body: every line up to the next blank line.
    const body: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== '') body.push(lines[i++]!);
    records.push(parseRecord(header.split(/\s+/), body, line));
  }
  return records;
}

function parseRecord(words: string[], body: string[], line: number): SqlLogicRecord {
  const [command, ...args] = words;
  const split = body.indexOf(SEPARATOR);
  const sql = (split === -1 ? body : body.slice(0, split)).join('\n');
  const after = split === -1 ? [] : body.slice(split + 1);
  switch (command) {
    case 'statement':
      if (args[0] === 'ok') return { kind: 'statement', line, expect: 'ok', sql };
      if (args[0] === 'error') return { kind: 'statement', line, expect: 'error', sql, ...(split === -1 ? {} : { error: after.join('\n') }) };
      break;
    case 'query': {
      const [types, sort = 'none'] = args;
      if (types === undefined || !/^[TIR]+$/.test(types)) break;
      if (sort !== 'none' && sort !== 'rowsort') break;
      return { kind: 'query', line, types, sort, sql, expected: after };
    }
    case 'require':
      if (args.length === 1) return { kind: 'require', line, extension: args[0]! };
      break;
    case 'load':
      if (args.length === 1) return { kind: 'load', line, path: args[0]! };
      break;
    case 'restart':
      if (args.length === 0) return { kind: 'restart', line };
      break;
  }
  throw new Error(`line ${line}: unsupported SQLLogicTest record "${words.join(' ')}"`);
}
