import type { CliArgs } from './cli-args.js';
import type { ExitCode } from './exit-codes.js';
import type { Output } from './output.js';

/** What a command is run with. */
export interface CommandContext {
  readonly args: CliArgs;
  /** The catalog file, as given. */
  readonly catalogPath: string;
  /** Positionals after the catalog path. */
  readonly operands: readonly string[];
  readonly output: Output;
}

/** One `duckcat <command>`: its help text and how it runs. */
export interface Command {
  readonly name: string;
  /** Arguments after `<catalog>`, as shown in usage (`NAME FILE|-`). */
  readonly operands: string;
  /** How many operands after `<catalog>` it takes. */
  readonly arity: number;
  readonly summary: string;
  /** Longer help: options, what `--json` prints, exit codes of note. */
  readonly details: string;
  run(context: CommandContext): Promise<ExitCode>;
}
