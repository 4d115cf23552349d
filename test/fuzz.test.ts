import { Catalog, CatalogError } from 'duckcat';
import { describe, expect, it } from 'vitest';
import { fuzzDefinitions, fuzzNames, fuzzSequences, type FuzzStats } from './fuzz/properties.mjs';
import { tempCatalogPath, tempDir } from './helpers/temp-catalog.js';

// Cases per property in CI; the soak runner (test/soak/soak.mjs --fuzz N) runs thousands.
// Sequences reopen their catalog twice per case (~0.5 s), so they get an eighth of the runs.
const RUNS = Number(process.env.DUCKCAT_FUZZ_RUNS ?? 200);
const SEQUENCE_RUNS = Math.max(5, Math.ceil(RUNS / 8));
const SEED = process.env.DUCKCAT_FUZZ_SEED === undefined ? undefined : Number(process.env.DUCKCAT_FUZZ_SEED);

function report(stats: FuzzStats): void {
  console.log(`fuzz ${stats.property}: ${stats.cases} cases, ${stats.accepted} accepted, refused ${JSON.stringify(stats.refused)}`);
}

function refusal(run: () => unknown): CatalogError {
  try {
    run();
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(CatalogError);
    return error as CatalogError;
  }
  throw new Error('the call was accepted');
}

describe('bad input (property-based, against a model Map)', () => {
  it('refuses every bad name with ERR_CATALOG_INVALID and keeps the catalog equal to the model after reopen', { timeout: 120_000 }, async () => {
    const stats = await fuzzNames({ runs: RUNS, dir: tempDir(), ...(SEED === undefined ? {} : { seed: SEED }) });
    report(stats);
    expect(stats.cases).toBeGreaterThanOrEqual(RUNS);
    expect(stats.refused.ERR_CATALOG_INVALID).toBeGreaterThan(0);
    expect(stats.accepted).toBeGreaterThan(0);
  });

  it('refuses every definition JSON cannot carry with ERR_CATALOG_INVALID and stores the others unchanged', { timeout: 120_000 }, async () => {
    const stats = await fuzzDefinitions({ runs: RUNS, dir: tempDir(), ...(SEED === undefined ? {} : { seed: SEED }) });
    report(stats);
    expect(stats.cases).toBeGreaterThanOrEqual(RUNS);
    expect(stats.refused.ERR_CATALOG_INVALID).toBeGreaterThan(0);
    expect(stats.accepted).toBeGreaterThan(0);
  });

  it('answers random sequences of sync and concurrent async calls exactly as the model predicts, before and after reopen', { timeout: 180_000 }, async () => {
    const stats = await fuzzSequences({ runs: SEQUENCE_RUNS, dir: tempDir(), ...(SEED === undefined ? {} : { seed: SEED }) });
    report(stats);
    expect(stats.cases).toBeGreaterThanOrEqual(SEQUENCE_RUNS);
    expect(stats.accepted).toBeGreaterThan(0);
  });
});

describe('bad input at the default limits', () => {
  it('refuses a 10 MB definition and a name one byte over 1024 bytes, and accepts both limits exactly', async () => {
    const cat = await Catalog.open(tempCatalogPath());
    try {
      expect(refusal(() => cat.defineSync('big', 'x'.repeat(10 * 1024 * 1024))).code).toBe('ERR_CATALOG_INVALID');
      // JSON text of a string is its characters plus two quotes.
      cat.defineSync('limit', 'x'.repeat(1_048_576 - 2));
      expect(refusal(() => cat.replaceSync('limit', 'x'.repeat(1_048_576 - 1))).code).toBe('ERR_CATALOG_INVALID');
      cat.defineSync('é'.repeat(512), 1);
      expect(refusal(() => cat.defineSync(`${'é'.repeat(512)}x`, 1)).code).toBe('ERR_CATALOG_INVALID');
      await expect(cat.define('big', 'x'.repeat(10 * 1024 * 1024))).rejects.toMatchObject({ code: 'ERR_CATALOG_INVALID' });
      expect(cat.list()).toEqual(['limit', 'é'.repeat(512)]);
      expect((cat.get('limit') as string).length).toBe(1_048_576 - 2);
    } finally {
      await cat.close();
    }
  });
});

describe('definitions that change while they are read', () => {
  it('refuses getters and proxies with ERR_CATALOG_INVALID instead of storing what a second read returns', async () => {
    const cat = await Catalog.open();
    try {
      let reads = 0;
      const flipFlop = {
        get x(): unknown {
          return reads++ === 0 ? 1 : 10n;
        },
      };
      let seen = 0;
      const vanishing = {
        get x(): unknown {
          return seen++ === 0 ? 1 : undefined;
        },
      };
      const liar = new Proxy({ a: 1 } as Record<string, unknown>, {
        get: (target, key) => (key === 'toJSON' ? () => 'not what was validated' : target[key as string]),
      });
      for (const definition of [flipFlop, vanishing, liar]) {
        expect(refusal(() => cat.replaceSync('k', definition as never)).code).toBe('ERR_CATALOG_INVALID');
      }
      expect(cat.list()).toEqual([]);
    } finally {
      await cat.close();
    }
  });
});
