import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runSqlLogic } from './sqllogic/runner.js';

// The seeds' own acceptance test, read where it lives: shared/ sits beside the repository
// root (see ../shared/seed-tests/README.md). Never copied into the project.
const SEED_TEST = new URL('../../shared/seed-tests/phase2_ddl.test', import.meta.url);

describe("the seeds' phase2_ddl.test", () => {
  it('passes every record, verbatim, through our SQLLogicTest runner', async () => {
    const text = readFileSync(SEED_TEST, 'utf8');
    // Counted independently of the runner's parser: every statement and query record.
    const checks = text.split('\n').filter((line) => /^(statement|query) /.test(line)).length;
    const result = await runSqlLogic(text, fileURLToPath(SEED_TEST));
    expect(result.failures).toEqual([]);
    expect(result.records).toBe(checks);
    expect(result.passed).toBe(checks);
    expect(checks).toBe(21);
  });
});
