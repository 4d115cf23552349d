import { closeSync, fdatasyncSync, fsyncSync, openSync, readFileSync, renameSync, ftruncateSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeRecords, encodeRecord, type JournalRecord, type JournalRow } from './journal-format.js';

/**
 * Rotate the journal into a fresh snapshot once it holds this many bytes of batch records:
 * they are parsed on every open, so this bounds what a healthy open spends on them.
 */
export const COMPACT_AFTER_BYTES = 4 * 1024 * 1024;

/**
 * The file is kept zero-filled this far ahead of the last record: overwriting
 * already-allocated blocks needs no metadata journal commit, so each record's fdatasync
 * measured ~125 µs instead of ~230 µs for a true append.
 */
const PREALLOCATE_BYTES = 1024 * 1024;
let zeros: Buffer | undefined;

/** What the journal says the catalog holds. */
export interface JournalState {
  /** Whether the journal starts with a snapshot (and so can rebuild the catalog alone). */
  readonly hasSnapshot: boolean;
  /** Every row of the snapshot; parsed on first call, only when a rebuild needs it. */
  snapshotRows(): Map<string, readonly [string, number]>;
  /** Names touched by batches after the snapshot, with their final state (json null = removed). */
  readonly touched: Map<string, readonly [string | null, number]>;
  readonly lastSeq: number;
}

/**
 * `<catalog>.journal`: an append-only, checksummed, fdatasync'ed log of every committed
 * batch, starting with a snapshot of the whole catalog. It is a second, independent copy
 * of every acknowledged write, so a DuckDB file that no longer opens (or a lost WAL) costs
 * nothing: the catalog is rebuilt from it.
 */
export class Journal {
  readonly #path: string;
  #fd: number;
  #size: number;
  #allocated: number;
  #batchBytes: number;
  #seq: number;

  private constructor(path: string, fd: number, size: number, batchBytes: number, seq: number) {
    this.#path = path;
    this.#fd = fd;
    this.#size = size;
    this.#allocated = size;
    this.#batchBytes = batchBytes;
    this.#seq = seq;
  }

  /** Reads the journal (dropping a torn tail) without opening it for writing. */
  static read(path: string): JournalState & { readonly validBytes: number; readonly batchBytes: number } {
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return { hasSnapshot: false, snapshotRows: () => new Map(), touched: new Map(), lastSeq: 0, validBytes: 0, batchBytes: 0 };
      }
      throw error;
    }
    const { records, validBytes } = decodeRecords(data);
    const snapshotAt = records.findLastIndex((record) => record.isSnapshot);
    const later = records.slice(snapshotAt + 1).map((record) => record.parse());
    const aborted = new Set(later.filter((r) => r.t === 'abort').map((r) => r.seq));
    const touched = new Map<string, readonly [string | null, number]>();
    for (const record of later) {
      if (record.t !== 'batch' || aborted.has(record.seq)) continue;
      for (const [name, json, version] of record.rows) touched.set(name, [json, version]);
    }
    const snapshot = records[snapshotAt];
    return {
      hasSnapshot: snapshot !== undefined,
      snapshotRows() {
        const record = snapshot?.parse();
        if (record?.t !== 'snapshot') return new Map();
        return new Map(record.rows.map(([name, json, version]) => [name, [json, version] as const]));
      },
      touched,
      lastSeq: records.reduce((max, record) => Math.max(max, record.seq), 0),
      validBytes,
      batchBytes: validBytes - (snapshot === undefined ? 0 : records.slice(0, snapshotAt + 1).reduce((sum, r) => sum + r.byteLength, 0)),
    };
  }

  /** Opens for appending, cutting off a torn tail first. */
  static open(path: string, validBytes: number, batchBytes: number, lastSeq: number): Journal {
    const fd = openSync(path, 'r+');
    ftruncateSync(fd, validBytes);
    fsyncSync(fd);
    return new Journal(path, fd, validBytes, batchBytes, lastSeq);
  }

  /** Writes a fresh journal holding only a snapshot, atomically replacing any old one. */
  static create(path: string, rows: ReadonlyArray<readonly [string, string, number]>, seq: number): Journal {
    const temporary = `${path}.tmp`;
    const fd = openSync(temporary, 'w', 0o600);
    const snapshot = encodeRecord({ t: 'snapshot', seq, rows });
    writeFully(fd, snapshot, 0);
    fsyncSync(fd);
    renameSync(temporary, path);
    syncDirectory(dirname(path));
    return new Journal(path, fd, snapshot.length, 0, seq);
  }

  get needsCompaction(): boolean {
    return this.#batchBytes > COMPACT_AFTER_BYTES;
  }

  /**
   * Appends a batch record and fdatasyncs it, on this thread: no libuv pool thread is
   * needed, so a starved pool cannot stall a write. Returns the batch's sequence number.
   */
  appendBatch(rows: readonly JournalRow[]): number {
    const seq = ++this.#seq;
    this.#batchBytes += this.#write({ t: 'batch', seq, rows });
    fdatasyncSync(this.#fd);
    return seq;
  }

  /** Records, durably, that batch `seq` did not commit in DuckDB. */
  appendAbort(seq: number): void {
    this.#write({ t: 'abort', seq });
    fdatasyncSync(this.#fd);
  }

  /** Replaces the journal with a snapshot of `rows` (the committed catalog). */
  compact(rows: ReadonlyArray<readonly [string, string, number]>): void {
    const next = Journal.create(this.#path, rows, this.#seq);
    closeSync(this.#fd);
    this.#fd = next.#fd;
    this.#size = next.#size;
    this.#allocated = next.#allocated;
    this.#batchBytes = 0;
  }

  close(): void {
    if (this.#fd < 0) return;
    closeSync(this.#fd);
    this.#fd = -1;
  }

  // Grows the zero-filled tail; the fsync (size changes) is paid once per megabyte.
  #ensureRoom(bytes: number): void {
    if (this.#size + bytes <= this.#allocated) return;
    zeros ??= Buffer.alloc(PREALLOCATE_BYTES);
    const start = Math.max(this.#allocated, this.#size);
    const grow = Math.max(PREALLOCATE_BYTES, bytes);
    for (let at = 0; at < grow; at += zeros.length) writeFully(this.#fd, zeros.subarray(0, Math.min(zeros.length, grow - at)), start + at);
    fsyncSync(this.#fd);
    this.#allocated = start + grow;
  }

  #write(record: JournalRecord): number {
    const bytes = encodeRecord(record);
    this.#ensureRoom(bytes.length);
    writeFully(this.#fd, bytes, this.#size);
    this.#size += bytes.length;
    return bytes.length;
  }
}

function writeFully(fd: number, bytes: Buffer, position: number): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written, position + written);
}

function syncDirectory(directory: string): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
