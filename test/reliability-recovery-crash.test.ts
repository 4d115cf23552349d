import { describe, expect, it } from 'vitest';
import { recoveryCrash } from './fuzz/reliability.mjs';
import { tempDir } from './helpers/temp-catalog.js';

// Issue 15, "Extend the evidence": SIGKILL at random points of open paths — roll-forward
// (DuckDB held a minute behind, then the writer killed), the rebuild of a deleted DuckDB
// file, the rebuild of a damaged journal, compaction while writing after open — then a
// second kill of a plain open, then reopen twice and compare with the model: no
// acknowledged write lost or rolled back. A handful here;
// `node test/soak/soak.mjs --recovery-trials 200` runs the long phase.

const seed = process.env.DUCKCAT_FUZZ_SEED === undefined ? 1 + Math.floor(Math.random() * 10_000) : Number(process.env.DUCKCAT_FUZZ_SEED);

describe('kills during recovery', () => {
  it('a SIGKILL anywhere in an open path loses and rolls back nothing acknowledged', { timeout: 60_000 }, async () => {
    const summary = await recoveryCrash({ trials: 4, dir: tempDir(), seed, setupOps: 400, openerOps: 100 });
    console.log(`recovery crash (seed ${seed}): ${JSON.stringify(summary)}`);
    expect(summary.failures).toEqual([]);
    expect(summary.lost).toBe(0);
    expect(summary.rolledBack).toBe(0);
    expect(summary.trials).toBe(4);
  });
});
