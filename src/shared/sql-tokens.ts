/**
 * A lossless SQL tokenizer for the fragments of a semantic view (expressions, join
 * conditions, filters). Not a parser: it finds what the planner needs to know about a
 * fragment — which table aliases it qualifies columns with, which bare names it uses,
 * where its top-level `AND`s and commas are — without ever looking inside string literals
 * or quoted identifiers. Joining the tokens' text gives the fragment back unchanged.
 */

/** What a token is; `word` is an unquoted identifier or keyword. */
export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'space' | 'punct';

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const DIGIT = /[0-9]/;
const SPACE = /\s/;

/** Splits `text` into tokens. Fragments were checked by `checkSqlFragment`, so quotes are closed. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    let end = i + 1;
    let kind: TokenKind;
    if (ch === "'" || ch === '"') {
      kind = ch === "'" ? 'string' : 'quoted';
      while (end < text.length) {
        if (text[end] === ch) {
          if (text[end + 1] === ch) end += 2;
          else {
            end++;
            break;
          }
        } else end++;
      }
    } else if (SPACE.test(ch)) {
      kind = 'space';
      while (end < text.length && SPACE.test(text[end]!)) end++;
    } else if (WORD_START.test(ch)) {
      kind = 'word';
      while (end < text.length && WORD_PART.test(text[end]!)) end++;
    } else if (DIGIT.test(ch) || (ch === '.' && DIGIT.test(text[i + 1] ?? ''))) {
      kind = 'number';
      while (end < text.length && /[0-9._eE]/.test(text[end]!)) end++;
    } else {
      kind = 'punct';
      // Two-character operators stay one token so `::` is never read as two colons.
      const pair = text.slice(i, i + 2);
      if (['::', ':=', '<=', '>=', '<>', '!=', '||', '->', '=>'].includes(pair)) end = i + 2;
    }
    tokens.push({ kind, text: text.slice(i, end) });
    i = end;
  }
  return tokens;
}

/** The name a word or quoted identifier stands for (quotes removed), or undefined. */
export function identifierOf(token: Token | undefined): string | undefined {
  if (token === undefined) return undefined;
  if (token.kind === 'word') return token.text;
  if (token.kind === 'quoted') return token.text.slice(1, -1).replaceAll('""', '"');
  return undefined;
}

/** Index of the next non-space token after `i`, or -1. */
export function nextSolid(tokens: readonly Token[], i: number): number {
  for (let j = i + 1; j < tokens.length; j++) if (tokens[j]!.kind !== 'space') return j;
  return -1;
}

/** Index of the previous non-space token before `i`, or -1. */
export function previousSolid(tokens: readonly Token[], i: number): number {
  for (let j = i - 1; j >= 0; j--) if (tokens[j]!.kind !== 'space') return j;
  return -1;
}

/**
 * The qualifiers of qualified column references: for `o.amount + c.x.y` → `o`, `c`.
 * Only the first part of a dotted chain counts (the planner matches it to an alias).
 */
export function qualifiers(tokens: readonly Token[]): string[] {
  const found: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const name = identifierOf(tokens[i]);
    if (name === undefined) continue;
    const before = previousSolid(tokens, i);
    if (before >= 0 && tokens[before]!.text === '.') continue;
    const after = nextSolid(tokens, i);
    if (after >= 0 && tokens[after]!.text === '.') found.push(name);
  }
  return found;
}

/**
 * Indexes of bare words: unquoted identifiers that are not part of a dotted chain, not a
 * function call (`sum(`), not a cast target (`::INTEGER`) and not a named argument.
 * These are the only tokens a member name can stand for.
 */
export function bareWords(tokens: readonly Token[]): number[] {
  const found: number[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i]!.kind !== 'word') continue;
    const before = previousSolid(tokens, i);
    const after = nextSolid(tokens, i);
    const prev = before >= 0 ? tokens[before]!.text : '';
    const next = after >= 0 ? tokens[after]!.text : '';
    if (prev === '.' || prev === '::' || next === '.' || next === '(' || next === ':=' || next === '=>') continue;
    // `CAST(x AS INTEGER)`: the word after AS inside a cast is a type, never a member.
    if (/^as$/i.test(prev)) continue;
    found.push(i);
  }
  return found;
}

/** Splits at top-level (outside parentheses) tokens for which `isSeparator` holds. */
export function splitTopLevel(tokens: readonly Token[], isSeparator: (token: Token) => boolean): Token[][] {
  const parts: Token[][] = [[]];
  let depth = 0;
  let betweenOpen = 0;
  for (const token of tokens) {
    depth += nesting(token);
    // `x BETWEEN a AND b`: that AND belongs to the BETWEEN, not to the conjunction.
    if (depth === 0 && token.kind === 'word' && /^between$/i.test(token.text)) betweenOpen++;
    if (depth === 0 && isSeparator(token)) {
      if (betweenOpen > 0 && /^and$/i.test(token.text)) {
        betweenOpen--;
      } else {
        parts.push([]);
        continue;
      }
    }
    parts.at(-1)!.push(token);
  }
  return parts;
}

/**
 * The top-level conjuncts of a condition: `a AND (b OR c)` → `a`, `(b OR c)`. A condition
 * with a top-level OR is one conjunct (splitting it would change its meaning).
 */
export function conjuncts(tokens: readonly Token[]): Token[][] {
  let depth = 0;
  for (const token of tokens) {
    depth += nesting(token);
    if (depth === 0 && token.kind === 'word' && /^or$/i.test(token.text)) return [[...tokens]];
  }
  return splitTopLevel(tokens, isAnd).filter((part) => textOf(part).length > 0);
}

// Parentheses and CASE … END nest: an AND, OR or comma inside them is not top-level.
function nesting(token: Token): number {
  if (token.text === '(') return 1;
  if (token.text === ')') return -1;
  if (token.kind === 'word' && /^case$/i.test(token.text)) return 1;
  if (token.kind === 'word' && /^end$/i.test(token.text)) return -1;
  return 0;
}

/** The text of tokens, trimmed. */
export function textOf(tokens: readonly Token[]): string {
  return tokens
    .map((token) => token.text)
    .join('')
    .trim();
}

/** True when the word is `AND` (any case). */
export function isAnd(token: Token): boolean {
  return token.kind === 'word' && /^and$/i.test(token.text);
}

/** True when the token is a top-level comma. */
export function isComma(token: Token): boolean {
  return token.text === ',';
}
