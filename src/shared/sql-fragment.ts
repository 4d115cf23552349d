import { CatalogInvalidError } from './errors.js';

/**
 * Checks that `text` is a self-contained SQL fragment (an expression, a table reference,
 * a join condition) that can be pasted into one slot of a generated SELECT without
 * escaping it: non-empty, no `;`, no comments, quotes closed, parentheses balanced.
 *
 * Why: expansion builds SQL by splicing definition text into a template. A fragment that
 * closed a parenthesis it did not open, ended the statement or commented out the rest
 * would turn one view's typo into a different query. This is a well-formedness check,
 * not a parser: DuckDB still reports real syntax errors when the SQL runs.
 *
 * Conservative on purpose: a `;`, `--` or `/*` is refused outside quoted text only, and
 * backslash escapes (E'\'') are not understood, so such rare fragments are refused rather
 * than misread.
 * @throws {CatalogInvalidError} naming `field`.
 */
export function checkSqlFragment(text: unknown, field: string): asserts text is string {
  if (typeof text !== 'string') throw new CatalogInvalidError(field, `must be a string of SQL, got ${text === null ? 'null' : typeof text}`);
  if (text.trim().length === 0) throw new CatalogInvalidError(field, 'must not be empty');
  if (text.includes('\u0000')) throw new CatalogInvalidError(field, 'must not contain NUL characters');
  let depth = 0;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const next = text[i + 1];
    if (quote !== undefined) {
      if (ch !== quote) continue;
      // A doubled quote is an escaped quote, not the end of the quoted text.
      if (next === quote) i++;
      else quote = undefined;
      continue;
    }
    switch (ch) {
      case "'":
      case '"':
        quote = ch;
        break;
      case '(':
        depth++;
        break;
      case ')':
        if (--depth < 0) throw new CatalogInvalidError(field, `closes a parenthesis it did not open (at character ${i + 1})`);
        break;
      case ';':
        throw new CatalogInvalidError(field, `must be one SQL fragment, without ";" (at character ${i + 1})`);
      case '-':
      case '/':
        if ((ch === '-' && next === '-') || (ch === '/' && next === '*')) {
          throw new CatalogInvalidError(field, `must not contain SQL comments (at character ${i + 1})`);
        }
        break;
      default:
        break;
    }
  }
  if (quote !== undefined) throw new CatalogInvalidError(field, `has an unterminated ${quote === "'" ? 'string literal' : 'quoted identifier'}`);
  if (depth > 0) throw new CatalogInvalidError(field, `leaves ${depth} parenthesis${depth === 1 ? '' : 'es'} open`);
}

/** Quotes a name as a DuckDB identifier: always safe as a column alias. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
