import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh directory per call, so every test owns its catalog file and no test can see
 * another's rows or locks. Removed after the file's tests.
 */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'duckcat-test-'));
  dirs.push(dir);
  return dir;
}

/** Path of a catalog file that does not exist yet, in its own directory. */
export function tempCatalogPath(name = 'catalog.duckdb'): string {
  return join(tempDir(), name);
}
