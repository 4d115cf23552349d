import { parseArgs } from 'node:util';

/** A command line the CLI cannot run: exit code 1, with the command's usage on stderr. */
export class UsageError extends Error {
  /** The command whose usage to show, when known. */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

/** A parsed command line: `duckcat <command> <catalog> [args…] [options]`. */
export interface CliArgs {
  readonly command: string | undefined;
  /** Positionals after the command: the catalog path first. */
  readonly operands: readonly string[];
  readonly json: boolean;
  readonly help: boolean;
  readonly version: boolean;
  readonly out: string | undefined;
  readonly replace: boolean;
  readonly intervalMs: number;
}

/** How often `watch` looks for changes when the library gives it no events. */
export const DEFAULT_WATCH_INTERVAL_MS = 200;

/**
 * Parses argv (without node and the script). Options may come anywhere; `--` ends them.
 * @throws {UsageError} for an unknown option or a bad value.
 */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
        out: { type: 'string', short: 'o' },
        replace: { type: 'boolean' },
        interval: { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), commandOf(argv));
  }
  const { values, positionals } = parsed;
  const [command, ...operands] = positionals;
  let intervalMs = DEFAULT_WATCH_INTERVAL_MS;
  if (values.interval !== undefined) {
    intervalMs = Number(values.interval);
    if (!Number.isSafeInteger(intervalMs) || intervalMs <= 0) throw new UsageError(`--interval must be a positive integer (ms), got ${values.interval}`, command);
  }
  return {
    command,
    operands,
    json: values.json === true,
    help: values.help === true,
    version: values.version === true,
    out: values.out,
    replace: values.replace === true,
    intervalMs,
  };
}

/** The first argument that is not an option, for usage messages of a line that did not parse. */
function commandOf(argv: readonly string[]): string | undefined {
  return argv.find((arg) => !arg.startsWith('-'));
}
