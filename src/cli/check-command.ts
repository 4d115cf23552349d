import { checkCatalog, type CheckReport } from './check-report.js';
import type { Command } from './command.js';
import { ExitCode } from './exit-codes.js';
import { toJson } from './output.js';

export const checkCommand: Command = {
  name: 'check',
  operands: '',
  arity: 0,
  summary: 'verify the file against its journal, changing nothing',
  details:
    'Reads the journal files and the snapshot, opens DuckDB READ_ONLY, and reports: journal records and\n' +
    'damaged ranges, the snapshot, DuckDB\'s recorded position against the journal\'s newest batch, and whether\n' +
    'the rows agree. Creates, renames and locks nothing. A file an owner holds is reported as held (only its\n' +
    'journal is checked): check a copy, or stop the owner. Exit 0 when sound, 2 when problems were found.\n' +
    '--json prints the whole report ({ ok, problems, notes, journal, snapshot, duckdb, rowsEqual, differing }).',
  run: async ({ catalogPath, output }) => {
    const report = await checkCatalog(catalogPath);
    output.out(output.json ? toJson(report) : render(report));
    return report.ok ? ExitCode.OK : ExitCode.CHECK_FAILED;
  },
};

function render(report: CheckReport): string {
  const { journal, snapshot, duckdb } = report;
  const lines = [
    `catalog   ${report.path}`,
    `journal   ${journal.exists ? `${journal.files.length} files, ${journal.batches} batches after base ${journal.base ?? '?'}, newest ${journal.lastSeq}` : 'none'}`,
    `snapshot  ${snapshot.state}${snapshot.state === 'valid' ? ` (batch ${snapshot.seq}, ${snapshot.rows} rows)` : snapshot.why === undefined ? '' : ` (${snapshot.why})`}`,
    `duckdb    ${duckdb.state}${duckdb.state === 'readable' ? ` (position ${duckdb.appliedSeq ?? 'none'}, ${duckdb.rows} rows)` : ''}`,
    `rows      ${report.rowsEqual === null ? 'not compared' : report.rowsEqual ? 'equal' : `differ: ${report.differing.join(', ')}`}`,
  ];
  for (const note of report.notes) lines.push(`note: ${note}`);
  for (const problem of report.problems) lines.push(`problem: ${problem}`);
  lines.push(report.ok ? 'OK' : `FOUND ${report.problems.length} PROBLEM${report.problems.length === 1 ? '' : 'S'} (nothing was changed)`);
  return lines.join('\n');
}
