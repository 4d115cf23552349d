/** A JSON value as duckcat stores it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * What a write accepts, checked at compile time: `T` itself where every part of it is JSON
 * (plain objects and interfaces, arrays, strings, numbers, booleans, null), `never` at each
 * part that is not — a bigint, a function, a symbol, `undefined`, a `Date` or a `Map` — so
 * `defineSync('x', { n: 1n })` does not compile. (Interfaces work, unlike with
 * {@link JsonValue}, which needs an index signature.) Values JSON cannot hold exactly (NaN,
 * -0, a cycle) are still refused at run time with ERR_CATALOG_INVALID.
 */
export type JsonCompatible<T> = T extends string | number | boolean | null
  ? T
  : T extends bigint | symbol | undefined | ((...args: never[]) => unknown)
    ? never
    : T extends readonly (infer Item)[]
      ? readonly JsonCompatible<Item>[]
      : T extends object
        ? { readonly [K in keyof T]: K extends string ? JsonCompatible<T[K]> : never }
        : never;

/** What `get` returns: a deeply frozen JSON value, safe to share because nobody can change it. */
export type ReadonlyJson =
  | null
  | boolean
  | number
  | string
  | readonly ReadonlyJson[]
  | { readonly [key: string]: ReadonlyJson };

/** Parses stored JSON text into a deeply frozen value. */
export function parseFrozen(json: string): ReadonlyJson {
  return deepFreeze(JSON.parse(json) as JsonValue);
}

function deepFreeze(value: JsonValue): ReadonlyJson {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
