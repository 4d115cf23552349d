import { types } from 'node:util';

const { isProxy } = types;
const { getOwnPropertyDescriptor, getOwnPropertySymbols, getPrototypeOf, hasOwn, keys } = Object;
// Node 21+: JSON.stringify writes a JSON.rawJSON object (null prototype) as its raw text.
const isRawJson = (JSON as { isRawJSON?: (value: unknown) => boolean }).isRawJSON;

/** Deepest nesting of arrays and objects a definition may have (deeper ones overflow the stack somewhere). */
export const MAX_DEFINITION_DEPTH = 256;

/**
 * The fast path of {@link serializeDefinition}: true when `value` is plain JSON data that
 * `JSON.stringify` turns into exactly the text the checking writer would write, with no
 * user code running on the way (no proxy, getter, setter or `toJSON` anywhere it could be
 * reached). False means "not sure", never "refused": the caller then takes the checking
 * writer, which decides, names the bad value's path, or writes the unusual-but-valid value
 * (an array subclass, a key named `toJSON`) itself. So every refusal and its message come
 * from one place, and this walk allocates nothing but the key lists and descriptors: it is
 * ~5x cheaper per definition than building the text and the paths in JavaScript.
 *
 * Why JSON.stringify may then write the text: it reads only own enumerable data properties
 * (checked here, all of them, once), array elements 0..length-1 (checked: no holes, so the
 * prototype is never consulted) and `toJSON` through the prototype chain (checked: not an
 * own key of any object here, nor of Object.prototype or Array.prototype, see
 * {@link prototypesAreClean}). Between this walk and JSON.stringify no user code runs, so
 * the data cannot change in between.
 */
export function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
      return value.isWellFormed();
    case 'number':
      return Number.isFinite(value);
    case 'boolean':
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  // A Proxy first: Array.isArray and getPrototypeOf would run its traps.
  if (depth >= MAX_DEFINITION_DEPTH || isProxy(value) || hasOwn(value, 'toJSON')) return false;
  if (Array.isArray(value)) {
    if (getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) {
      const slot = getOwnPropertyDescriptor(value, i);
      if (slot === undefined || !('value' in slot) || !isPlainJson(slot.value, depth + 1)) return false;
    }
    return true;
  }
  const proto: unknown = getPrototypeOf(value);
  if (proto !== Object.prototype && (proto !== null || isRawJson?.(value) === true)) return false;
  if (getOwnPropertySymbols(value).length > 0) return false;
  // Object.keys: own enumerable string keys, in the order JSON.stringify writes them.
  const names = keys(value);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (!name.isWellFormed()) return false;
    const slot = getOwnPropertyDescriptor(value, name);
    if (slot === undefined || !('value' in slot) || !isPlainJson(slot.value, depth + 1)) return false;
  }
  return true;
}

/**
 * Whether JSON.stringify would find no `toJSON` on the shared prototypes (someone may have
 * added one: then every definition takes the checking writer, which ignores it as before).
 */
export function prototypesAreClean(): boolean {
  return !hasOwn(Object.prototype, 'toJSON') && !hasOwn(Array.prototype, 'toJSON') && getPrototypeOf(Array.prototype) === Object.prototype;
}
