// The examples in README.md and docs/api.md run as written and print what the docs say
// (conventions in test/helpers/doc-examples.ts and README "Development"). Each runs in a
// fresh process in a fresh directory that resolves `duckcat` to the built dist/.
import { describe, expect, it } from 'vitest';
import { docExamples, jsFences, normalize, runDocExample } from './helpers/doc-examples.js';

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
    it(`runs the example "${example.name}" (${example.where}) and prints what it shows`, async () => {
      const result = await runDocExample(example);
      expect(result.code, result.stderr).toBe(0);
      expect(normalize(result.stdout)).toBe(normalize(example.expected.join('\n')));
    });
  }
});
