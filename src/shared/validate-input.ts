import { CatalogInvalidError } from './errors.js';

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
 * objects (Date, Map, class instances) and strings with unpaired surrogates.
 * @throws {CatalogInvalidError} field `definition` (with the path of the bad value).
 */
export function serializeDefinition(definition: unknown, maxBytes: number): string {
  checkJsonValue(definition, 'definition', new Set());
  const json = JSON.stringify(definition);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxBytes) {
    throw new CatalogInvalidError('definition', `is ${bytes} bytes of JSON, the limit is ${maxBytes}`);
  }
  return json;
}

function checkJsonValue(value: unknown, path: string, ancestors: Set<object>): void {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw new CatalogInvalidError(path, 'string has an unpaired surrogate');
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new CatalogInvalidError(path, `${value} is not representable in JSON`);
      return;
    case 'object':
      break;
    default:
      throw new CatalogInvalidError(path, `${typeName(value)} is not a JSON value`);
  }
  if (value === null) return;
  if (ancestors.has(value)) throw new CatalogInvalidError(path, 'is a circular reference');
  ancestors.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new CatalogInvalidError(`${path}[${i}]`, 'is a hole in a sparse array');
      checkJsonValue(value[i], `${path}[${i}]`, ancestors);
    }
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new CatalogInvalidError(path, `${typeName(value)} is not a plain object`);
    }
    if (Object.getOwnPropertySymbols(value).length > 0) throw new CatalogInvalidError(path, 'has symbol keys');
    for (const [key, child] of Object.entries(value)) {
      if (!key.isWellFormed()) throw new CatalogInvalidError(path, 'has a key with an unpaired surrogate');
      checkJsonValue(child, `${path}.${key}`, ancestors);
    }
  }
  ancestors.delete(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') {
    const ctor = (value as { constructor?: { name?: unknown } }).constructor;
    return typeof ctor?.name === 'string' ? ctor.name : 'object';
  }
  return typeof value;
}
