import { types } from 'node:util';
import { CatalogInvalidError } from './errors.js';
import { MAX_DEFINITION_DEPTH, isPlainJson, prototypesAreClean } from './plain-json.js';

export { MAX_DEFINITION_DEPTH };

const { isProxy } = types;

/**
 * Refuses names that cannot round-trip through DuckDB VARCHAR unchanged: non-strings,
 * empty, NUL characters, unpaired surrogates (they would be replaced by U+FFFD) and
 * names over `maxBytes` UTF-8 bytes.
 * @throws {CatalogInvalidError} field `name`.
 */
export function validateName(name: unknown, maxBytes: number): asserts name is string {
  if (typeof name !== 'string') throw new CatalogInvalidError('name', `must be a string, got ${typeName(name)}`);
  if (name.length === 0) throw new CatalogInvalidError('name', 'must not be empty');
  if (name.includes('\u0000')) throw new CatalogInvalidError('name', 'must not contain NUL characters');
  if (!name.isWellFormed()) throw new CatalogInvalidError('name', 'must be well-formed Unicode (unpaired surrogate)');
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > maxBytes) throw new CatalogInvalidError('name', `is ${bytes} UTF-8 bytes, the limit is ${maxBytes}`);
}

/**
 * Serializes a definition to JSON text, refusing anything JSON would silently change:
 * undefined, functions, symbols, BigInt, NaN/Infinity, cycles, sparse arrays, non-plain
 * objects (Date, Map, class instances), strings with unpaired surrogates, getters and
 * proxies. What is stored is what was checked: a getter or proxy cannot answer the check
 * with one value and the serializer with another. Plain data is checked by
 * {@link isPlainJson}, which runs no user code, and then written by JSON.stringify (which
 * then runs none either); anything else by the checking writer, which reads every value
 * exactly once and writes the text itself.
 * @throws {CatalogInvalidError} field `definition` (with the path of the bad value).
 */
export function serializeDefinition(definition: unknown, maxBytes: number): string {
  // Plain data (nearly every definition) is checked without building anything, then written
  // by JSON.stringify; anything else takes the checking writer, which refuses or writes it.
  const json = isPlainJson(definition, 0) && prototypesAreClean() ? JSON.stringify(definition) : writeCheckedJson(definition);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxBytes) {
    throw new CatalogInvalidError('definition', `is ${bytes} bytes of JSON, the limit is ${maxBytes}`);
  }
  return json;
}

/**
 * The checking writer: reads every value once through its descriptor and writes the text
 * itself, so it refuses with the path of the first bad value. Exported for the tests that
 * prove the fast path writes the same text and refuses the same values.
 * @internal
 */
export function writeCheckedJson(definition: unknown): string {
  return writeJson(definition, 'definition', new Set());
}

function writeJson(value: unknown, path: string, ancestors: Set<object>): string {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw new CatalogInvalidError(path, 'string has an unpaired surrogate');
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new CatalogInvalidError(path, `${value} is not representable in JSON`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new CatalogInvalidError(path, `${typeName(value)} is not a JSON value`);
  }
  if (value === null) return 'null';
  if (isProxy(value)) throw new CatalogInvalidError(path, 'is a Proxy; pass plain data');
  if (ancestors.has(value)) throw new CatalogInvalidError(path, 'is a circular reference');
  if (ancestors.size >= MAX_DEFINITION_DEPTH) throw new CatalogInvalidError('definition', `is nested deeper than ${MAX_DEFINITION_DEPTH} levels`);
  ancestors.add(value);
  let text: string;
  if (Array.isArray(value)) {
    const parts = new Array<string>(value.length);
    for (let i = 0; i < value.length; i++) {
      const slot = Object.getOwnPropertyDescriptor(value, i);
      if (slot === undefined) throw new CatalogInvalidError(`${path}[${i}]`, 'is a hole in a sparse array');
      if (!('value' in slot)) throw new CatalogInvalidError(`${path}[${i}]`, 'is a getter; pass plain data');
      parts[i] = writeJson(slot.value, `${path}[${i}]`, ancestors);
    }
    text = `[${parts.join(',')}]`;
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new CatalogInvalidError(path, `${typeName(value)} is not a plain object`);
    }
    if (Object.getOwnPropertySymbols(value).length > 0) throw new CatalogInvalidError(path, 'has symbol keys');
    const parts: string[] = [];
    for (const [key, slot] of Object.entries(Object.getOwnPropertyDescriptors(value))) {
      if (!slot.enumerable) continue;
      if (!key.isWellFormed()) throw new CatalogInvalidError(path, 'has a key with an unpaired surrogate');
      if (!('value' in slot)) throw new CatalogInvalidError(`${path}.${key}`, 'is a getter; pass plain data');
      parts.push(`${JSON.stringify(key)}:${writeJson(slot.value, `${path}.${key}`, ancestors)}`);
    }
    text = `{${parts.join(',')}}`;
  }
  ancestors.delete(value);
  return text;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') {
    const ctor = (value as { constructor?: { name?: unknown } }).constructor;
    return typeof ctor?.name === 'string' ? ctor.name : 'object';
  }
  return typeof value;
}
