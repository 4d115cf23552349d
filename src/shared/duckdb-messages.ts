/**
 * DuckDB errors are plain Errors without codes; these helpers read the few messages
 * duckcat must act on. Kept in one file so a DuckDB wording change is one edit.
 */

const LOCK_PATTERN = /Conflicting lock is held in (.*?) \(PID (\d+)\)/;

/** The owner pid from `Conflicting lock is held in <exe> (PID <n>)`, or undefined if not a lock error. */
export function parseLockHolder(message: string): { pid: number; executable: string } | undefined {
  const match = LOCK_PATTERN.exec(message);
  if (match === null) return undefined;
  return { executable: match[1] ?? '', pid: Number(match[2]) };
}

/** DuckDB's read-only-opener message when a writer holds the file uses the same wording. */
export function isLockError(message: string): boolean {
  return LOCK_PATTERN.test(message) || message.includes('Could not set lock on file');
}

/** Optimistic-concurrency conflicts DuckDB asks the client to retry. */
export function isTransactionConflict(message: string): boolean {
  return message.includes('Transaction conflict') || message.includes('Conflict on tuple deletion');
}

/** DuckDB refuses a CHECKPOINT while another connection has a transaction open (a snapshot's read). */
export function isCheckpointBlocked(message: string): boolean {
  return message.includes('Cannot CHECKPOINT: there are other');
}
