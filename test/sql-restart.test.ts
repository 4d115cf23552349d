import { describe, expect, it } from 'vitest';
import { runFixture } from './helpers/child.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

interface StepOutput {
  readonly step: string;
  readonly pid: number;
  readonly status?: string;
  readonly listed: ReadonlyArray<Record<string, unknown>>;
  readonly described?: ReadonlyArray<Record<string, unknown>>;
}

async function step(catalogPath: string, hostPath: string, name: 'define' | 'list' | 'drop'): Promise<StepOutput> {
  const result = await runFixture('sql-restart.mjs', [catalogPath, hostPath, name], 30_000);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout.trim()) as StepOutput;
}

const listedView = { name: 'restart_sv', base_table: 'orders', dimension_count: 1, metric_count: 1 };

describe('semantic views survive restarts through SQL alone', () => {
  // Mirrors the seed's restart test: define in SQL, restart, list in SQL; drop, restart,
  // gone. Every step is a new process, and the whole sequence runs twice on the same
  // files to show it leaves nothing behind that changes the next run.
  it('define, restart, list shows it; drop, restart, list is empty (twice)', async () => {
    const catalogPath = tempCatalogPath();
    const hostPath = tempCatalogPath('host.duckdb');
    const pids = new Set<number>();
    for (let run = 0; run < 2; run++) {
      const defined = await step(catalogPath, hostPath, 'define');
      expect(defined.status).toBe("Semantic view 'restart_sv' registered successfully");
      expect(defined.listed).toEqual([listedView]);

      const afterRestart = await step(catalogPath, hostPath, 'list');
      expect(afterRestart.listed).toEqual([listedView]);
      expect(afterRestart.described).toEqual([
        { kind: 'dimension', name: 'region' },
        { kind: 'metric', name: 'revenue' },
      ]);

      const dropped = await step(catalogPath, hostPath, 'drop');
      expect(dropped.status).toBe("Semantic view 'restart_sv' dropped successfully");
      expect(dropped.listed).toEqual([]);

      const afterDrop = await step(catalogPath, hostPath, 'list');
      expect(afterDrop.listed).toEqual([]);
      for (const output of [defined, afterRestart, dropped, afterDrop]) pids.add(output.pid);
    }
    expect(pids.size).toBe(8);
  });
});
