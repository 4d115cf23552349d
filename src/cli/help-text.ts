import type { Command } from './command.js';
import { COMMANDS } from './commands.js';
import { exitCodeTable } from './exit-codes.js';

const GLOBAL_OPTIONS = `Options:
  --json          machine output: one JSON document on stdout; errors as { "error": { code, message } } on stderr
  -h, --help      help (for a command: duckcat <command> --help)
  -V, --version   print the version`;

/** `duckcat --help`. */
export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => usageOf(command).length));
  return [
    'Usage: duckcat <command> <catalog> [arguments] [options]',
    '',
    'Opens the catalog file, or, when another process owns it, connects to that owner.',
    'Read-only commands (ls, get, describe, export, stats, check) never need write access.',
    '',
    'Commands:',
    ...COMMANDS.map((command) => `  ${usageOf(command).padEnd(width)}  ${command.summary}`),
    '',
    GLOBAL_OPTIONS,
    '',
    'Exit codes:',
    exitCodeTable(),
  ].join('\n');
}

/** `duckcat <command> --help`. */
export function commandHelp(command: Command): string {
  return [`Usage: duckcat ${usageOf(command)}${optionsOf(command)}`, '', `${command.summary[0]!.toUpperCase()}${command.summary.slice(1)}.`, '', command.details, '', GLOBAL_OPTIONS, '', 'Exit codes: see duckcat --help.'].join('\n');
}

function usageOf(command: Command): string {
  return `${command.name} <catalog>${command.operands === '' ? '' : ` ${command.operands}`}`;
}

function optionsOf(command: Command): string {
  if (command.name === 'export') return ' [--out FILE]';
  if (command.name === 'import') return ' [--replace]';
  if (command.name === 'watch') return ' [--interval MS]';
  return '';
}
