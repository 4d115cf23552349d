import type { JS } from '@duckdb/node-api';
import { CatalogInvalidError } from '../../shared/errors.js';

export type BigintMode = 'number' | 'string' | 'bigint';

/**
 * Gives the 64/128-bit integers of a result row the form the caller asked for, inside
 * lists and structs too. `'number'` refuses a value a JavaScript number cannot hold
 * exactly instead of rounding it.
 * @throws {CatalogInvalidError} field `bigint`, naming the column and the value.
 */
export function convertBigints(value: JS, mode: BigintMode, column: string): JS {
  if (mode === 'bigint') return value;
  if (typeof value === 'bigint') {
    if (mode === 'string') return value.toString();
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new CatalogInvalidError('bigint', `column "${column}" holds ${value}, beyond what a JavaScript number holds exactly (±2^53 − 1): ask for { bigint: 'string' } or { bigint: 'bigint' }`);
    }
    return Number(value);
  }
  if (Array.isArray(value)) return value.map((item) => convertBigints(item, mode, column));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const converted: Record<string, JS> = {};
    for (const [key, item] of Object.entries(value)) converted[key] = convertBigints(item as JS, mode, column);
    return converted;
  }
  return value;
}
