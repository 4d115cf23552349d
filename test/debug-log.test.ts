import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { tempCatalogPath } from './helpers/temp-catalog.js';

// Issue 11: a debug log users can turn on with NODE_DEBUG=duckcat (util.debuglog).

const SCRIPT = `
import { Catalog } from 'duckcat';
const cat = await Catalog.open(process.argv[1]);
cat.defineSync('a', 1);
await cat.define('b', 2);
await cat.close();
`;

function run(env: NodeJS.ProcessEnv): string {
  const path = tempCatalogPath();
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT, path], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  expect(result.status, result.stderr).toBe(0);
  return result.stderr;
}

describe('NODE_DEBUG=duckcat', () => {
  it('logs the open decision, each batch and DuckDB applies, from the writer threads', () => {
    const log = run({ NODE_DEBUG: 'duckcat' });
    expect(log).toMatch(/DUCKCAT \d+: open .*journal absent.*DuckDB at 0 \(file created\) → from the (journal|store)/);
    expect(log).toMatch(/DUCKCAT \d+: batch 1: 1 ops/);
    expect(log).toMatch(/DUCKCAT \d+: batch 2: 1 ops/);
    expect(log).toMatch(/DUCKCAT \d+: DuckDB applied up to batch 2/);
  });

  it('is silent without it', () => {
    expect(run({ NODE_DEBUG: '' })).not.toContain('DUCKCAT');
  });
});
