import { closeSync, constants, fdatasyncSync, openSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { journalPaths, syncDirectory, writeFully } from './journal-files.js';

/**
 * `<file>.journal.mark`: the journal's high-water mark, a seq the journal is known to have
 * held durably. The log's own records cannot tell a torn tail (never acknowledged) from a
 * lost end (acknowledged batches zeroed or cut away): both simply stop. The mark, kept
 * outside the log, says how far the journal reached; a journal whose readable batches end
 * below it lost acknowledged writes.
 *
 * It is written off the callers' path (by the store thread, each time DuckDB records its
 * journal position, so it also never exceeds what DuckDB holds), rewritten in place and
 * fdatasync'ed. Two copies, in different 512-byte sectors, each with its own checksum: a
 * torn or bad sector costs one copy. A missing or unreadable mark says nothing (catalogs
 * from before it existed).
 *
 * Copy layout (little-endian): 8 bytes magic, 8 bytes seq, 4 bytes crc32 of the 16 before.
 */
const MAGIC = Buffer.from('dcmark01', 'latin1');
const COPY_BYTES = 20;
const SECTOR = 512;
const FILE_BYTES = 2 * SECTOR;

export function markPath(catalogPath: string): string {
  return journalPaths(catalogPath).mark;
}

export type MarkRead = { readonly kind: 'missing' } | { readonly kind: 'unreadable' } | { readonly kind: 'valid'; readonly seq: number };

/** Reads the mark (the newer of its intact copies), never following a link. */
export function readMark(catalogPath: string): MarkRead {
  let fd: number;
  try {
    fd = openSync(markPath(catalogPath), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? { kind: 'missing' } : { kind: 'unreadable' };
  }
  try {
    const data = Buffer.alloc(FILE_BYTES);
    let read = 0;
    for (let got = 1; got > 0 && read < FILE_BYTES; read += got) got = readSync(fd, data, read, FILE_BYTES - read, read);
    let seq: number | undefined;
    for (const offset of [0, SECTOR]) {
      const copy = decodeCopy(data.subarray(offset, offset + COPY_BYTES));
      if (copy !== undefined) seq = Math.max(seq ?? 0, copy);
    }
    return seq === undefined ? { kind: 'unreadable' } : { kind: 'valid', seq };
  } catch {
    return { kind: 'unreadable' };
  } finally {
    closeSync(fd);
  }
}

function decodeCopy(copy: Buffer): number | undefined {
  if (copy.length < COPY_BYTES || !copy.subarray(0, 8).equals(MAGIC)) return undefined;
  if (crc32(copy.subarray(0, 16)) !== copy.readUInt32LE(16)) return undefined;
  const seq = copy.readBigUInt64LE(8);
  return seq <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seq) : undefined;
}

function encode(seq: number): Buffer {
  const data = Buffer.alloc(FILE_BYTES);
  for (const offset of [0, SECTOR]) {
    MAGIC.copy(data, offset);
    data.writeBigUInt64LE(BigInt(seq), offset + 8);
    data.writeUInt32LE(crc32(data.subarray(offset, offset + 16)), offset + 16);
  }
  return data;
}

/**
 * Raises the mark; it never goes down (a lower seq is ignored). The file is opened for each
 * write, without following links, so a rename of it (set aside at open) is never written
 * through; it is created exclusively, mode 0600, when missing.
 */
export class MarkWriter {
  readonly #catalogPath: string;
  #last: number | undefined;

  constructor(catalogPath: string) {
    this.#catalogPath = catalogPath;
  }

  write(seq: number): void {
    if (this.#last === undefined) {
      const current = readMark(this.#catalogPath);
      this.#last = current.kind === 'valid' ? current.seq : -1;
    }
    if (seq <= this.#last) return;
    const file = markPath(this.#catalogPath);
    let created = false;
    let fd: number;
    try {
      fd = openSync(file, constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      created = true;
    }
    try {
      writeFully(fd, encode(seq), 0);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (created) syncDirectory(dirname(file));
    this.#last = seq;
  }

  /** Forgets what it wrote: the file was set aside or replaced by another writer. */
  reset(): void {
    this.#last = undefined;
  }
}
