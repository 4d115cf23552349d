import { Catalog } from 'duckcat';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collect, fixture } from './helpers/child.js';
import { readDuckdbFile } from './helpers/duckdb-file.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

const STRACE = ['/usr/bin/strace', '/bin/strace'].find((file) => existsSync(file));

interface FaultRun {
  readonly acked: string[];
  readonly errors: Array<{ code: string; name: string }>;
  readonly lines: string[];
}

/**
 * Runs the writer under strace with one fault injected: the `when`-th call of `syscalls` on
 * `file` fails with `error`. Real syscalls, real files, the real thread that makes them.
 */
async function runWithFault(path: string, file: string, syscalls: string, error: string, when: number, commit = 'journal', applyDelayMs?: number, writes = 200): Promise<FaultRun> {
  const extra = applyDelayMs === undefined ? [] : [String(applyDelayMs)];
  const child = spawn(
    STRACE!,
    ['-f', '-qq', '-o', '/dev/null', '-P', file, '-e', `trace=${syscalls}`, '-e', `inject=${syscalls}:error=${error}:when=${when}`, process.execPath, fixture('io-fault-writer.mjs'), path, String(writes), commit, ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const result = await collect(child, 60_000);
  expect(result.code, result.stderr).toBe(0);
  const lines = result.stdout.trim().split('\n');
  return {
    lines,
    acked: lines.filter((line) => line.startsWith('ack ')).map((line) => line.slice(4)),
    errors: lines.filter((line) => line.startsWith('err ')).map((line) => {
      const [, code, name] = line.split(' ');
      return { code: code!, name: name! };
    }),
  };
}

async function expectAcknowledgedTwice(path: string, run: FaultRun): Promise<void> {
  let names: string[] = [];
  for (let open = 0; open < 2; open++) {
    const cat = await Catalog.open(path);
    for (const name of run.acked) expect(cat.has(name), `${name} after reopen ${open}`).toBe(true);
    // Only the write the fault interrupted may or may not have landed; none after it.
    const firstError = run.errors[0]?.name;
    const known = new Set([...run.acked, ...(firstError === undefined ? [] : [firstError])]);
    for (const name of cat.list()) expect(known.has(name), `${name} was never acknowledged`).toBe(true);
    names = cat.list();
    await cat.close();
  }
  // And the DuckDB table, read without duckcat, holds exactly what the catalog shows.
  const file = await readDuckdbFile(path);
  expect([...file.rows.keys()].sort()).toEqual(names);
}

describe.skipIf(STRACE === undefined)('I/O errors injected with strace', () => {
  it('an EIO from the journal fdatasync fails that write and every later one, and nothing acknowledged is lost', { timeout: 120_000 }, async () => {
    const path = tempCatalogPath();
    const run = await runWithFault(path, `${path}.journal`, 'fdatasync', 'EIO', 40);
    expect(run.acked.length).toBeGreaterThan(10);
    expect(run.errors.length).toBeGreaterThan(0);
    expect(run.errors[0]!.code).toBe('ERR_CATALOG_WRITER_EXITED');
    // Nothing is acknowledged once the journal failed: every later call fails too.
    const firstError = run.lines.findIndex((line) => line.startsWith('err '));
    expect(run.lines.slice(firstError).some((line) => line.startsWith('ack '))).toBe(false);
    await expectAcknowledgedTwice(path, run);
  });

  it('an ENOSPC from a journal write fails that write and every later one, and nothing acknowledged is lost', { timeout: 120_000 }, async () => {
    const path = tempCatalogPath();
    const run = await runWithFault(path, `${path}.journal`, 'pwrite64', 'ENOSPC', 40);
    expect(run.errors[0]?.code).toBe('ERR_CATALOG_WRITER_EXITED');
    const firstError = run.lines.findIndex((line) => line.startsWith('err '));
    expect(run.lines.slice(firstError).some((line) => line.startsWith('ack '))).toBe(false);
    await expectAcknowledgedTwice(path, run);
  });

  it("an EIO from DuckDB's WAL stops the catalog loudly; reopen restores every acknowledged write from the journal", { timeout: 120_000 }, async () => {
    const path = tempCatalogPath();
    // DuckDB applies every 10 ms here, so the fault lands on an apply while writes go on.
    // Open returns before DuckDB's API has loaded, and under strace that load is slow: enough
    // writes that they outlast it (the writer stops at the third error anyway).
    const run = await runWithFault(path, `${path}.wal`, 'fsync,fdatasync', 'EIO', 5, 'journal', 10, 2_000);
    expect(run.lines[0]).toBe('open');
    expect(run.acked.length).toBeGreaterThan(0);
    // DuckDB refusing writes the journal acknowledged is fatal, never silent.
    expect(run.errors[0]?.code).toBe('ERR_CATALOG_WRITER_EXITED');
    await expectAcknowledgedTwice(path, run);
  });

  it("with commit: 'duckdb', an EIO from DuckDB's WAL fails the writes whose durability is in doubt", { timeout: 120_000 }, async () => {
    const path = tempCatalogPath();
    const run = await runWithFault(path, `${path}.wal`, 'fsync,fdatasync', 'EIO', 10, 'duckdb');
    expect(run.errors.length).toBeGreaterThan(0);
    // A STORAGE answer means that write did not happen: DuckDB refused it and the journal
    // recorded the refusal (expectAcknowledgedTwice allows only the first failed name).
    for (const { code } of run.errors) expect(['ERR_CATALOG_STORAGE', 'ERR_CATALOG_WRITER_EXITED']).toContain(code);
    await expectAcknowledgedTwice(path, run);
  });
});
