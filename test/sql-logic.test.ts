import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runSqlLogic } from './sqllogic/runner.js';

// duckcat's own SQL contract, one SQLLogicTest file per surface, in test/sql/.
const DIR = new URL('./sql/', import.meta.url);
const files = readdirSync(DIR).filter((name) => name.endsWith('.test')).sort();

describe('test/sql/*.test through the SQLLogicTest runner', () => {
  it('finds the files', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s passes every record', async (name) => {
    const url = new URL(name, DIR);
    const text = readFileSync(url, 'utf8');
    const checks = text.split('\n').filter((line) => /^(statement|query) /.test(line)).length;
    const result = await runSqlLogic(text, fileURLToPath(url));
    expect(result.failures).toEqual([]);
    expect(result.passed).toBe(checks);
  });
});
