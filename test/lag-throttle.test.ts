import { Catalog, type CatalogOptions } from 'duckcat';
import { describe, expect, it } from 'vitest';
import { Lag, MAX_LAG_BYTES, MAX_THROTTLE_MS } from '../src/writer-worker/lag.js';
import { readDuckdbFile } from './helpers/duckdb-file.js';
import { APPLY_DELAY, COMPACT_AFTER, reopenTwice } from './helpers/reopen.js';
import { sorted } from './helpers/ack-writer.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';
import type { JsonValue } from 'duckcat';

const MAX_ROWS = 10_000;

/** A Lag with `rows` rows of `bytesEach` journaled and none applied, DuckDB measured at `msPerRow`. */
function lagWith(rows: number, bytesEach: number, msPerRow?: number): Lag {
  const lag = new Lag(0, 0);
  for (let seq = 1; seq <= rows; seq++) lag.journaled(seq, 1, bytesEach);
  if (msPerRow !== undefined) lag.observeApply(1_000, 1_000 * msPerRow);
  return lag;
}

describe('the lag throttle (writer-worker/lag.ts)', () => {
  it('does not slow anything before DuckDB was measured or while the lag is under three quarters of every bound', () => {
    expect(lagWith(9_000, 100).throttleMs(1, MAX_ROWS)).toBe(0);
    // 7,000 rows (0.7 of maxLagRows), 0.7 MB: no pressure.
    expect(lagWith(7_000, 100, 0.01).throttleMs(1, MAX_ROWS)).toBe(0);
    expect(lagWith(0, 100, 5).throttleMs(1, MAX_ROWS)).toBe(0);
  });

  it('slows each batch in proportion to DuckDB\'s pace and to how far the lag is past the soft point, never more than the cap', () => {
    const at = (rows: number) => lagWith(rows, 100, 0.01).throttleMs(10, MAX_ROWS);
    // Midway between the soft point (7,500 rows) and the bound: one batch's DuckDB time.
    expect(at(8_750)).toBeCloseTo(10 * 0.01, 5);
    expect(at(8_000)).toBeGreaterThan(0);
    expect(at(8_000)).toBeLessThan(at(8_750));
    // At the bound: twice DuckDB's time, so the lag drains.
    expect(at(9_999)).toBeCloseTo(2 * 10 * 0.01, 2);
    // A huge batch is slowed at most MAX_THROTTLE_MS: the hard bounds still stop writes beyond.
    expect(lagWith(9_999, 100, 1).throttleMs(1_000, MAX_ROWS)).toBe(MAX_THROTTLE_MS);
  });

  it('counts bytes, not only rows', () => {
    // 100 rows of 8 KB, however slow DuckDB is: no pressure (the age bound, not the throttle, covers time).
    expect(lagWith(100, 8_192, 5).throttleMs(1, MAX_ROWS)).toBe(0);
    // Bytes past three quarters of MAX_LAG_BYTES, each row cheap for DuckDB.
    expect(lagWith(100, Math.ceil((0.9 * MAX_LAG_BYTES) / 100), 0.0001).throttleMs(1, MAX_ROWS)).toBeGreaterThan(0);
    // The hard bound by bytes.
    expect(lagWith(3, Math.ceil(MAX_LAG_BYTES / 3), 0.01).full(MAX_ROWS, 60_000)).toBe(true);
    expect(lagWith(3, Math.ceil(MAX_LAG_BYTES / 4), 0.01).full(MAX_ROWS, 60_000)).toBe(false);
  });

  it('measures DuckDB\'s pace over recent applies, so one slow apply (a checkpoint) is spread over its neighbours', () => {
    const lag = new Lag(0, 0);
    for (let i = 0; i < 31; i++) lag.observeApply(500, 50);
    lag.observeApply(500, 2_500);
    // 31 applies at 0.1 ms a row and one at 5 ms a row: (31 x 50 + 2,500) / 16,000 rows.
    expect(lag.msPerRow).toBeCloseTo((31 * 50 + 2_500) / (32 * 500), 6);
    // Older applies leave the window.
    for (let i = 0; i < 32; i++) lag.observeApply(500, 50);
    expect(lag.msPerRow).toBeCloseTo(0.1, 6);
  });

  it('applied batches leave the lag, rows and bytes', () => {
    const lag = lagWith(4, 1_000, 0.01);
    lag.applied(3);
    expect(lag.rows).toBe(1);
    expect(lag.bytes).toBe(1_000);
    expect(lag.stats()).toMatchObject({ rows: 1, bytes: 1_000, appliedSeq: 3, journaledSeq: 4 });
  });
});

describe('the lag is bounded by bytes (issue 12 item 1)', () => {
  it('big definitions held behind DuckDB make writes wait long before maxLagRows; every write is kept', async () => {
    const path = tempCatalogPath();
    // DuckDB applies every 4 s at most (and no compaction makes it apply sooner); rows and age
    // bounds far away: only bytes can stop the writes.
    const cat = await Catalog.open(path, { maxLagMs: 60_000, [APPLY_DELAY]: 4_000, [COMPACT_AFTER]: 1024 ** 3 } as CatalogOptions);
    const model = new Map<string, JsonValue>();
    const body = 'x'.repeat(900 * 1024);
    let maxBytes = 0;
    for (let i = 0; i < 100; i++) {
      const value = { i, body };
      cat.defineSync(`big${i}`, value);
      model.set(`big${i}`, value);
      if (i % 5 === 4) maxBytes = Math.max(maxBytes, (await cat.stats()).lag.bytes);
    }
    const stats = await cat.stats();
    // 100 rows of 900 KB (90 MB) would all have queued: rows (100) and age stay far below their bounds.
    expect(stats.lag.backpressureWaits).toBeGreaterThan(0);
    expect(maxBytes).toBeLessThanOrEqual(MAX_LAG_BYTES + 1024 * 1024);
    await cat.close();
    const file = await readDuckdbFile(path);
    expect(sorted(file.rows)).toEqual(sorted(model));
    expect(await reopenTwice(path, model)).toBeUndefined();
  });
});
