// Soak phases for issue 12 items 3 and 4 and the descriptor/thread evidence, run by
// test/soak/soak.mjs (flags --long-paths, --read-only-holder, --fd-cycles). Needs a built
// package. Each returns a summary (counts, plus `failures`: the first few failing trials)
// and never throws for a property violation.
//
//   longPaths       catalog paths of seeded lengths (90-400 characters, file names up to
//                   120): the owner serves, a child process connects and writes, both
//                   agree, the socket is 0600, and nothing is left after close; every
//                   third trial first SIGKILLs an owner and reopens after it
//   readOnlyHolder  a child holds the catalog read-only: connect must throw
//                   ERR_CATALOG_LOCKED with holder { pid, readOnly: true }; the child then
//                   closes or is SIGKILLed, and the next open must succeed with no marker left
//   fdCycles        open/write/close cycles in this process, and connect/write/close cycles
//                   against an owner child: /proc/self/fd and /proc/self/task before/after
import { spawn } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { Catalog } from 'duckcat';
import { seededRandom } from '../crash/value-hash.mjs';

const fixture = (name) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const MAX_FAILURES_KEPT = 5;

/** Runs a fixture; resolves with its exit code and output (kills it after `timeoutMs`). */
function run(name, args, timeoutMs = 60_000) {
  const child = spawn(process.execPath, [fixture(name), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const result = { child, stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk) => (result.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (result.stderr += chunk));
  result.done = new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
  result.line = async (pattern) => {
    for (let waited = 0; waited < timeoutMs; waited += 20) {
      const found = result.stdout.split('\n').find((line) => pattern.test(line));
      if (found !== undefined) return found;
      if (child.exitCode !== null || child.signalCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no line matching ${pattern}: ${result.stdout} ${result.stderr}`);
  };
  return result;
}

/** A catalog path of `length` characters under `root`, in nested 0755 directories. */
function pathOfLength(root, length, base) {
  let dir = root;
  for (;;) {
    const remaining = length - (dir.length + 1 + base.length);
    if (remaining <= 0) break;
    let segment = Math.min(60, Math.max(1, remaining - 1));
    if (remaining - 1 - segment === 1) segment--;
    dir = join(dir, 'd'.repeat(Math.max(1, segment)));
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  }
  return join(dir, base);
}

/** Sockets and private binding directories in the catalog's directory. */
function socketLeftovers(path) {
  const dir = dirname(path);
  return readdirSync(dir).filter((entry) => entry.startsWith(`.${basename(path)}.sock`) || lstatSync(join(dir, entry)).isSocket());
}

function readerMarkers(path) {
  return readdirSync(dirname(path)).filter((entry) => entry.startsWith(`${basename(path)}.reader-`));
}

function keep(summary, failure) {
  summary.failed++;
  if (summary.failures.length < MAX_FAILURES_KEPT) summary.failures.push(failure);
}

export async function longPaths({ trials, dir, seed = 1, log = () => undefined }) {
  const random = seededRandom(seed);
  const summary = { phase: 'long-paths', seed, trials: 0, failed: 0, killedOwners: 0, longestPath: 0, failures: [] };
  const root = join(dir, 'long-paths');
  mkdirSync(root, { recursive: true, mode: 0o755 });
  chmodSync(root, 0o755);
  for (let trial = 0; trial < trials; trial++) {
    const base = `${'c'.repeat(1 + Math.floor(random() * 112))}.duckdb`;
    const length = Math.max(root.length + base.length + 3, 90 + Math.floor(random() * 311));
    const trialRoot = join(root, String(trial));
    mkdirSync(trialRoot, { mode: 0o755 });
    const path = pathOfLength(trialRoot, length, base);
    summary.trials++;
    summary.longestPath = Math.max(summary.longestPath, path.length);
    try {
      if (trial % 3 === 2) {
        const killed = run('own-catalog.mjs', [path]);
        await killed.line(/^owning/);
        killed.child.kill('SIGKILL');
        await killed.done;
        summary.killedOwners++;
      }
      const owner = await Catalog.open(path);
      const mode = lstatSync(`${path}.sock`).mode & 0o777;
      if (mode !== 0o600) throw new Error(`socket mode ${mode.toString(8)}`);
      owner.replaceSync('before', trial);
      const client = run('remote-client.mjs', [path, String(trial), '4']);
      const { code } = await client.done;
      if (code !== 0) throw new Error(`client exited ${code}: ${client.stderr.slice(0, 300)}`);
      const seen = new Map(JSON.parse(client.stdout).entries);
      if (!isDeepStrictEqual(seen, new Map(owner.entries()))) throw new Error('the client and the owner disagree');
      await owner.close();
      const left = socketLeftovers(path);
      if (left.length > 0) throw new Error(`left behind: ${left.join(', ')}`);
    } catch (error) {
      keep(summary, { trial, length: path.length, base: base.length, error: String(error?.message ?? error).slice(0, 400) });
    }
    log(trial, summary);
  }
  return summary;
}

export async function readOnlyHolder({ trials, dir, seed = 1, log = () => undefined }) {
  const random = seededRandom(seed);
  const summary = { phase: 'read-only-holder', seed, trials: 0, failed: 0, killedReaders: 0, lockedWithHolder: 0, failures: [] };
  for (let trial = 0; trial < trials; trial++) {
    const path = join(dir, `read-only-${trial}.duckdb`);
    summary.trials++;
    const readers = [];
    try {
      const cat = await Catalog.open(path);
      cat.replaceSync('n', trial);
      await cat.close();
      const count = 1 + Math.floor(random() * 2);
      for (let i = 0; i < count; i++) readers.push(run('hold-catalog.mjs', [path, '--read-only']));
      const pids = [];
      for (const reader of readers) pids.push(Number((await reader.line(/^ready \d+$/)).split(' ')[1]));
      const error = await Catalog.connect(path).then(
        async (remote) => {
          await remote.close();
          return new Error('connect succeeded while only read-only processes hold the file');
        },
        (failure) => failure,
      );
      if (error?.code !== 'ERR_CATALOG_LOCKED' || error.holder?.readOnly !== true || !pids.includes(error.holder.pid)) {
        throw new Error(`connect: ${error?.code} ${error?.message}`);
      }
      summary.lockedWithHolder++;
      const kill = random() < 0.5;
      for (const reader of readers) {
        if (kill) reader.child.kill('SIGKILL');
        else reader.child.stdin.end('close\n');
        await reader.done;
      }
      if (kill) summary.killedReaders += readers.length;
      const owner = await Catalog.open(path);
      const markers = readerMarkers(path);
      if (markers.length > 0) throw new Error(`markers left: ${markers.join(', ')}`);
      if (owner.get('n') !== trial) throw new Error('the owner does not see the reader-era value');
      await owner.close();
    } catch (error) {
      keep(summary, { trial, error: String(error?.message ?? error).slice(0, 400) });
    } finally {
      for (const reader of readers) reader.child.kill('SIGKILL');
    }
    log(trial, summary);
  }
  return summary;
}

const counts = () => ({ fds: readdirSync('/proc/self/fd').length, threads: readdirSync('/proc/self/task').length });

async function settled(before) {
  let now = counts();
  for (let i = 0; i < 50 && (now.fds > before.fds + 4 || now.threads > before.threads + 2); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    now = counts();
  }
  return now;
}

export async function fdCycles({ cycles, dir, log = () => undefined }) {
  const connects = Math.max(1, Math.round(cycles / 4));
  const summary = { phase: 'fd-cycles', trials: cycles + connects, failed: 0, openCycles: cycles, connectCycles: connects, failures: [] };
  const path = join(dir, 'fd-cycles.duckdb');
  const warm = await Catalog.open(path);
  warm.replaceSync('n', 0);
  await warm.close();
  const before = counts();
  for (let i = 1; i <= cycles; i++) {
    try {
      const cat = await Catalog.open(path);
      cat.replaceSync('n', i);
      await cat.close();
    } catch (error) {
      keep(summary, { cycle: i, error: String(error?.message ?? error).slice(0, 400) });
    }
    log(i - 1, summary);
  }
  const afterOpen = await settled(before);
  // A file name long enough that every connect goes through a /proc/self/fd alias.
  const remotePath = join(dir, `${'r'.repeat(100)}.duckdb`);
  const owner = run('own-catalog.mjs', [remotePath], 600_000);
  await owner.line(/^owning/);
  const warmRemote = await Catalog.connect(remotePath);
  await warmRemote.close();
  const beforeConnect = counts();
  for (let i = 1; i <= connects; i++) {
    try {
      const remote = await Catalog.connect(remotePath);
      remote.replaceSync('m', i);
      await remote.close();
    } catch (error) {
      keep(summary, { connect: i, error: String(error?.message ?? error).slice(0, 400) });
    }
  }
  const afterConnect = await settled(beforeConnect);
  owner.child.kill('SIGKILL');
  await owner.done;
  Object.assign(summary, { fdsBefore: before.fds, fdsAfterOpens: afterOpen.fds, threadsBefore: before.threads, threadsAfterOpens: afterOpen.threads });
  Object.assign(summary, { fdsBeforeConnects: beforeConnect.fds, fdsAfterConnects: afterConnect.fds, threadsBeforeConnects: beforeConnect.threads, threadsAfterConnects: afterConnect.threads });
  if (afterOpen.fds > before.fds + 4 || afterOpen.threads > before.threads + 2) keep(summary, { leak: 'open/close', before, after: afterOpen });
  if (afterConnect.fds > beforeConnect.fds + 4 || afterConnect.threads > beforeConnect.threads + 2) keep(summary, { leak: 'connect/close', before: beforeConnect, after: afterConnect });
  return summary;
}
