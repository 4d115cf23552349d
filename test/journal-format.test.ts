import { describe, expect, it } from 'vitest';
import { decodeRecords, encodeRecord, type JournalRecord } from '../src/writer-worker/journal-format.js';

const records: JournalRecord[] = [
  { t: 'snapshot', seq: 0, rows: [['a', '1', 1]] },
  { t: 'batch', seq: 1, rows: [['b', '{"x":"ü\\n"}', 1], ['a', null, 0]] },
  { t: 'abort', seq: 1 },
];
const encoded = Buffer.concat(records.map(encodeRecord));

describe('journal records', () => {
  it('round-trip, with their sequence numbers read from the first bytes', () => {
    const decoded = decodeRecords(encoded);
    expect(decoded.validBytes).toBe(encoded.length);
    expect(decoded.records.map((r) => r.parse())).toEqual(records);
    expect(decoded.records.map((r) => [r.isSnapshot, r.seq])).toEqual([[true, 0], [false, 1], [false, 1]]);
  });

  it('stop at a torn last record (a crash mid-append)', () => {
    for (const cut of [1, 5, 20, encodeRecord(records[2]!).length - 1]) {
      const torn = encoded.subarray(0, encoded.length - cut);
      const decoded = decodeRecords(torn);
      expect(decoded.records).toHaveLength(2);
      expect(decoded.validBytes).toBe(encoded.length - encodeRecord(records[2]!).length);
    }
  });

  it('stop at the zero-filled preallocated tail', () => {
    const decoded = decodeRecords(Buffer.concat([encoded, Buffer.alloc(4096)]));
    expect(decoded.records).toHaveLength(3);
    expect(decoded.validBytes).toBe(encoded.length);
  });

  it('report a bad record followed by intact ones as damage, keeping the intact ones (a flipped bit is not a torn tail)', () => {
    const damaged = Buffer.from(encoded);
    const secondStart = encodeRecord(records[0]!).length;
    const thirdStart = secondStart + encodeRecord(records[1]!).length;
    damaged[secondStart + 30] = damaged[secondStart + 30]! ^ 0x01;
    const decoded = decodeRecords(damaged);
    expect(decoded.records.map((r) => r.parse())).toEqual([records[0], records[2]]);
    expect(decoded.validBytes).toBe(secondStart);
    expect(decoded.damage).toEqual({ from: secondStart, to: thirdStart });
  });

  it('treat a bad last record followed only by zeros as a torn tail, not damage', () => {
    const torn = Buffer.concat([encoded.subarray(0, encoded.length - 7), Buffer.alloc(4096)]);
    const decoded = decodeRecords(torn);
    expect(decoded.records).toHaveLength(2);
    expect(decoded.damage).toBeUndefined();
  });
});
