import { closeSync, fdatasyncSync, fstatSync, openSync, readSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { encodeRecord, type JournalRecord, type JournalRow } from './journal-format.js';
import { createExclusive, journalPaths, segmentPath, syncDirectory, whileBusy, writeFully, zeroFill } from './journal-files.js';

/**
 * The file is kept zero-filled ahead of the last record: overwriting already-allocated
 * blocks needs no metadata journal commit, so each record's fdatasync measured ~125 µs
 * instead of ~230 µs for a true append. A log is made with room for a whole compaction
 * cycle (see {@link logBytes}); past that it grows by this much at a time.
 */
const GROW_BYTES = 1024 * 1024;

/** What a fresh log is zero-filled to: a compaction cycle's worth, plus room while one runs. */
export function logBytes(compactAfterBytes: number): number {
  return compactAfterBytes + GROW_BYTES;
}

/**
 * `<file>.journal`, the catalog's write-ahead log: a write is acknowledged once its batch
 * record is here and fdatasync'ed. Appends happen on the journal thread, synchronously, so
 * no libuv pool thread is ever needed to acknowledge a write.
 */
export class JournalLog {
  readonly #catalogPath: string;
  readonly #path: string;
  readonly #slots: Int32Array | undefined;
  #fd: number;
  #size: number;
  #allocated: number;
  #seq: number;

  private constructor(catalogPath: string, fd: number, size: number, seq: number, slots: Int32Array | undefined) {
    this.#catalogPath = catalogPath;
    this.#path = `${catalogPath}.journal`;
    this.#fd = fd;
    this.#size = size;
    this.#allocated = size;
    this.#seq = seq;
    this.#slots = slots;
  }

  /**
   * Opens the existing log for appending after its intact prefix. A torn tail (never
   * acknowledged) is overwritten with zeros; the zero-filled room after it is kept.
   */
  static open(catalogPath: string, validBytes: number, lastSeq: number, slots?: Int32Array): JournalLog {
    const fd = openSync(`${catalogPath}.journal`, 'r+');
    const size = fstatSync(fd).size;
    const tornEnd = lastNonZero(fd, validBytes, size) + 1;
    if (tornEnd > validBytes) zeroFill(fd, validBytes, tornEnd - validBytes);
    const log = new JournalLog(catalogPath, fd, validBytes, lastSeq, slots);
    log.#allocated = size;
    return log;
  }

  /** Starts an empty log whose next batch gets `lastSeq + 1`. */
  static create(catalogPath: string, lastSeq: number, bytes: number, slots?: Int32Array): JournalLog {
    const log = new JournalLog(catalogPath, createExclusive(`${catalogPath}.journal`), 0, lastSeq, slots);
    log.#ensureRoom(bytes);
    syncDirectory(dirname(catalogPath));
    return log;
  }

  /** Sequence number of the newest journaled batch. */
  get seq(): number {
    return this.#seq;
  }

  /** Bytes of records in this log. */
  get bytes(): number {
    return this.#size;
  }

  /** Appends a batch record and fdatasyncs it. Returns the batch's sequence number. */
  append(rows: readonly JournalRow[], trace?: { written(): void }): number {
    const seq = this.#seq + 1;
    whileBusy(this.#slots, () => {
      this.#write({ t: 'batch', seq, rows });
      trace?.written();
      fdatasyncSync(this.#fd);
    });
    this.#seq = seq;
    return seq;
  }

  /** Records, durably, that batch `seq` did not commit in DuckDB (`commit: 'duckdb'` only). */
  appendAbort(seq: number): void {
    whileBusy(this.#slots, () => {
      this.#write({ t: 'abort', seq });
      fdatasyncSync(this.#fd);
    });
  }

  /**
   * Renames this log to `<file>.journal.<lastSeq>` and starts a fresh one: with a log made
   * ahead of time (`prepared`), two renames and a directory fsync. The records are dropped
   * later, once a snapshot covers them.
   * @returns the sealed segment's last seq.
   */
  seal(prepared: boolean, bytes: number): number {
    const lastSeq = this.#seq;
    whileBusy(this.#slots, () => {
      closeSync(this.#fd);
      this.#fd = -1;
      renameSync(this.#path, segmentPath(this.#catalogPath, lastSeq));
      this.#size = 0;
      if (prepared) {
        renameSync(journalPaths(this.#catalogPath).nextLog, this.#path);
        this.#fd = openSync(this.#path, 'r+');
        this.#allocated = fstatSync(this.#fd).size;
      } else {
        this.#fd = createExclusive(this.#path);
        this.#allocated = 0;
        this.#ensureRoom(bytes);
      }
      syncDirectory(dirname(this.#path));
    });
    return lastSeq;
  }

  close(): void {
    if (this.#fd < 0) return;
    closeSync(this.#fd);
    this.#fd = -1;
  }

  // Grows the zero-filled tail; the fsync (size changes) is paid once per megabyte.
  #ensureRoom(bytes: number): void {
    if (this.#size + bytes <= this.#allocated) return;
    const start = Math.max(this.#allocated, this.#size);
    const grow = Math.max(GROW_BYTES, bytes);
    zeroFill(this.#fd, start, grow);
    this.#allocated = start + grow;
  }

  #write(record: JournalRecord): void {
    const bytes = encodeRecord(record);
    this.#ensureRoom(bytes.length);
    writeFully(this.#fd, bytes, this.#size);
    this.#size += bytes.length;
  }
}

const ZEROES = Buffer.alloc(64 * 1024);

/** Offset of the last non-zero byte in [from, to), or from - 1. */
function lastNonZero(fd: number, from: number, to: number): number {
  const chunk = Buffer.alloc(ZEROES.length);
  let last = from - 1;
  for (let at = from; at < to; at += chunk.length) {
    const read = readSync(fd, chunk, 0, Math.min(chunk.length, to - at), at);
    // Nearly all of a preallocated log is zeroes: one native compare per chunk, and a
    // byte loop only in a chunk that holds something (a torn tail). Every open pays this.
    if (chunk.subarray(0, read).equals(ZEROES.subarray(0, read))) continue;
    for (let i = read - 1; i >= 0; i--) {
      if (chunk[i] !== 0) {
        last = at + i;
        break;
      }
    }
  }
  return last;
}
