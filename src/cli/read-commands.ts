import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { notASemanticView } from '../main/sql/semantic-view-lookup.js';
import { DESCRIBE_VIEW_COLUMNS, describeViewRow } from '../main/sql/describe-row.js';
import { CatalogNotFoundError } from '../shared/errors.js';
import { isSemanticViewEntry, validateSemanticView } from '../shared/semantic-view.js';
import type { Command } from './command.js';
import { ExitCode } from './exit-codes.js';
import { keyValues, table, toJson } from './output.js';
import { READ, withCatalog } from './with-catalog.js';

/** What `ls` shows of a definition: its `kind` when it has one, else its JSON type. */
function kindOf(definition: unknown): string {
  if (Array.isArray(definition)) return 'array';
  if (definition === null) return 'null';
  if (typeof definition === 'object') {
    const kind = (definition as Record<string, unknown>).kind;
    return typeof kind === 'string' ? kind : 'object';
  }
  return typeof definition;
}

export const lsCommand: Command = {
  name: 'ls',
  operands: '',
  arity: 0,
  summary: 'list the definitions (name, kind, size)',
  details: '--json prints an array of { name, kind, bytes }, sorted by name; bytes is the size of the JSON text.',
  run: ({ catalogPath, output }) =>
    withCatalog(catalogPath, READ, async (catalog) => {
      const rows = catalog.entries().map(([name, definition]) => ({ name, kind: kindOf(definition), bytes: Buffer.byteLength(JSON.stringify(definition)) }));
      if (output.json) output.out(toJson(rows));
      else if (rows.length === 0) output.out('(no definitions)');
      else output.out(table(['NAME', 'KIND', 'BYTES'], rows.map((row) => [row.name, row.kind, String(row.bytes)])));
      return ExitCode.OK;
    }),
};

export const getCommand: Command = {
  name: 'get',
  operands: 'NAME',
  arity: 1,
  summary: 'print one definition as JSON',
  details: 'Prints the stored definition (indented; one line with --json). Exit 11 when NAME is not defined.',
  run: ({ catalogPath, operands, output }) =>
    withCatalog(catalogPath, READ, async (catalog) => {
      const name = operands[0]!;
      const definition = catalog.get(name);
      if (definition === undefined) throw new CatalogNotFoundError(name);
      output.out(toJson(definition, output.json ? undefined : 2));
      return ExitCode.OK;
    }),
};

export const describeCommand: Command = {
  name: 'describe',
  operands: 'NAME',
  arity: 1,
  summary: 'describe a semantic view (as describe_semantic_view does in SQL)',
  details:
    'Prints the row SQL\'s describe_semantic_view(NAME) returns: name, base_table, and dimensions, metrics,\n' +
    'filters and joins as JSON text (keys sorted; the text null for a list the view leaves out).\n' +
    '--json prints that row as one object. Exit 11 when NAME is not defined, 12 when it is not a semantic view.',
  run: ({ catalogPath, operands, output }) =>
    withCatalog(catalogPath, READ, async (catalog) => {
      const name = operands[0]!;
      const stored = catalog.get(name);
      if (stored === undefined) throw new CatalogNotFoundError(name);
      if (!isSemanticViewEntry(stored)) throw notASemanticView(name);
      const cells = describeViewRow(name, validateSemanticView(stored));
      const row = Object.fromEntries(DESCRIBE_VIEW_COLUMNS.map((column, i) => [column.name, cells[i]]));
      output.out(output.json ? toJson(row) : keyValues(row));
      return ExitCode.OK;
    }),
};

export const exportCommand: Command = {
  name: 'export',
  operands: '',
  arity: 0,
  summary: 'write every definition as one JSON object (name → definition)',
  details:
    'Prints the object on stdout, or with --out FILE writes it there (a temporary file renamed into place,\n' +
    'so FILE is never half-written) and prints a summary ({ out, count } with --json). `import` reads this format.',
  run: ({ catalogPath, args, output }) =>
    withCatalog(catalogPath, READ, async (catalog) => {
      const document = catalog.export();
      const count = Object.keys(document).length;
      if (args.out === undefined) {
        output.out(toJson(document, output.json ? undefined : 2));
        return ExitCode.OK;
      }
      const temporary = `${args.out}.${process.pid}.tmp`;
      try {
        writeFileSync(temporary, `${toJson(document, 2)}\n`, { flag: 'wx' });
        renameSync(temporary, args.out);
      } catch (error) {
        rmSync(temporary, { force: true });
        throw error;
      }
      output.out(output.json ? toJson({ out: args.out, count }) : `exported ${count} definitions to ${args.out}`);
      return ExitCode.OK;
    }),
};

export const statsCommand: Command = {
  name: 'stats',
  operands: '',
  arity: 0,
  summary: "the writer's counters: batches, commit latency, DuckDB lag",
  details:
    "Prints catalog.stats() with the path, how the CLI reached the catalog (access: opened | connected) and the\n" +
    'number of definitions. Opened here (no owner running), the counters are those of the CLI\'s own short-lived writer.',
  run: ({ catalogPath, output }) =>
    withCatalog(catalogPath, READ, async (catalog, target) => {
      const stats = await catalog.stats();
      const document = { path: target.path, access: target.access, definitions: catalog.size, ...stats };
      output.out(output.json ? toJson(document) : keyValues(document));
      return ExitCode.OK;
    }),
};
