/** A JSON value as duckcat stores it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

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
