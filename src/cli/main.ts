#!/usr/bin/env node
/**
 * `duckcat <command> <catalog>`: the command-line entry (package.json `bin`).
 * Exit codes are stable: see exit-codes.ts, printed by `duckcat --help`.
 */
import { readFileSync } from 'node:fs';
import { CatalogError } from '../shared/errors.js';
import { UsageError, parseCliArgs } from './cli-args.js';
import { findCommand } from './commands.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { commandHelp, mainHelp } from './help-text.js';
import { ImportFailedError } from './import-command.js';
import { processOutput, reportError } from './output.js';

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes('--json');
  const output = processOutput(json);
  try {
    const args = parseCliArgs(argv);
    if (args.version) {
      output.out(json ? JSON.stringify({ version: version() }) : version());
      return ExitCode.OK;
    }
    const command = findCommand(args.command);
    if (args.help) {
      output.out(command === undefined ? mainHelp() : commandHelp(command));
      return args.command === undefined || command !== undefined ? ExitCode.OK : ExitCode.USAGE;
    }
    if (args.command === undefined) throw new UsageError('no command given');
    if (command === undefined) throw new UsageError(`unknown command "${args.command}"`);
    const [catalogPath, ...operands] = args.operands;
    if (catalogPath === undefined) throw new UsageError(`${command.name} needs a catalog path`, command.name);
    if (operands.length !== command.arity) {
      throw new UsageError(`${command.name} takes ${command.arity === 0 ? 'no arguments' : command.operands} after the catalog path, got ${operands.length}`, command.name);
    }
    return await command.run({ args, catalogPath, operands, output });
  } catch (error) {
    if (error instanceof UsageError) {
      reportError(output, error);
      const command = findCommand(error.command);
      if (!json) output.err(command === undefined ? 'Run duckcat --help for usage.' : `Run duckcat ${command.name} --help for usage.`);
      return ExitCode.USAGE;
    }
    if (error instanceof ImportFailedError) {
      reportError(output, error.cause, error.details);
      return exitCodeFor(error.cause instanceof CatalogError ? error.cause.code : undefined);
    }
    reportError(output, error);
    return exitCodeFor(error instanceof CatalogError ? error.code : undefined);
  }
}

// Let stdout drain (a pipe may be slow) before the exit code is set: no process.exit().
process.exitCode = await main(process.argv.slice(2));
