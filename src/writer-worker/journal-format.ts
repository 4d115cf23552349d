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

export interface DecodedJournal {
  readonly records: JournalRecord[];
  /** Byte length of the intact prefix; anything after it is a torn or damaged tail. */
  readonly validBytes: number;
}

/** Decodes records until the first damaged one. */
export function decodeRecords(data: Buffer): DecodedJournal {
  const records: JournalRecord[] = [];
  let offset = 0;
  while (offset < data.length) {
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
    try {
      records.push(JSON.parse(payload.toString('utf8')) as JournalRecord);
    } catch {
      break;
    }
    offset = end + 1;
  }
  return { records, validBytes: offset };
}
