/**
 * `<file>.reader-<pid>-<threadId>`: one per thread that has the catalog open read-only,
 * holding that process's identity (pid and start time, see process-identity.ts). They let
 * a read-write open from this process be refused (a second DuckDB instance on the file),
 * and let `Catalog.connect` name the read-only process that blocks the owner. A marker
 * of a process that no longer runs (killed, or an earlier incarnation of its pid) is
 * removed by whoever looks next.
 */
import { lstatSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { isLive, readHolder, writeOwnRecord, type Holder } from './process-identity.js';

/** Records that this thread has `catalogPath` open read-only. Best effort: a read-only directory has room for no marker, and needs none (no writer can open there either). */
export function addReaderMarker(catalogPath: string): void {
  try {
    writeOwnRecord(markerOf(catalogPath));
  } catch {
    // see above
  }
}

export function removeReaderMarker(catalogPath: string): void {
  rmSync(markerOf(catalogPath), { force: true });
}

/**
 * The live processes (this one included) with `catalogPath` open read-only, one entry per
 * process. Markers of processes that no longer run are removed on the way.
 */
export function liveReaders(catalogPath: string): Holder[] {
  const dir = dirname(catalogPath);
  const prefix = `${basename(catalogPath)}.reader-`;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const live = new Map<number, Holder>();
  for (const entry of entries) {
    const named = entry.startsWith(prefix) ? /^(\d+)-\d+$/.exec(entry.slice(prefix.length)) : null;
    if (named === null) continue;
    const marker = join(dir, entry);
    try {
      if (!lstatSync(marker).isFile()) continue; // not a marker of ours: never touched
    } catch {
      continue;
    }
    const pid = Number(named[1]);
    // A marker being written right now is still empty: its name tells the pid.
    const recorded = readHolder(marker);
    const holder = recorded?.pid === pid ? recorded : { pid, start: undefined };
    if (isLive(holder)) live.set(pid, holder);
    else rmSync(marker, { force: true });
  }
  return [...live.values()];
}

function markerOf(catalogPath: string): string {
  return `${catalogPath}.reader-${process.pid}-${threadId}`;
}
