/**
 * Who wrote a side file (`<file>.owner`, `<file>.reader-*`), and whether that process still
 * runs. A pid alone is not an identity — pids are reused, and a restarted container's
 * PID 1 is the same number every time — so each record holds the pid and, where /proc
 * tells it, the process's start time.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

/** A process as recorded in a side file. */
export interface Holder {
  readonly pid: number;
  /** Start time of the process (clock ticks since boot), when it was recorded. */
  readonly start: string | undefined;
}

/** This process's incarnation: its pid and, where /proc tells it, its start time. */
const OWN_START = startTimeOf(process.pid);

/** The record this process writes into its side files. */
export const OWN_RECORD = `${process.pid} ${OWN_START ?? ''}\n`;

/** The holder recorded in `file`, or undefined when it is missing, empty or garbled. */
export function readHolder(file: string): Holder | undefined {
  try {
    const [pidText, start] = readFileSync(file, 'utf8').trim().split(' ');
    const pid = Number.parseInt(pidText ?? '', 10);
    return Number.isSafeInteger(pid) && pid > 0 ? { pid, start: start === '' ? undefined : start } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the holder is this very process. The same pid with another start time is an
 * earlier incarnation (a container's PID 1 restarted after a kill): stale.
 */
export function isThisProcess(holder: Holder | undefined): boolean {
  if (holder?.pid !== process.pid) return false;
  return holder.start === undefined || OWN_START === undefined || holder.start === OWN_START;
}

/** Whether the holder still runs: its pid is alive and, when known, started when recorded. */
export function isLive(holder: Holder): boolean {
  if (holder.pid === process.pid) return isThisProcess(holder);
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = holder.start === undefined ? undefined : startTimeOf(holder.pid);
  return start === undefined || start === holder.start;
}

/** Creates `file` with this process's record; 'wx': never through a link planted in its place. */
export function writeOwnRecord(file: string): void {
  const fd = openSync(file, 'wx', 0o600);
  try {
    writeSync(fd, OWN_RECORD);
  } finally {
    closeSync(fd);
  }
}

/** A process's start time from /proc (Linux), or undefined where it cannot be read. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) may hold spaces, so count after its closing paren.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
