// fast-check generators for names, definitions and operations, each tagged with what the
// catalog must do with it, plus the model of the expected outcome. Plain JS so the soak
// runner can use it without a compile step.
import fc from 'fast-check';

/** Limits the fuzzed catalogs are opened with: small, so "too big" is cheap to generate. */
export const LIMITS = Object.freeze({ maxNameBytes: 64, maxDefinitionBytes: 4096 });

// A few fixed names so random sequences keep hitting the same entries.
const POOL = ['a', 'b', 'orders_view', 'Ünïcødé', '日本語', '🦆', ' ', 'x'.repeat(64), 'é'.repeat(32)];
const BAD_NAMES = ['', 'a\u0000b', '\u0000', '\ud800', 'x\udc00y', 'x'.repeat(65), 'é'.repeat(33), '🦆'.repeat(17)];
const NOT_STRINGS = [undefined, null, 0, 42, true, {}, ['a'], Symbol('name'), new String('a'), 10n];

const loneSurrogate = fc
  .tuple(fc.string({ maxLength: 5 }), fc.integer({ min: 0xd800, max: 0xdfff }), fc.string({ maxLength: 5 }))
  .map(([before, unit, after]) => `${before}${String.fromCharCode(unit)}${after}`);

/** Any name: valid, empty, huge, unicode, with NUL, with lone surrogates, or not a string at all. */
export const anyName = fc.oneof(
  { arbitrary: fc.constantFrom(...POOL), weight: 6 },
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), weight: 2 },
  { arbitrary: fc.constantFrom(...BAD_NAMES), weight: 2 },
  { arbitrary: loneSurrogate, weight: 1 },
  { arbitrary: fc.constantFrom(...NOT_STRINGS), weight: 1 },
);

/** The refusal a name must get (ERR_CATALOG_INVALID) or undefined when it is acceptable. */
export function nameProblem(name, maxNameBytes = LIMITS.maxNameBytes) {
  if (typeof name !== 'string') return 'not a string';
  if (name.length === 0) return 'empty';
  if (name.includes('\u0000')) return 'NUL';
  if (!name.isWellFormed()) return 'lone surrogate';
  if (Buffer.byteLength(name, 'utf8') > maxNameBytes) return 'too long';
  return undefined;
}

const SPECIAL_VALUES = [
  1e21, 5e-324, -0, Number.MAX_SAFE_INTEGER, 2 ** 64, -1.5e-300, '', '\u2028\u2029', '\u0000', '\uffff\ufffe',
  '"\\/\b\f\n\r\t', [], {}, [[[]]], { '': '' },
];

const fresh = {
  nullProto: () => Object.assign(Object.create(null), { a: 1, nested: { b: [2] } }),
  protoKey: () => JSON.parse('{"__proto__": {"x": 1}, "constructor": "c"}'),
};

/** Definitions JSON can carry unchanged (up to -0 becoming 0, as JSON does). */
export const validDefinition = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }), weight: 6 },
  { arbitrary: fc.jsonValue({ maxDepth: 2, stringUnit: 'grapheme' }), weight: 2 },
  { arbitrary: fc.constantFrom(...SPECIAL_VALUES).map((value) => structuredClone(value)), weight: 2 },
  { arbitrary: fc.constantFrom(...Object.keys(fresh)).map((key) => fresh[key]()), weight: 1 },
);

class Widget {
  constructor() {
    this.a = 1;
  }
}

// Each builder returns a new value, so no two cases share a mutable object.
const BAD = {
  bigint: () => 10n,
  function: () => () => 1,
  undefined: () => undefined,
  symbol: () => Symbol('x'),
  date: () => new Date(0),
  map: () => new Map([['a', 1]]),
  set: () => new Set([1]),
  classInstance: () => new Widget(),
  regexp: () => /x/,
  typedArray: () => new Uint8Array(2),
  boxedNumber: () => new Number(1),
  sparseArray: () => [1, , 3], // eslint-disable-line no-sparse-arrays
  NaN: () => NaN,
  Infinity: () => Infinity,
  minusInfinity: () => -Infinity,
  loneSurrogateString: () => 'ok\ud83d',
  loneSurrogateKey: () => ({ ['\udfff']: 1 }),
  symbolKey: () => ({ [Symbol('k')]: 1, a: 1 }),
  cycle: () => {
    const root = { a: 1, child: { b: 2 } };
    root.child.back = root;
    return root;
  },
  arrayCycle: () => {
    const list = [1];
    list.push({ list });
    return list;
  },
  huge: () => 'x'.repeat(LIMITS.maxDefinitionBytes + 1),
};

/** Definitions the catalog must refuse with ERR_CATALOG_INVALID: the bad part alone or nested. */
export const invalidDefinition = fc
  .tuple(fc.constantFrom(...Object.keys(BAD)), fc.nat(3), validDefinition)
  .map(([kind, where, sibling]) => {
    const bad = BAD[kind]();
    const value = [bad, { k: bad, sibling }, [sibling, bad], { outer: { inner: [0, { deep: bad }] } }][where];
    return { kind, value };
  });

/** A definition with the verdict it must get. */
export const anyDefinition = fc.oneof(
  { arbitrary: validDefinition.map((value) => ({ kind: 'valid', value })), weight: 4 },
  { arbitrary: invalidDefinition, weight: 1 },
);

/** True when `definition` (from {@link anyDefinition}) must be accepted under `maxDefinitionBytes`. */
export function definitionAcceptable(definition, maxDefinitionBytes = LIMITS.maxDefinitionBytes) {
  if (definition.kind !== 'valid') return false;
  return Buffer.byteLength(JSON.stringify(definition.value), 'utf8') <= maxDefinitionBytes;
}

/** What the catalog must hold after storing `value`: its JSON round trip. */
export function storedForm(value) {
  return JSON.parse(JSON.stringify(value));
}

const WRITE_KINDS = ['define', 'replace', 'drop'];

/** One call: a write (sync or async) or a read, mostly on three names so calls collide. */
export const anyOp = fc.record({
  kind: fc.constantFrom(...WRITE_KINDS, 'define', 'get'),
  via: fc.constantFrom('sync', 'async'),
  name: fc.oneof({ arbitrary: fc.constantFrom('a', 'b', '🦆'), weight: 3 }, { arbitrary: anyName, weight: 2 }),
  definition: anyDefinition,
});

/** A sequence of single calls and groups of concurrent async calls. */
export const anySequence = fc.array(
  fc.oneof(
    { arbitrary: anyOp.map((op) => [op]), weight: 3 },
    { arbitrary: fc.array(anyOp.map((op) => ({ ...op, via: 'async' })), { minLength: 2, maxLength: 6 }), weight: 1 },
  ),
  { minLength: 1, maxLength: 12 },
);

/**
 * The outcome `op` must have given the model state before it: an error code, or
 * success together with the value to store (undefined for a drop).
 */
export function expectedOutcome(model, op) {
  if (nameProblem(op.name) !== undefined) return { code: 'ERR_CATALOG_INVALID' };
  if (op.kind !== 'drop' && !definitionAcceptable(op.definition)) return { code: 'ERR_CATALOG_INVALID' };
  if (op.kind === 'define' && model.has(op.name)) return { code: 'ERR_CATALOG_EXISTS' };
  if (op.kind === 'drop' && !model.has(op.name)) return { code: 'ERR_CATALOG_NOT_FOUND' };
  return { ok: true, stored: op.kind === 'drop' ? undefined : storedForm(op.definition.value) };
}

/** A readable label for a name in failure messages. */
export function show(value) {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…(${value.length})` : value);
  if (typeof value === 'symbol' || typeof value === 'bigint') return String(value);
  return `${typeof value}:${Object.prototype.toString.call(value)}`;
}
