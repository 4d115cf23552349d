import type { CatalogView } from '../main/catalog-view.js';
import type { CatalogChange, CatalogDisconnect } from '../main/change-events.js';
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
    '{ op, name, definition? }, after a line { ready: true, definitions } once watching. Changes come\n' +
    "from the catalog's change events, one per name per batch, in commit order; `definition` is the value when\n" +
    'the line is printed (a later change to the name follows on its own line). --interval MS (default 200):\n' +
    'how often watch also checks that the owner is still there. Exit 0 on SIGINT/SIGTERM, 14 when the owner\n' +
    'closes the catalog or dies, 11 when no catalog exists at the path.',
  run: async ({ catalogPath, args, output }) => {
    const target = await openTarget(catalogPath, EXISTING);
    const catalog = target.catalog;
    let finish: (error?: Error) => void = () => undefined;
    const finished = new Promise<void>((resolve, reject) => {
      finish = (error) => (error === undefined ? resolve() : reject(error));
    });
    const stop = () => finish();
    const print = (change: CatalogChange) => printChange(output, catalog, change);
    const gone = ({ code, pid }: CatalogDisconnect) => finish(ownerGone(catalog.path, code, pid));
    // Events need no timer, but the process must stay up while it waits for them; the same
    // timer catches a handle whose writer stopped answering without its link closing.
    const check = setInterval(() => {
      if (!catalog.connected) finish(ownerGone(catalog.path, 'ERR_CATALOG_WRITER_EXITED', undefined));
    }, args.intervalMs);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      catalog.on('change', print);
      catalog.on('disconnect', gone);
      ready(output, target.access, catalog.size);
      await finished;
      return ExitCode.OK;
    } finally {
      clearInterval(check);
      catalog.off('change', print);
      catalog.off('disconnect', gone);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await catalog.close();
    }
  },
};

/** Exit 14 either way (a script waits for a new owner in both cases); the message says which. */
function ownerGone(path: string, code: CatalogDisconnect['code'], pid: number | undefined): CatalogWriterExitedError {
  const who = pid === undefined ? 'the owner' : `the owner (pid ${pid})`;
  return new CatalogWriterExitedError(`${who} of ${path} ${code === 'ERR_CATALOG_CLOSED' ? 'closed the catalog' : 'went away without closing it'}`);
}

function ready(output: Output, access: string, definitions: number): void {
  if (output.json) output.out(toJson({ ready: true, access, definitions }));
  else output.err(`watching (${access}, ${definitions} definitions); Ctrl-C to stop`);
}

function printChange(output: Output, catalog: CatalogView, { kind, name }: CatalogChange): void {
  const definition = kind === 'drop' ? undefined : catalog.get(name);
  const change: WatchChange = definition === undefined ? { op: kind, name } : { op: kind, name, definition };
  output.out(output.json ? toJson(change) : `${change.op} ${change.name}`);
}
