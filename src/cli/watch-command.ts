import { existsSync } from 'node:fs';
import type { CatalogView } from '../main/catalog-view.js';
import type { ReadonlyJson } from '../main/frozen-json.js';
import { CatalogWriterExitedError } from '../shared/errors.js';
import type { Command } from './command.js';
import { ExitCode } from './exit-codes.js';
import type { Output } from './output.js';
import { toJson } from './output.js';
import { openTarget } from './open-target.js';
import { EXISTING } from './with-catalog.js';

/** One change `watch` prints. */
export interface WatchChange {
  readonly op: 'define' | 'replace' | 'drop';
  readonly name: string;
  readonly definition?: ReadonlyJson;
}

export const watchCommand: Command = {
  name: 'watch',
  operands: '',
  arity: 0,
  summary: 'print changes as they happen (until Ctrl-C)',
  details:
    'Connects to the owner (or, when no process owns the file, opens it and serves other processes itself)\n' +
    'and prints each change: `define|replace|drop NAME`; with --json one JSON object per line,\n' +
    '{ op, name, definition? }, then a line { ready: true, definitions } once watching. The library has no\n' +
    'change events yet: watch asks the owner for a read fence (sync) every --interval ms (default 200) and\n' +
    'diffs the map, so several changes to one name in one interval show as one. Exit 0 on SIGINT/SIGTERM,\n' +
    '14 when the owner closes the catalog or dies, 11 when no catalog exists at the path.',
  run: async ({ catalogPath, args, output }) => {
    const target = await openTarget(catalogPath, EXISTING);
    const catalog = target.catalog;
    let stopping = false;
    const stop = () => {
      stopping = true;
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      let previous = new Map(catalog.entries());
      ready(output, target.access, previous.size);
      while (!stopping) {
        await new Promise((resolve) => setTimeout(resolve, args.intervalMs));
        if (stopping) break;
        await syncOrGone(catalog, target.access === 'connected', args.intervalMs);
        previous = printChanges(output, previous, catalog);
      }
      return ExitCode.OK;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await catalog.close();
    }
  },
};

/**
 * A read fence that gives up as soon as the handle loses its owner: a pending call to a
 * remote owner that closed cleanly is otherwise failed only at `timeoutMs`.
 */
async function syncOrGone(catalog: CatalogView, remote: boolean, pollMs: number): Promise<void> {
  // An owner that closes cleanly removes its socket file, but (today) does not tell the
  // connected clients, whose `connected` stays true: the file's absence is the signal.
  const lost = () => !catalog.connected || (remote && !existsSync(`${catalog.path}.sock`));
  if (lost()) throw new CatalogWriterExitedError(`the owner of ${catalog.path} went away`);
  const fence = catalog.sync();
  let timer: NodeJS.Timeout | undefined;
  const gone = new Promise<never>((_resolve, reject) => {
    timer = setInterval(() => {
      if (lost()) reject(new CatalogWriterExitedError(`the owner of ${catalog.path} went away`));
    }, pollMs);
  });
  try {
    await Promise.race([fence, gone]);
  } finally {
    clearInterval(timer);
    // The losing fence settles later (ERR_CATALOG_WRITER_EXITED or a timeout): nobody waits for it.
    fence.catch(() => undefined);
  }
}

function ready(output: Output, access: string, definitions: number): void {
  if (output.json) output.out(toJson({ ready: true, access, definitions }));
  else output.err(`watching (${access}, ${definitions} definitions); Ctrl-C to stop`);
}

/** Prints what changed since `previous` (values are compared by identity: the map hands out a new object only when a name changes). */
function printChanges(output: Output, previous: ReadonlyMap<string, ReadonlyJson>, catalog: CatalogView): Map<string, ReadonlyJson> {
  const current = new Map(catalog.entries());
  const changes: WatchChange[] = [];
  for (const [name, definition] of current) {
    const before = previous.get(name);
    if (before === undefined) changes.push({ op: 'define', name, definition });
    else if (before !== definition) changes.push({ op: 'replace', name, definition });
  }
  for (const name of previous.keys()) if (!current.has(name)) changes.push({ op: 'drop', name });
  for (const change of changes) output.out(output.json ? toJson(change) : `${change.op} ${change.name}`);
  return current;
}
