import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CatalogInvalidError } from '../src/shared/errors.js';
import { isPlainJson } from '../src/shared/plain-json.js';
import { serializeDefinition, writeCheckedJson } from '../src/shared/validate-input.js';

// serializeDefinition checks plain data without writing it, then lets JSON.stringify write
// it; everything else goes to the checking writer. These properties hold the fast path to
// the checking writer: the same text for valid input, the same refusal (code, field,
// message) for invalid input, and no user code run by either.

const SEED = 19_2026;
const LIMIT = 1 << 24;

type Outcome = { text: string } | { code: string; field: string; message: string } | { other: string };

function outcome(run: () => string): Outcome {
  try {
    return { text: run() };
  } catch (error) {
    if (error instanceof CatalogInvalidError) return { code: error.code, field: error.field, message: error.message };
    return { other: String(error) };
  }
}

/** Keys that trip up naive writers: prototype names, toJSON, numeric-looking, empty, non-ASCII. */
const awkwardKey = fc.oneof(
  fc.constantFrom('__proto__', 'toJSON', 'constructor', '0', '10', '-1', '', 'ключ', '📈', 'a"b', 'line\nbreak'),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
);

/** Valid JSON data, some objects with a null prototype and awkward keys. */
const validJson = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: 'binary' }).filter((s) => s.isWellFormed()),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(awkwardKey, tie('value'), { maxKeys: 5 }),
    fc.dictionary(awkwardKey, tie('value'), { maxKeys: 5, noNullPrototype: false }).map((o) => Object.assign(Object.create(null) as object, o)),
  ),
})).value;

/** One thing JSON would silently change, or a value the checking writer must see. */
const badLeaf = fc.oneof(
  fc.constantFrom<unknown>(undefined, Number.NaN, Infinity, -Infinity, 1n, Symbol('s'), () => 1, new Date(0), new Map(), new Set(), /re/, new Uint8Array(2)),
  fc.constantFrom('\ud800', 'a\udfffb', '\udc00\ud800'),
  fc.constant(null).map(() => [1, , 3]),
  fc.constant(null).map(() => Object.assign(Object.create({ inherited: 1 }) as object, { a: 1 })),
  fc.constant(null).map(() => ({ [Symbol('k')]: 1 })),
  fc.constant(null).map(() => ({ ['\ud800']: 1 })),
  fc.constant(null).map(() => ({ toJSON: () => 'swapped' })),
  fc.constant(null).map(() => Object.assign([1, 2], { toJSON: () => 'swapped' })),
  fc.constant(null).map(() => new (class Sub extends Array<number> {})(3).fill(1)),
  fc.constant(null).map(() => Object.setPrototypeOf([1, 2], Object.assign(Object.create(Array.prototype) as object, { toJSON: () => 'swapped' })) as unknown),
);

/** Valid data with one bad leaf put somewhere in it (or in place of it). */
const invalidJson = fc.tuple(validJson, badLeaf, fc.nat()).map(([value, bad, pick]) => plant(value, bad, pick));

function plant(value: unknown, bad: unknown, pick: number): unknown {
  const holders: Array<Record<string | number, unknown>> = [];
  const visit = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    holders.push(node as Record<string | number, unknown>);
    for (const child of Object.values(node)) visit(child);
  };
  visit(value);
  if (holders.length === 0) return bad;
  const holder = holders[pick % holders.length]!;
  if (Array.isArray(holder)) holder.push(bad);
  else holder[`bad${pick % 7}`] = bad;
  return value;
}

describe('serializeDefinition fast path', () => {
  it('writes what JSON.stringify and the checking writer write, for valid data', () => {
    fc.assert(
      fc.property(validJson, (value) => {
        const text = serializeDefinition(value, LIMIT);
        expect(text).toBe(JSON.stringify(value));
        expect(text).toBe(writeCheckedJson(value));
        // And it took the fast path, unless a key named toJSON sent it to the checking writer.
        if (!text.includes('"toJSON":')) expect(isPlainJson(value, 0)).toBe(true);
      }),
      { seed: SEED, numRuns: 2_000 },
    );
  });

  it('refuses exactly what the checking writer refuses, with the same field and message', () => {
    let refused = 0;
    fc.assert(
      fc.property(invalidJson, (value) => {
        const fast = outcome(() => serializeDefinition(value, LIMIT));
        expect(fast).toEqual(outcome(() => writeCheckedJson(value)));
        if ('code' in fast) refused++;
      }),
      { seed: SEED, numRuns: 2_000 },
    );
    // Most planted leaves are refusals (the rest: subclass arrays, toJSON data keys).
    expect(refused).toBeGreaterThan(1_000);
  });

  it('runs no getter, setter or proxy trap, and refuses them by path', () => {
    fc.assert(
      fc.property(validJson, fc.nat(), fc.constantFrom('getter', 'setter', 'proxy', 'toJSON getter'), (value, pick, kind) => {
        let calls = 0;
        const count = (): number => ++calls;
        const node = { plain: 1 } as Record<string, unknown>;
        if (kind === 'getter') Object.defineProperty(node, 'g', { get: count, enumerable: true });
        if (kind === 'setter') Object.defineProperty(node, 's', { set: count, enumerable: true });
        if (kind === 'toJSON getter') Object.defineProperty(node, 'toJSON', { get: count, enumerable: false });
        const planted = plant(value, kind === 'proxy' ? new Proxy(node, { get: count, ownKeys: () => (count(), []), getPrototypeOf: () => (count(), null) }) : node, pick);
        const fast = outcome(() => serializeDefinition(planted, LIMIT));
        expect(fast).toEqual(outcome(() => writeCheckedJson(planted)));
        expect(calls).toBe(0);
        // A non-enumerable toJSON accessor is skipped (as before), so that one is accepted.
        expect('text' in fast).toBe(kind === 'toJSON getter');
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('refuses cycles and over-deep nesting anywhere, as the checking writer does', () => {
    fc.assert(
      fc.property(validJson, fc.nat(), fc.boolean(), (value, pick, cyclic) => {
        let bad: unknown;
        if (cyclic) {
          const loop: Record<string, unknown> = { x: 1 };
          loop.again = { back: loop };
          bad = loop;
        } else {
          bad = 1;
          for (let i = 0; i < 300; i++) bad = [bad];
        }
        const planted = plant(value, bad, pick);
        const fast = outcome(() => serializeDefinition(planted, LIMIT));
        expect(fast).toEqual(outcome(() => writeCheckedJson(planted)));
        expect('code' in fast).toBe(true);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('ignores a toJSON added to Object.prototype, as the checking writer always did', () => {
    const value = { a: [1, { b: 'c' }] };
    Object.defineProperty(Object.prototype, 'toJSON', { value: () => 'polluted', configurable: true, writable: true });
    try {
      expect(serializeDefinition(value, LIMIT)).toBe('{"a":[1,{"b":"c"}]}');
    } finally {
      delete (Object.prototype as { toJSON?: unknown }).toJSON;
    }
  });
});
