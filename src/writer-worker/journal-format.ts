import { crc32 } from 'node:zlib';

/**
 * The journal log's on-disk records (`<file>.journal` and its sealed segments). One record
 * per line:
 *
 *     <payload byte length> <crc32 of payload, hex> <payload JSON>\n
 *
 * A crash can tear only the last record; the length and checksum find where the intact
 * prefix ends. Intact records *after* a bad one are damage, not a torn tail.
 */

/** [name, json, version] for a stored row; [name, null, 0] for a removed one. */
export type JournalRow = readonly [string, string | null, number];

/** [name, json, version] */
export type StoredRow = readonly [string, string, number];

export type JournalRecord =
  /** The whole catalog at `seq` in one record (the format before snapshot files; still read). */
  | { readonly t: 'snapshot'; readonly seq: number; readonly rows: readonly StoredRow[] }
  /** The net effect of one acknowledged batch. */
  | { readonly t: 'batch'; readonly seq: number; readonly rows: readonly JournalRow[] }
  /** Batch `seq` was journaled but DuckDB refused it (`commit: 'duckdb'`): it never happened. */
  | { readonly t: 'abort'; readonly seq: number };

export function encodeRecord(record: JournalRecord): Buffer {
  const payload = Buffer.from(JSON.stringify(record), 'utf8');
  const header = Buffer.from(`${payload.length} ${crc32(payload).toString(16)} `, 'latin1');
  return Buffer.concat([header, payload, NEWLINE]);
}

const NEWLINE = Buffer.from('\n');
const SPACE = 0x20;

/** A verified record whose JSON is parsed only when asked: a snapshot chunk can be large. */
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
  /** Byte length of the intact prefix: where the next record goes. */
  readonly validBytes: number;
  /**
   * Set when a bad stretch is followed by intact records: those records are kept in
   * `records`, and this says where the unreadable bytes are.
   */
  readonly damage?: { readonly from: number; readonly to: number };
}

/** Verifies every record; past a bad one, looks for intact records further on. */
export function decodeRecords(data: Buffer): DecodedJournal {
  const records: RawRecord[] = [];
  let offset = readRun(data, 0, records);
  const validBytes = offset;
  let damage: { from: number; to: number } | undefined;
  while (offset < data.length) {
    const resumed = nextRecordStart(data, offset);
    if (resumed < 0) break;
    damage ??= { from: validBytes, to: resumed };
    damage.to = resumed;
    offset = readRun(data, resumed, records);
  }
  return damage === undefined ? { records, validBytes } : { records, validBytes, damage };
}

/** Reads intact records from `offset` on; returns where the run ended. */
function readRun(data: Buffer, offset: number, into: RawRecord[]): number {
  for (;;) {
    const record = recordAt(data, offset);
    if (record === undefined) return offset;
    into.push(record);
    offset += record.byteLength;
  }
}

function recordAt(data: Buffer, offset: number): RawRecord | undefined {
  if (offset >= data.length) return undefined;
  // Records start with a digit; the zero-filled preallocated tail does not.
  const first = data[offset]!;
  if (first < 0x30 || first > 0x39) return undefined;
  const lengthEnd = data.indexOf(SPACE, offset);
  const crcEnd = lengthEnd < 0 ? -1 : data.indexOf(SPACE, lengthEnd + 1);
  if (crcEnd < 0 || lengthEnd - offset > 12 || crcEnd - lengthEnd > 9) return undefined;
  const length = Number(data.toString('latin1', offset, lengthEnd));
  const crc = Number.parseInt(data.toString('latin1', lengthEnd + 1, crcEnd), 16);
  const start = crcEnd + 1;
  const end = start + length;
  if (!Number.isSafeInteger(length) || end >= data.length || data[end] !== 0x0a) return undefined;
  const payload = data.subarray(start, end);
  if (crc32(payload) !== crc) return undefined;
  const seq = SEQ_PATTERN.exec(payload.toString('latin1', 0, 64));
  if (seq === null) return undefined;
  return {
    isSnapshot: payload.subarray(0, SNAPSHOT_PREFIX.length).equals(SNAPSHOT_PREFIX),
    seq: Number(seq[1]),
    byteLength: end + 1 - offset,
    parse: () => JSON.parse(payload.toString('utf8')) as JournalRecord,
  };
}

/**
 * The start of the next intact record after `offset`, or -1. Records follow a newline, so
 * only positions after one are tried; a zero-filled tail is skipped at once.
 */
function nextRecordStart(data: Buffer, offset: number): number {
  for (let newline = data.indexOf(0x0a, offset); newline >= 0 && newline + 1 < data.length; newline = data.indexOf(0x0a, newline + 1)) {
    if (recordAt(data, newline + 1) !== undefined) return newline + 1;
  }
  return -1;
}
