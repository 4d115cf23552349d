import type { Command, CommandContext } from './command.js';
import { ExitCode } from './exit-codes.js';
import { toJson } from './output.js';
import { parseJsonInput, readInputText } from './read-input.js';
import { EXISTING, WRITE, withCatalog } from './with-catalog.js';

type WriteOp = 'define' | 'replace' | 'drop';

const PAST: Readonly<Record<WriteOp, string>> = { define: 'defined', replace: 'replaced', drop: 'dropped' };

/** One durable write: it has returned only once the owner acknowledged it. */
function writeCommand(op: WriteOp, summary: string, details: string): Command {
  const takesDefinition = op !== 'drop';
  return {
    name: op,
    operands: takesDefinition ? 'NAME FILE|-' : 'NAME',
    arity: takesDefinition ? 2 : 1,
    summary,
    details: `${details}\n--json prints { op, name }. The write is durable when the command exits 0.`,
    run: async ({ catalogPath, operands, output }: CommandContext) => {
      const name = operands[0]!;
      // Read and parse before opening: a bad input never touches the catalog.
      const definition = takesDefinition ? parseJsonInput(readInputText(operands[1]!), 'definition') : null;
      await withCatalog(catalogPath, takesDefinition ? WRITE : EXISTING, async (catalog) => {
        if (op === 'define') await catalog.define(name, definition);
        else if (op === 'replace') await catalog.replace(name, definition);
        else await catalog.drop(name);
      });
      output.out(output.json ? toJson({ op, name }) : `${PAST[op]} ${name}`);
      return ExitCode.OK;
    },
  };
}

export const defineCommand = writeCommand('define', 'store a new definition (JSON from FILE, or stdin for -)', 'Exit 10 when NAME is already defined, 12 when the input is not JSON or over a limit.');
export const replaceCommand = writeCommand('replace', 'store a definition, overwriting any existing one', 'Creates NAME when it is not defined (an upsert). Exit 12 when the input is not JSON or over a limit.');
export const dropCommand = writeCommand('drop', 'remove a definition', 'Exit 11 when NAME is not defined.');
