import type { CatalogView } from '../main/catalog-view.js';
import type { JsonValue } from '../main/frozen-json.js';
import { CatalogError, CatalogExistsError, CatalogInvalidError } from '../shared/errors.js';
import { DEFAULT_OPTIONS } from '../shared/options.js';
import { serializeDefinition, validateName } from '../shared/validate-input.js';
import type { Command } from './command.js';
import { ExitCode } from './exit-codes.js';
import { errorDocument, toJson } from './output.js';
import { parseJsonInput, readInputText } from './read-input.js';
import { WRITE, withCatalog } from './with-catalog.js';

/** An import that did not happen: nothing was written. `cause` is the first refusal; its code is the exit code. */
export class ImportFailedError extends Error {
  override readonly cause: unknown;
  readonly details: Record<string, unknown>;
  constructor(cause: unknown, details: Record<string, unknown>) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'ImportFailedError';
    this.cause = cause;
    this.details = details;
  }
}

interface Planned {
  readonly name: string;
  readonly definition: JsonValue;
  /** Whether the name was defined when checked (counted as replaced). */
  readonly existed: boolean;
}

export const importCommand: Command = {
  name: 'import',
  operands: 'FILE|-',
  arity: 1,
  summary: 'store every definition of a JSON object (name → definition), all or nothing',
  details:
    'FILE holds one JSON object, name → definition (what `export` writes). Every name and definition is\n' +
    'checked first and every problem reported; a name already defined is a conflict (exit 10) unless\n' +
    '--replace is given. Then all of it is committed as ONE batch (catalog.apply: one journal record, one\n' +
    'DuckDB transaction): if the owner refuses any entry (a name defined meanwhile, a smaller limit),\n' +
    'nothing is written, and a crash leaves all of it or none. At most 10000 entries per import.\n' +
    '--json prints { imported, defined, replaced }; on failure stderr gets { error: { code, message, failed } }.',
  run: async ({ catalogPath, operands, args, output }) => {
    const document = parseJsonInput(readInputText(operands[0]!), 'import');
    if (typeof document !== 'object' || document === null || Array.isArray(document)) {
      throw new CatalogInvalidError('import', 'must be a JSON object of name → definition');
    }
    const entries = Object.entries(document);
    const result = await withCatalog(catalogPath, WRITE, (catalog) => importAll(catalog, entries, args.replace));
    output.out(output.json ? toJson(result) : `imported ${result.imported} definitions (${result.defined} new, ${result.replaced} replaced)`);
    return ExitCode.OK;
  },
};

async function importAll(catalog: CatalogView, entries: ReadonlyArray<[string, JsonValue]>, replace: boolean): Promise<{ imported: number; defined: number; replaced: number }> {
  const plan = validate(catalog, entries, replace);
  try {
    await catalog.apply(plan.map(({ name, definition }) => ({ op: replace ? 'replace' : 'define', name, definition })));
  } catch (error) {
    if (!(error instanceof CatalogError)) throw error;
    // Which entry: an EXISTS / NOT_FOUND names it; an owner's INVALID gives its index (`ops[2].definition`).
    const index = /^ops\[(\d+)\]/.exec((error as { field?: string }).field ?? '')?.[1];
    const name = (error as { definitionName?: unknown }).definitionName ?? (index === undefined ? undefined : plan[Number(index)]?.name);
    throw new ImportFailedError(error, { failed: [{ ...(typeof name === 'string' ? { name } : {}), ...errorDocument(error).error }] });
  }
  const defined = plan.filter((entry) => !entry.existed).length;
  return { imported: plan.length, defined, replaced: plan.length - defined };
}

/**
 * Checks every entry before anything is written, and reports every problem, not just the
 * first. Limits are the defaults (the owner may enforce smaller ones: it then refuses the
 * whole batch).
 */
function validate(catalog: CatalogView, entries: ReadonlyArray<[string, JsonValue]>, replace: boolean): Planned[] {
  const problems: Array<{ name: string; error: unknown }> = [];
  const plan: Planned[] = [];
  for (const [name, definition] of entries) {
    try {
      validateName(name, DEFAULT_OPTIONS.maxNameBytes);
      serializeDefinition(definition, DEFAULT_OPTIONS.maxDefinitionBytes);
      const existed = catalog.has(name);
      if (existed && !replace) throw new CatalogExistsError(name);
      plan.push({ name, definition, existed });
    } catch (error) {
      if (!(error instanceof CatalogError)) throw error;
      problems.push({ name, error });
    }
  }
  if (problems.length > 0) {
    throw new ImportFailedError(problems[0]!.error, { failed: problems.map(({ name, error }) => ({ name, ...errorDocument(error).error })) });
  }
  return plan;
}
