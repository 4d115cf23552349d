import type { CatalogView } from '../main/catalog-view.js';
import type { ReadonlyJson } from '../main/frozen-json.js';
import { CatalogError, CatalogExistsError, CatalogInvalidError } from '../shared/errors.js';
import { DEFAULT_OPTIONS } from '../shared/options.js';
import { serializeDefinition, validateName } from '../shared/validate-input.js';
import type { Command } from './command.js';
import { ExitCode } from './exit-codes.js';
import { errorDocument, toJson } from './output.js';
import { parseJsonInput, readInputText } from './read-input.js';
import { WRITE, withCatalog } from './with-catalog.js';

/**
 * An import that did not happen: every write that landed was undone (or, in `notUndone`,
 * could not be). `cause` is the first refusal; its code is the exit code.
 */
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
  readonly definition: unknown;
  /** The value before the import, to restore on undo; undefined when the name is new. */
  readonly previous: ReadonlyJson | undefined;
}

export const importCommand: Command = {
  name: 'import',
  operands: 'FILE|-',
  arity: 1,
  summary: 'store every definition of a JSON object (name → definition), all or nothing',
  details:
    'FILE holds one JSON object, name → definition (what `export` writes). Every name and definition is\n' +
    'checked first; a name already defined is a conflict (exit 10) unless --replace is given. Nothing is\n' +
    'written unless everything passes. The writes are then sent together; if the owner refuses any of\n' +
    'them, those that landed are undone (dropped, or restored to their previous value) and the command\n' +
    'exits with the refusal\'s code. Not isolated: other readers may see an import that is then undone,\n' +
    'and a crash of the owner during the writes can leave part of it.\n' +
    '--json prints { imported, defined, replaced }; on failure stderr gets { error: { …, failed, undone, notUndone } }.',
  run: async ({ catalogPath, operands, args, output }) => {
    const document = parseJsonInput(readInputText(operands[0]!), 'import');
    if (typeof document !== 'object' || document === null || Array.isArray(document)) {
      throw new CatalogInvalidError('import', 'must be a JSON object of name → definition');
    }
    const entries = Object.entries(document as Record<string, unknown>);
    const result = await withCatalog(catalogPath, WRITE, (catalog) => importAll(catalog, entries, args.replace));
    output.out(output.json ? toJson(result) : `imported ${result.imported} definitions (${result.defined} new, ${result.replaced} replaced)`);
    return ExitCode.OK;
  },
};

async function importAll(catalog: CatalogView, entries: ReadonlyArray<[string, unknown]>, replace: boolean): Promise<{ imported: number; defined: number; replaced: number }> {
  const plan = validate(catalog, entries, replace);
  const outcomes = await Promise.allSettled(plan.map(({ name, definition }) => (replace ? catalog.replace(name, definition) : catalog.define(name, definition))));
  const failed = plan.flatMap((entry, i) => {
    const outcome = outcomes[i]!;
    return outcome.status === 'rejected' ? [{ name: entry.name, error: outcome.reason as unknown }] : [];
  });
  if (failed.length === 0) {
    const defined = plan.filter((entry) => entry.previous === undefined).length;
    return { imported: plan.length, defined, replaced: plan.length - defined };
  }
  const landed = plan.filter((_entry, i) => outcomes[i]!.status === 'fulfilled');
  const undo = await Promise.allSettled(landed.map(({ name, previous }) => (previous === undefined ? catalog.drop(name) : catalog.replace(name, previous))));
  const notUndone = landed.filter((_entry, i) => undo[i]!.status === 'rejected').map((entry) => entry.name);
  throw new ImportFailedError(failed[0]!.error, {
    failed: failed.map(({ name, error }) => ({ name, ...errorDocument(error).error })),
    undone: landed.length - notUndone.length,
    notUndone,
  });
}

/**
 * Checks every entry before anything is written, and reports every problem, not just the
 * first. Limits are the defaults (the owner may enforce smaller ones; its refusal then
 * comes at write time and is undone).
 */
function validate(catalog: CatalogView, entries: ReadonlyArray<[string, unknown]>, replace: boolean): Planned[] {
  const problems: Array<{ name: string; error: unknown }> = [];
  const plan: Planned[] = [];
  for (const [name, definition] of entries) {
    try {
      validateName(name, DEFAULT_OPTIONS.maxNameBytes);
      serializeDefinition(definition, DEFAULT_OPTIONS.maxDefinitionBytes);
      const previous = catalog.get(name);
      if (previous !== undefined && !replace) throw new CatalogExistsError(name);
      plan.push({ name, definition, previous });
    } catch (error) {
      if (!(error instanceof CatalogError)) throw error;
      problems.push({ name, error });
    }
  }
  if (problems.length > 0) {
    throw new ImportFailedError(problems[0]!.error, { failed: problems.map(({ name, error }) => ({ name, ...errorDocument(error).error })), undone: 0, notUndone: [] });
  }
  return plan;
}
