import { describe, expect, it } from 'vitest';
import { STRACE, syscallFaultSweep } from './fuzz/reliability.mjs';
import { tempDir } from './helpers/temp-catalog.js';

// Issue 15, "Extend the evidence": a syscall fault sweep. strace makes the N-th call of the
// journal's pwrite64/fdatasync, the snapshot's writes and rename, or DuckDB's WAL writes
// and fsyncs fail with EIO, or SIGKILLs the process there; then reopen twice and compare
// with the model. No acknowledged write lost or rolled back, and no fault that no caller
// was told about. A small N here; `node test/soak/soak.mjs --fault-sweep 1-40` sweeps wide.

describe.skipIf(STRACE === undefined)('syscall fault sweep', () => {
  it('an EIO or a kill at a journal, snapshot or WAL call loses and rolls back nothing acknowledged', { timeout: 60_000 }, async () => {
    // Every target once, EIO on the writes and a kill at the syncs and the rename (CI time).
    const eio = await syscallFaultSweep({ dir: tempDir(), targets: ['journal-pwrite', 'snapshot-write', 'wal-write'], faults: ['EIO'], whens: [3], ops: 80 });
    const kill = await syscallFaultSweep({ dir: tempDir(), targets: ['journal-fdatasync', 'snapshot-rename', 'wal-fsync'], faults: ['SIGKILL'], whens: [3], ops: 80 });
    for (const summary of [eio, kill]) {
      console.log(`syscall fault sweep: ${JSON.stringify(summary)}`);
      expect(summary.failures).toEqual([]);
      expect(summary.lost).toBe(0);
      expect(summary.rolledBack).toBe(0);
      expect(summary.unreported).toBe(0);
    }
  });
});
