import { readFileSync } from 'node:fs';
import type { JsonValue } from '../main/frozen-json.js';
import { CatalogInvalidError } from '../shared/errors.js';

/** The text of FILE, or all of stdin for `-`. */
export function readInputText(file: string): string {
  return readFileSync(file === '-' ? 0 : file, 'utf8');
}

/**
 * Parses JSON text given on the command line or in a file.
 * @throws {CatalogInvalidError} ERR_CATALOG_INVALID (field `what`) when it is not JSON.
 */
export function parseJsonInput(text: string, what: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    throw new CatalogInvalidError(what, `not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}
