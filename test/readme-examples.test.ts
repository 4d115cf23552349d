// The examples in README.md and docs/api.md run as written and print what the docs say
// (conventions in test/helpers/doc-examples.ts and README "Development"). Each runs in a
// fresh process in a fresh directory that resolves `duckcat` to the built dist/.
import { describe, expect, it } from 'vitest';
import { docExamples, jsFences, normalize, runDocExample } from './helpers/doc-examples.js';
import { pgDatabase, pgSkipReason } from './helpers/pg-test.js';

const DOCS = ['README.md', 'docs/api.md'] as const;

describe.each(DOCS)('%s', (file) => {
  const examples = docExamples(file);

  it('marks every js block as an example or as not run', () => {
    const unmarked = jsFences(file).filter((fence) => !/^js\s+(example=[\w-]+|no-run)\s*$/.test(fence.info));
    expect(unmarked).toEqual([]);
  });

  it('names each example once', () => {
    const names = examples.map((example) => example.name);
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
  });

  for (const example of examples) {
    // An example of a PostgreSQL-backed catalog reads its URL from CATALOG_URL: a fresh
    // database on the run's throwaway cluster (skipped, saying why, without the binaries).
    const needsPg = [...example.files.values()].some((source) => source.includes('process.env.CATALOG_URL'));
    const test = needsPg && pgSkipReason !== undefined ? it.skip : it;
    const skipped = needsPg && pgSkipReason !== undefined ? ` [SKIPPED: PostgreSQL missing: ${pgSkipReason}]` : '';
    test(`runs the example "${example.name}" (${example.where}) and prints what it shows${skipped}`, async () => {
      const env: Record<string, string> = needsPg ? { CATALOG_URL: await pgDatabase(`doc_${example.name}`) } : {};
      const result = await runDocExample(example, 60_000, env);
      expect(result.code, result.stderr).toBe(0);
      expect(normalize(result.stdout)).toBe(normalize(example.expected.join('\n')));
    });
  }
});
