import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One throwaway PostgreSQL cluster for the run (the pg-*.test.ts files), or the reason
    // they skip; stopped and removed afterwards.
    globalSetup: ['test/helpers/pg-global-setup.ts'],
    // Child processes, worker threads and fsyncs: generous, but every wait in duckcat
    // itself has its own deadline, so a hang still fails fast.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two test files at a time: most of the suite waits on child processes, fsyncs and
    // pauses rather than on this process's CPU, and every timing claim is relative to the
    // catalog's own deadlines, so the suite holds under contention (it was developed at a
    // load average near 20 on two cores).
    maxWorkers: 2,
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: process.env.CI ? { json: '.tmp/vitest-results.json' } : {},
  },
});
