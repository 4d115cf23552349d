import { describe, expect, it } from 'vitest';
import { socketFuzz } from './fuzz/reliability.mjs';
import { tempDir } from './helpers/temp-catalog.js';

// Issue 15, "Extend the evidence": a socket fuzz. A child process throws random bytes,
// random JSON, random request-shaped objects, 40 MiB lines, a client that never reads and
// a slow reader at `<file>.sock` while the owner writes as fast as it can. The writer stays
// alive, every owner write succeeds, the owner's map equals the file after reopen. Owner
// write latency (p50/p99/max, against a quiet baseline) and RSS are printed, not asserted.
// `node test/soak/soak.mjs --socket-seconds 60` runs longer.

const seed = process.env.DUCKCAT_FUZZ_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.DUCKCAT_FUZZ_SEED);

describe('socket fuzz', () => {
  it('hostile clients of the socket cost the owner no write and no data', { timeout: 60_000 }, async () => {
    const summary = await socketFuzz({ dir: tempDir(), seed, durationMs: 4_000, baselineMs: 800 });
    console.log(`socket fuzz (seed ${seed}): ${JSON.stringify(summary)}`);
    expect(summary.failures).toEqual([]);
    expect(summary.ownerFailures).toBe(0);
    expect(summary.writerAlive).toBe(true);
    expect(summary.mapEqualsFile).toBe(true);
    expect(summary.ownerNamesIntact).toBe(true);
  });
});
