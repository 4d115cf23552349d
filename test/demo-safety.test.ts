import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/temp-catalog.js';

// Issue 11: `npm run demo` given data/catalog.duckdb ran rmSync(dirname(path)) and deleted
// data/important.txt. The demo now never deletes what it did not create.

const DEMO = fileURLToPath(new URL('../build/examples/demo.js', import.meta.url));

describe('the demo and the user\'s files', () => {
  it('refuses a catalog path in a directory that holds anything else, and leaves it untouched', () => {
    const dir = join(tempDir(), 'data');
    mkdirSync(dir);
    writeFileSync(join(dir, 'important.txt'), 'keep me');
    const result = spawnSync(process.execPath, [DEMO, join(dir, 'catalog.duckdb')], { encoding: 'utf8', timeout: 60_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('is not empty');
    expect(readdirSync(dir)).toEqual(['important.txt']);
    expect(readFileSync(join(dir, 'important.txt'), 'utf8')).toBe('keep me');
  });

  it('writes into a new directory it is given, and leaves the catalog there', () => {
    const dir = join(tempDir(), 'fresh');
    const result = spawnSync(process.execPath, [DEMO, join(dir, 'catalog.duckdb')], { encoding: 'utf8', timeout: 240_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(readdirSync(dir)).toContain('catalog.duckdb');
  }, 300_000);
});
