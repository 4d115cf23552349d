import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { deserialize } from 'node:v8';
import { crc32 } from 'node:zlib';

/**
 * Byte-level access to duckcat's journal files for the tests that damage them, written
 * from the documented framing (`<len> <crc32 hex> <json>\n`), not from src: a test that
 * reused the decoder under test could not catch its mistakes.
 */

export interface Frame {
  /** Offset of the frame's first byte (the first length digit). */
  readonly offset: number;
  /** Offset just past its newline. */
  readonly end: number;
  /** Offset of the payload's first byte. */
  readonly payloadStart: number;
  readonly payload: Buffer;
}

export interface FramedRecord extends Frame {
  /** The payload, parsed. */
  readonly json: { readonly t: string; readonly seq: number; readonly rows?: unknown[] };
}

/**
 * The intact frames (`<len> <crc32 hex> <payload>\n`) of a journal file from `start`,
 * and where they stop: the first byte that does not begin an intact frame (the
 * zero-filled room of a preallocated log, a torn record, or damage).
 */
export function readFrames(file: string, start = 0): { frames: Frame[]; validEnd: number; size: number } {
  const data = readFileSync(file);
  const frames: Frame[] = [];
  let offset = start;
  for (;;) {
    const frame = frameAt(data, offset);
    if (frame === undefined) return { frames, validEnd: offset, size: data.length };
    frames.push(frame);
    offset = frame.end;
  }
}

/** The intact records of a journal log (JSON payloads) and where they stop. */
export function readRecords(file: string): { records: FramedRecord[]; validEnd: number; size: number } {
  const { frames, validEnd, size } = readFrames(file);
  const records = frames.map((frame) => ({ ...frame, json: JSON.parse(frame.payload.toString('utf8')) as FramedRecord['json'] }));
  return { records, validEnd, size };
}

function frameAt(data: Buffer, offset: number): Frame | undefined {
  const first = data[offset];
  if (first === undefined || first < 0x30 || first > 0x39) return undefined;
  const lengthEnd = data.indexOf(0x20, offset);
  if (lengthEnd < 0) return undefined;
  const crcEnd = data.indexOf(0x20, lengthEnd + 1);
  if (crcEnd < 0) return undefined;
  const length = Number(data.toString('latin1', offset, lengthEnd));
  const crc = Number.parseInt(data.toString('latin1', lengthEnd + 1, crcEnd), 16);
  const payloadStart = crcEnd + 1;
  const newline = payloadStart + length;
  if (!Number.isSafeInteger(length) || data[newline] !== 0x0a) return undefined;
  const payload = data.subarray(payloadStart, newline);
  if (crc32(payload) !== crc) return undefined;
  return { offset, end: newline + 1, payloadStart, payload };
}

/** Writes `bytes` at `position` of `file`, in place (no truncation, no append). */
export function writeAt(file: string, position: number, bytes: Buffer): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, position);
  } finally {
    closeSync(fd);
  }
}

/** Flips bit `bit` (0–7) of the byte at `position`; returns the byte's old and new values. */
export function flipBit(file: string, position: number, bit: number): { before: number; after: number } {
  const fd = openSync(file, 'r+');
  try {
    const one = Buffer.alloc(1);
    readSync(fd, one, 0, 1, position);
    const before = one[0]!;
    one[0] = before ^ (1 << bit);
    writeSync(fd, one, 0, 1, position);
    return { before, after: one[0]! };
  } finally {
    closeSync(fd);
  }
}

/** Names (not paths) of the files beside the catalog `path` whose names start with its own plus `suffix`. */
export function siblings(path: string, suffix = ''): string[] {
  const prefix = basename(path) + suffix;
  return readdirSync(dirname(path))
    .filter((entry) => entry.startsWith(prefix))
    .sort();
}

/** Sealed journal segments: `<file>.journal.<12 digits>`. */
export function sealedSegments(path: string): string[] {
  return siblings(path, '.journal.').filter((name) => /\.journal\.\d{12}$/.test(name));
}

/** Every journal file of the catalog: `.journal*` (log, segments, next, damaged copies) and `.snapshot*`. */
export function journalFiles(path: string): string[] {
  return [...siblings(path, '.journal'), ...siblings(path, '.snapshot')].sort();
}

/** Removes the journal: every `.journal*` and `.snapshot*` file beside `path`. */
export function deleteJournal(path: string): void {
  for (const name of journalFiles(path)) rmSync(join(dirname(path), name), { force: true });
}

/** Removes the DuckDB file and its WAL. */
export function deleteDuckdbFile(path: string): void {
  rmSync(path, { force: true });
  rmSync(`${path}.wal`, { force: true });
}

/** name → contents of every file in `names` (beside `path`), to compare before and after. */
export function fileBytes(path: string, names: readonly string[]): Map<string, Buffer> {
  return new Map(names.map((name) => [name, readFileSync(join(dirname(path), name))]));
}

/** Copies the regular files of directory `from` into a new directory `to`. */
export function copyDirectory(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (entry.isFile()) copyFileSync(join(from, entry.name), join(to, entry.name));
  }
}

/** Snapshot files may open with a magic line (`duckcat-snapshot <version>\n`) before their frames. */
const SNAPSHOT_MAGIC = 'duckcat-snapshot ';

/** Where the frames of `<file>.snapshot` start. */
export function snapshotFramesStart(path: string): number {
  const data = readFileSync(`${path}.snapshot`);
  return data.toString('latin1', 0, SNAPSHOT_MAGIC.length) === SNAPSHOT_MAGIC ? data.indexOf(0x0a) + 1 : 0;
}

/**
 * The rows of `<file>.snapshot` as name → parsed definition, and the seq it holds;
 * undefined without one. Reads both encodings the store has used: JSON chunks of
 * `rows: [name, json, version][]`, and (after the magic line) V8-serialized column chunks
 * `{ names, jsons, versions }`; each ends with an `end` chunk.
 */
export function readSnapshotFile(path: string): { seq: number; rows: Map<string, unknown> } | undefined {
  const file = `${path}.snapshot`;
  if (!existsSync(file)) return undefined;
  const start = snapshotFramesStart(path);
  const { frames } = readFrames(file, start);
  const chunks = frames.map((frame) => (start > 0 ? deserialize(frame.payload) : JSON.parse(frame.payload.toString('utf8'))) as SnapshotChunk);
  const end = chunks.at(-1);
  if (end?.t !== 'end') throw new Error(`${file} has no end chunk`);
  const rows = new Map<string, unknown>();
  for (const chunk of chunks.slice(0, -1)) {
    if (chunk.names !== undefined) chunk.names.forEach((name, i) => rows.set(name, JSON.parse(chunk.jsons![i]!)));
    for (const row of chunk.rows ?? []) rows.set(row[0], JSON.parse(row[1]));
  }
  if (rows.size !== end.count) throw new Error(`${file} holds ${rows.size} rows, its end chunk says ${end.count}`);
  return { seq: end.seq, rows };
}

interface SnapshotChunk {
  readonly t: string;
  readonly seq: number;
  readonly count?: number;
  readonly rows?: Array<[string, string, number]>;
  readonly names?: string[];
  readonly jsons?: string[];
}
