import { rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { JournalThreadConfig, StoreToJournal } from '../shared/protocol.js';
import { journalPaths, listSegments, syncDirectory, whileBusy } from './journal-files.js';
import { logBytes, type JournalLog } from './journal-log.js';
import type { StoreLink } from './store-link.js';

/**
 * Journal bytes per byte of the last snapshot before the log is compacted again. A snapshot
 * rewrites the whole catalog, so a fixed trigger makes bulk loading O(N²) (each rotation of
 * 4 MiB cost a full snapshot: 86 MB at 300k entries); growing the trigger with the
 * snapshot keeps its cost per written byte flat in N (4 snapshot bytes per journal byte),
 * while open, which decodes the log's records after the snapshot, reads at most a quarter more.
 */
const LOG_PER_SNAPSHOT_BYTE = 0.25;
/**
 * A prepared next log is zero-filled up to this much; a longer cycle grows it by the
 * megabyte, on the journal thread. Each growth is a write and an fsync on a caller's path
 * (3 ms typically, 140 ms seen while DuckDB wrote): a 500 MB catalog's cycle of 125 MB
 * grew 90 times per cycle when the prepared log stopped at 32 MiB. Zeros written ahead by
 * the store thread cost the same bytes, none of them on a caller's path; the price is disk
 * space: `<file>.journal.next` holds up to this much until the next seal.
 */
const MAX_PREPARED_LOG_BYTES = 512 * 1024 * 1024;

/**
 * The journal's compaction, as the journal thread sees it: when the log is full it is
 * sealed (two renames, the next log having been zero-filled ahead by the store thread), the
 * store thread writes a snapshot covering it from DuckDB, and the sealed logs it covers are
 * then deleted. None of it runs on a caller's path but the seal.
 */
export class Compaction {
  readonly #config: JournalThreadConfig;
  readonly #store: StoreLink;
  readonly #log: JournalLog | undefined;
  #running = false;
  /** The store thread has made `<file>.journal.next`. */
  #nextLogReady = false;
  /** Log bytes at which it is sealed and compacted: see {@link LOG_PER_SNAPSHOT_BYTE}. */
  #compactAt: number;

  constructor(config: JournalThreadConfig, store: StoreLink, log: JournalLog | undefined) {
    this.#config = config;
    this.#store = store;
    this.#log = log;
    this.#compactAt = compactionTrigger(config.compactAfterBytes, config.path);
  }

  /** Seals a full log and asks for a snapshot that covers it; the sealed file goes once it is written. */
  maybeStart(): void {
    if (this.#log === undefined || this.#running || this.#log.bytes < this.#compactAt) return;
    const bytes = this.#preparedLogBytes();
    const sealed = this.#log.seal(this.#nextLogReady, bytes);
    this.#nextLogReady = false;
    this.#running = true;
    this.#store.send({ kind: 'snapshot', atLeast: sealed });
    this.#store.send({ kind: 'prepare-log', bytes });
  }

  /** Asks the store thread for the first prepared log (later ones are asked for at each seal). */
  prepareNextLog(): void {
    if (this.#log !== undefined) this.#store.send({ kind: 'prepare-log', bytes: this.#preparedLogBytes() });
  }

  /**
   * Sealed logs left by a process that stopped mid-compaction wait for a snapshot that covers
   * them: ask for it now rather than at the next seal, which with a large catalog may be far
   * off (and a run of short-lived processes would pile them up meanwhile).
   * @param seq The newest journaled batch.
   */
  compactLeftovers(seq: number): void {
    if (this.#log === undefined || this.#running) return;
    const newest = listSegments(this.#config.path).at(-1);
    if (newest === undefined) return;
    this.#running = true;
    this.#store.send({ kind: 'snapshot', atLeast: Math.min(newest.lastSeq, seq) });
  }

  /** The store thread's answers about snapshots and prepared logs. */
  onStore(message: Extract<StoreToJournal, { kind: 'snapshotted' | 'log-prepared' }>): void {
    if (message.kind === 'log-prepared') {
      this.#nextLogReady = message.error === undefined;
      return;
    }
    this.#running = false;
    if (message.error !== undefined) {
      process.emitWarning(`duckcat: journal snapshot failed, sealed logs kept: ${message.error.message}`, { code: 'DUCKCAT_SNAPSHOT_FAILED' });
      return;
    }
    this.dropCovered(message.seq);
    this.#compactAt = compactionTrigger(this.#config.compactAfterBytes, this.#config.path);
  }

  /** Deletes the sealed logs a snapshot of batch `coveredSeq` covers. */
  dropCovered(coveredSeq: number): void {
    const covered = listSegments(this.#config.path).filter((segment) => segment.lastSeq <= coveredSeq);
    // Unlinks and a directory fsync on a slow disk: busy, not hung.
    whileBusy(this.#config.slots, () => {
      for (const segment of covered) rmSync(segment.file, { force: true });
      if (covered.length > 0) syncDirectory(dirname(this.#config.path));
    });
  }

  #preparedLogBytes(): number {
    return logBytes(Math.min(this.#compactAt, Math.max(this.#config.compactAfterBytes, MAX_PREPARED_LOG_BYTES)));
  }
}

/** When to compact next: `compactAfterBytes`, or more once the snapshot is large (see {@link LOG_PER_SNAPSHOT_BYTE}). */
function compactionTrigger(compactAfterBytes: number, path: string): number {
  let snapshotBytes = 0;
  try {
    if (path !== ':memory:') snapshotBytes = statSync(journalPaths(path).snapshot).size;
  } catch {
    // no snapshot yet
  }
  return Math.max(compactAfterBytes, Math.round(snapshotBytes * LOG_PER_SNAPSHOT_BYTE));
}
