import { crc32 } from 'node:zlib';

/**
 * The journal's on-disk records. One record per line:
 *
 *     <payload byte length> <crc32 of payload, hex> <payload JSON>\n
 *
 * A crash can tear only the last record; the length and checksum find where the intact
 * prefix ends, and everything after it was never acknowledged.
 */

/** [name, json, version] for a stored row; [name, null, 0] for a removed one. */
export type JournalRow = readonly [string, string | null, number];

export type JournalRecord =
  /** The whole catalog at `seq`: the base every later record applies to. */
  | { readonly t: 'snapshot'; readonly seq: number; readonly rows: ReadonlyArray<readonly [string, string, number]> }
  /** The net effect of one committed batch. */
  | { readonly t: 'batch'; readonly seq: number; readonly rows: readonly JournalRow[] }
  /** Batch `seq` was journaled but DuckDB refused it: it never happened. */
  | { readonly t: 'abort'; readonly seq: number };

export function encodeRecord(record: JournalRecord): Buffer {
  const payload = Buffer.from(JSON.stringify(record), 'utf8');
  const header = Buffer.from(`${payload.length} ${crc32(payload).toString(16)} `, 'latin1');
  return Buffer.concat([header, payload, NEWLINE]);
}

const NEWLINE = Buffer.from('\n');
const SPACE = 0x20;

/** A verified record whose JSON is parsed only when asked: a snapshot can be 30 MB. */
export interface RawRecord {
  readonly isSnapshot: boolean;
  /** Read from the record's first bytes: every record is encoded as {"t":…,"seq":…,…}. */
  readonly seq: number;
  readonly byteLength: number;
  parse(): JournalRecord;
}

const SNAPSHOT_PREFIX = Buffer.from('{"t":"snapshot"');
const SEQ_PATTERN = /^\{"t":"[a-z]+","seq":(\d+)[,}]/;

export interface DecodedJournal {
  readonly records: RawRecord[];
  /** Byte length of the intact prefix; anything after it is a torn or damaged tail. */
  readonly validBytes: number;
}

/** Verifies records until the first damaged one. */
export function decodeRecords(data: Buffer): DecodedJournal {
  const records: RawRecord[] = [];
  let offset = 0;
  while (offset < data.length) {
    // Records start with a digit; the zero-filled preallocated tail does not.
    const first = data[offset]!;
    if (first < 0x30 || first > 0x39) break;
    const lengthEnd = data.indexOf(SPACE, offset);
    const crcEnd = lengthEnd < 0 ? -1 : data.indexOf(SPACE, lengthEnd + 1);
    if (crcEnd < 0 || lengthEnd - offset > 12 || crcEnd - lengthEnd > 9) break;
    const length = Number(data.toString('latin1', offset, lengthEnd));
    const crc = Number.parseInt(data.toString('latin1', lengthEnd + 1, crcEnd), 16);
    const start = crcEnd + 1;
    const end = start + length;
    if (!Number.isSafeInteger(length) || end >= data.length || data[end] !== 0x0a) break;
    const payload = data.subarray(start, end);
    if (crc32(payload) !== crc) break;
    const seq = SEQ_PATTERN.exec(payload.toString('latin1', 0, 64));
    if (seq === null) break;
    records.push({
      isSnapshot: payload.subarray(0, SNAPSHOT_PREFIX.length).equals(SNAPSHOT_PREFIX),
      seq: Number(seq[1]),
      byteLength: end + 1 - offset,
      parse: () => JSON.parse(payload.toString('utf8')) as JournalRecord,
    });
    offset = end + 1;
  }
  return { records, validBytes: offset };
}
