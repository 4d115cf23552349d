import { closeSync, existsSync, fsync, fsyncSync, openSync, readdirSync, renameSync, rmSync, write, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Slot } from '../shared/slots.js';

/**
 * The journal's files beside the catalog file:
 * - `<file>.journal`: the active log, appended to and fdatasync'ed per batch;
 * - `<file>.journal.<lastSeq>`: sealed logs, waiting for a snapshot that covers them;
 * - `<file>.snapshot`: the whole catalog as of one seq, written from DuckDB behind the writers;
 * - `<file>.journal.mark`: how far the journal is known to have reached (journal-mark.ts).
 */
export interface JournalPaths {
  readonly log: string;
  /** A zero-filled log made ahead of time by the store thread, so a seal costs two renames. */
  readonly nextLog: string;
  readonly snapshot: string;
  readonly snapshotTemporary: string;
  /** The journal's high-water mark (see journal-mark.ts). */
  readonly mark: string;
}

export function journalPaths(path: string): JournalPaths {
  return { log: `${path}.journal`, nextLog: `${path}.journal.next`, snapshot: `${path}.snapshot`, snapshotTemporary: `${path}.snapshot.tmp`, mark: `${path}.journal.mark` };
}

export interface Segment {
  readonly file: string;
  readonly lastSeq: number;
}

const SEQ_DIGITS = 12;

export function segmentPath(path: string, lastSeq: number): string {
  return `${path}.journal.${String(lastSeq).padStart(SEQ_DIGITS, '0')}`;
}

/** Sealed logs of the catalog at `path`, oldest first. */
export function listSegments(path: string): Segment[] {
  const prefix = `${basename(path)}.journal.`;
  const segments: Segment[] = [];
  for (const entry of readdirSync(dirname(path))) {
    if (!entry.startsWith(prefix)) continue;
    const digits = entry.slice(prefix.length);
    if (!/^\d+$/.test(digits)) continue;
    segments.push({ file: join(dirname(path), entry), lastSeq: Number(digits) });
  }
  return segments.sort((a, b) => a.lastSeq - b.lastSeq);
}

/** Every journal file that exists now, the prepared next log and a half-written snapshot included. */
export function existingJournalFiles(path: string): string[] {
  const paths = journalPaths(path);
  const others = [paths.log, paths.nextLog, paths.snapshot, paths.snapshotTemporary, paths.mark].filter((file) => existsSync(file));
  return [...listSegments(path).map((segment) => segment.file), ...others];
}

/**
 * Creates `file` for writing, mode 0600, refusing to follow a link planted in its place: a
 * leftover of ours is unlinked first (unlink removes a link, never its target), then the
 * file is created exclusively.
 */
export function createExclusive(file: string): number {
  rmSync(file, { force: true });
  return openSync(file, 'wx', 0o600);
}

let zeros: Buffer | undefined;

/** Writes zeros over [from, from + bytes) and fsyncs: later overwrites then need no metadata commit. */
export function zeroFill(fd: number, from: number, bytes: number): void {
  zeros ??= Buffer.alloc(1024 * 1024);
  for (let at = 0; at < bytes; at += zeros.length) writeFully(fd, zeros.subarray(0, Math.min(zeros.length, bytes - at)), from + at);
  fsyncSync(fd);
}

/**
 * Zeros written in the background are flushed every this many bytes: the journal's own
 * fdatasync waits for the disk's flush, and a flush behind 100 MB of dirty zeros measured
 * 300 ms; behind a few MB it costs a caller little.
 */
const BACKGROUND_SYNC_BYTES = 4 * 1024 * 1024;

/** Writes `bytes` zeros at the start of `fd` and fsyncs it, each call on a libuv thread. */
export async function zeroFillInBackground(fd: number, bytes: number): Promise<void> {
  const chunk = (zeros ??= Buffer.alloc(1024 * 1024));
  const sync = () => new Promise<void>((resolve, reject) => fsync(fd, (error) => (error === null ? resolve() : reject(error))));
  let unsynced = 0;
  for (let at = 0; at < bytes; ) {
    const length = Math.min(chunk.length, bytes - at);
    const written = await new Promise<number>((resolve, reject) => write(fd, chunk, 0, length, at, (error, count) => (error === null ? resolve(count) : reject(error))));
    at += written;
    unsynced += written;
    if (unsynced >= BACKGROUND_SYNC_BYTES && at < bytes) {
      await sync();
      unsynced = 0;
    }
  }
  await sync();
}

export function writeFully(fd: number, bytes: Buffer, position: number): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written, position + written);
}

/** Makes renames and creations in `directory` durable. */
export function syncDirectory(directory: string): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Renames damaged files aside (never deletes them); returns the new names. */
export function setAside(files: readonly string[]): string[] {
  const suffix = `.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const moved: string[] = [];
  for (const file of files) {
    if (!existsSync(file)) continue;
    renameSync(file, `${file}${suffix}`);
    moved.push(`${file}${suffix}`);
  }
  if (files.length > 0) syncDirectory(dirname(files[0]!));
  return moved;
}

/**
 * Runs synchronous file work with BUSY raised, so a waiter that sees no heartbeat during a
 * slow fsync knows the journal thread is working, not hung (its deadline still applies).
 */
export function whileBusy<T>(slots: Int32Array | undefined, work: () => T): T {
  if (slots === undefined) return work();
  Atomics.add(slots, Slot.BUSY, 1);
  try {
    return work();
  } finally {
    Atomics.sub(slots, Slot.BUSY, 1);
  }
}
