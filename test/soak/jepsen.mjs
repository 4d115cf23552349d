// A Jepsen-style consistency run (issue 18, "Evidence"). Needs a built package (npm run build).
//
//   node test/soak/jepsen.mjs --seconds 110 --seed 1 [--remotes 3] [--dir PATH] [--json] [--history FILE]
//
// The owner process (one actor on its main thread, two CatalogClient threads) and
// `--remotes` Catalog.connect processes (test/soak/jepsen-node.mjs) do a seeded mix of
// define / replace / drop / get / list / sync+get on 12 contended names, logging every
// operation with invoke and completion times. A nemesis SIGKILLs and restarts the owner,
// and SIGSTOPs it for 1.5–5.5 s. At the end every handle syncs and dumps its map, the owner
// is SIGKILLed a last time and the file is reopened twice. Then test/soak/jepsen-check.mjs
// checks durability, read-your-writes, monotonic reads, per-name linearizability of the
// owner's process and of remote reads made after sync(), convergence of every map, call
// deadlines and false timeouts, and measures how stale remote reads without sync() are.
//
// Prints a summary (one JSON line with --json) and exits 1 on any violation.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { Catalog } from 'duckcat';
import { NAMES, buildHistory, check, percentiles } from './jepsen-check.mjs';
import { seededRandom } from '../crash/value-hash.mjs';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '110' },
    seed: { type: 'string', default: '1' },
    remotes: { type: 'string', default: '3' },
    dir: { type: 'string' },
    json: { type: 'boolean', default: false },
    history: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const SEED = Number(values.seed);
const REMOTES = Number(values.remotes);
// Defaults of the catalogs under test (src/shared/options.ts).
const TIMEOUT_MS = 10_000;
// After a pause or a restart, the time the other parties get to notice.
const GRACE_MS = 3_000;
const NODE = fileURLToPath(new URL('./jepsen-node.mjs', import.meta.url));

const now = () => Number(process.hrtime.bigint()) / 1e6;
const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'duckcat-jepsen-'));
const path = join(dir, 'catalog.duckdb');
const random = seededRandom(SEED);
const lines = [];
const events = [];
const dumps = new Map();


/** Starts a node of the run; its stdout lines go into the history. */
function start(role, index) {
  const child = spawn(process.execPath, [NODE, role, path, String(SEED), String(index)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const state = { child, role, index, buffer: '', stderr: '', exited: new Promise((resolve) => child.on('close', resolve)), waiters: [] };
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    state.buffer += chunk;
    let end;
    while ((end = state.buffer.indexOf('\n')) >= 0) {
      const text = state.buffer.slice(0, end);
      state.buffer = state.buffer.slice(end + 1);
      let line;
      try {
        line = JSON.parse(text);
      } catch {
        continue;
      }
      if (line.dump !== undefined) dumps.set(line.dump, line);
      else lines.push(line);
      for (const waiter of state.waiters.splice(0)) waiter(line);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk) => (state.stderr += chunk));
  child.stdin.on('error', () => undefined);
  return state;
}

function nextLine(node, pred, ms = 60_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${node.role} ${node.index}: no expected line within ${ms} ms; stderr: ${node.stderr.slice(-2000)}`)), ms);
    const waiter = (line) => {
      if (pred(line)) {
        clearTimeout(timer);
        resolve(line);
      } else node.waiters.push(waiter);
    };
    node.waiters.push(waiter);
  });
}

async function startOwner(gen) {
  const owner = start('owner', gen);
  const ready = await nextLine(owner, (line) => line.ready !== undefined);
  events.push({ e: 'ready', gen, t: ready.t });
  return owner;
}

let gen = 0;
let owner = await startOwner(gen);
const remotes = Array.from({ length: REMOTES }, (_, n) => start('remote', n));
const killedOwners = [];
const startedAt = now();
const endAt = startedAt + SECONDS * 1_000;
let kills = 0;
let pauses = 0;

// The nemesis.
while (now() < endAt - 4_000) {
  await sleep(2_000 + random() * 4_000);
  if (now() >= endAt - 4_000) break;
  if (random() < 0.3) {
    events.push({ e: 'kill', gen, t: now() });
    owner.child.kill('SIGKILL');
    await owner.exited;
    killedOwners.push(owner);
    kills++;
    await sleep(200 + random() * 800);
    owner = await startOwner(++gen);
  } else {
    const ms = 1_500 + random() * 4_000;
    events.push({ e: 'stop', gen, t: now() });
    owner.child.kill('SIGSTOP');
    await sleep(ms);
    owner.child.kill('SIGCONT');
    events.push({ e: 'cont', gen, t: now() });
    pauses++;
  }
}

// Stop everybody, then every handle syncs and dumps its map.
const everyone = [owner, ...remotes];
await Promise.all(everyone.map((node) => {
  const stopped = nextLine(node, (line) => line.stopped !== undefined);
  node.child.stdin.write('stop\n');
  return stopped;
}));
await Promise.all(everyone.map((node) => {
  const expected = node.role === 'owner' ? 3 : 1;
  let seen = 0;
  const dumped = nextLine(node, (line) => line.dump !== undefined && ++seen === expected);
  node.child.stdin.write('dump\n');
  return dumped;
}));
// The final kill, then the file as recovery finds it, twice.
events.push({ e: 'kill', gen, t: now() });
owner.child.kill('SIGKILL');
await owner.exited;
for (const remote of remotes) remote.child.stdin.write('exit\n');
await Promise.all(remotes.map(async (remote) => {
  const timer = setTimeout(() => remote.child.kill('SIGKILL'), 20_000);
  await remote.exited;
  clearTimeout(timer);
}));
const reopened = [];
for (let i = 0; i < 2; i++) {
  const cat = await Catalog.open(path);
  reopened.push(Object.fromEntries(cat.entries().map(([name, definition]) => [name, definition.w])));
  await cat.close();
}

// Checks.
if (values.history !== undefined) writeFileSync(values.history, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
const unavailable = [];
for (let i = 0; i < events.length; i++) {
  const event = events[i];
  if (event.e === 'stop') unavailable.push({ from: event.t, to: events.find((e, j) => j > i && e.e === 'cont').t + GRACE_MS });
  if (event.e === 'kill') unavailable.push({ from: event.t, to: (events.find((e, j) => j > i && e.e === 'ready')?.t ?? Number.POSITIVE_INFINITY) + GRACE_MS });
}
const history = buildHistory(lines, NAMES);
const final = new Map(Object.entries(reopened[0]));
const result = check(history, { names: NAMES, final, timeoutMs: TIMEOUT_MS, unavailable });
const ownerDump = [...dumps.values()].find((dump) => dump.owner);
const divergent = [...dumps.values()].filter((dump) => !isDeepStrictEqual(dump.entries, ownerDump?.entries)).map((dump) => ({ handle: dump.dump, err: dump.err }));
if (!isDeepStrictEqual(reopened[0], ownerDump?.entries) || !isDeepStrictEqual(reopened[0], reopened[1])) divergent.push({ handle: 'reopened file' });
const lags = percentiles(result.stale.lags);
const crashed = [...killedOwners, owner, ...remotes].filter((node) => /terminate called|Napi::|Abort|FATAL/.test(node.stderr)).map((node) => node.stderr.slice(-500));
const summary = {
  seconds: SECONDS,
  seed: SEED,
  kills,
  pauses,
  handles: new Set(lines.filter((line) => line.h !== undefined).map((line) => line.h)).size,
  acked: result.acked,
  unknownOutcome: result.unknown,
  reads: result.reads,
  lost: result.lost,
  readYourWrites: result.readYourWrites ?? 0,
  monotonicReads: result.monotonicReads ?? 0,
  readOfUnwrittenValue: result.readOfUnwrittenValue ?? 0,
  readFromFuture: result.readFromFuture ?? 0,
  linearizableNames: `${Object.values(result.linearizable).filter(Boolean).length}/${NAMES.length}`,
  nonLinearizable: result.nonLinearizable ?? 0,
  divergentMaps: divergent.length,
  pastDeadline: result.pastDeadline ?? 0,
  falseTimeouts: result.falseTimeout ?? 0,
  ownerTimeouts: result.ownerTimeout ?? 0,
  justifiedTimeouts: result.justifiedTimeouts ?? 0,
  aborts: crashed.length,
  remoteReadsWithoutSync: result.stale.reads,
  staleRemoteReads: result.stale.count,
  staleLagMs: lags,
};
const failed =
  summary.lost + summary.readYourWrites + summary.monotonicReads + summary.readOfUnwrittenValue + summary.readFromFuture + summary.nonLinearizable +
    summary.divergentMaps + summary.pastDeadline + summary.falseTimeouts + summary.ownerTimeouts + summary.aborts > 0;
if (values.json) console.log(JSON.stringify(summary));
else {
  console.log(Object.entries(summary).map(([key, value]) => `${key} ${typeof value === 'object' ? JSON.stringify(value) : value}`).join(', '));
}
if (failed) {
  console.error(JSON.stringify({ violations: result.violations.slice(0, 10), divergent, crashed }, null, 1).slice(0, 20_000));
  console.error(`catalog kept in ${dir}`);
  process.exit(1);
}
if (values.dir === undefined) rmSync(dir, { recursive: true, force: true });
