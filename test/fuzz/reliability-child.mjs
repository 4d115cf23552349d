// Usage: reliability-child.mjs <path> <config JSON>
// A writer for the reliability phases (test/fuzz/reliability.mjs). Opens the catalog with
// the config's options (hooks by name: applyDelayMs, compactAfterBytes), prints `{"ready":1}`,
// then runs `ops` sync writes from the seeded stream (opStream), printing `{"i":k}` before
// call k and `{"a":k}` after it returned, `{"e":k,"code":...}` when it threw (stops after 3
// errors in a row). Then: `end: 'close'` closes, `end: 'kill'` SIGKILLs itself (DuckDB left
// behind the journal), `end: 'hold'` waits to be killed. Exit code 0 after a close.
import { writeLine } from '../fixtures/pipe-write.mjs';
import { Catalog } from 'duckcat';
import { opStream } from './reliability-ops.mjs';

const [path, configText] = process.argv.slice(2);
const config = JSON.parse(configText);
const say = (event) => writeLine(JSON.stringify(event));
const hooks = {};
if (config.applyDelayMs !== undefined) hooks[Symbol.for('duckcat.applyDelayMs')] = config.applyDelayMs;
if (config.compactAfterBytes !== undefined) hooks[Symbol.for('duckcat.compactAfterBytes')] = config.compactAfterBytes;
let cat;
try {
  cat = await Catalog.open(path, { timeoutMs: 20_000, ...(config.options ?? {}), ...hooks });
} catch (error) {
  say({ openError: error.code ?? String(error), message: String(error.message).slice(0, 300) });
  process.exit(3);
}
say({ ready: 1, recovery: cat.recovery?.kind ?? null, ms: Math.round(performance.now()) });
const ops = opStream(config.seed, config.first ?? 0, config.ops ?? 0, config.pool ?? 200, config.pad ?? 64);
let failures = 0;
for (const op of ops) {
  if (failures >= 3) break;
  say({ i: op.k });
  try {
    if (op.op === 'define') cat.defineSync(op.name, op.value);
    else if (op.op === 'replace') cat.replaceSync(op.name, op.value);
    else cat.dropSync(op.name);
    say({ a: op.k });
    failures = 0;
  } catch (error) {
    say({ e: op.k, code: error.code ?? String(error) });
    failures++;
  }
}
say({ wrote: 1, ms: Math.round(performance.now()) });
if (config.end === 'kill') process.kill(process.pid, 'SIGKILL');
if (config.end === 'hold') await new Promise(() => setInterval(() => undefined, 1_000));
try {
  await cat.close();
  say({ closed: 1 });
} catch (error) {
  say({ closeError: error.code ?? String(error) });
}
process.exit(0);
