// The "extend the evidence" phases of issue 15, shared by test/reliability-*.test.ts (CI
// sizes) and test/soak/soak.mjs (long runs). Needs a built package (npm run build).
//
//   journalMutationFuzz  closed catalog with a known model; mutate the journal files; reopen
//                        with DuckDB healthy (exact model) and deleted (model or
//                        ERR_CATALOG_CORRUPT), twice
//   socketFuzz           hostile clients of <file>.sock (a child process) while the owner writes
//   recoveryCrash        SIGKILL at random points of open paths (roll-forward, rebuild,
//                        damaged journal, compaction)
//   syscallFaultSweep    strace-injected EIO / SIGKILL at the N-th journal, snapshot or WAL call
//
// Every phase returns a summary object (counts only, plus `failures`: details of the first
// few failing cases) and never throws for a property violation: callers assert on it.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeSync, closeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { Catalog } from 'duckcat';
import { seededRandom } from '../crash/value-hash.mjs';
import { modelAfter, opStream } from './reliability-ops.mjs';

const CHILD = fileURLToPath(new URL('./reliability-child.mjs', import.meta.url));
const SOCKET_CLIENT = fileURLToPath(new URL('./socket-fuzz-client.mjs', import.meta.url));
const COMPACT_AFTER = Symbol.for('duckcat.compactAfterBytes');
export const STRACE = ['/usr/bin/strace', '/bin/strace'].find((file) => existsSync(file));
const MAX_FAILURES_KEPT = 5;

// ---------------------------------------------------------------- shared helpers

function freshDir(parent, name) {
  const dir = join(parent, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

function copyDir(from, to) {
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (entry.isFile()) copyFileSync(join(from, entry.name), join(to, entry.name));
  }
}

function entriesOf(cat) {
  return new Map(cat.entries().map(([name, value]) => [name, JSON.parse(JSON.stringify(value))]));
}

function sameMap(a, b) {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (!b.has(key) || !isDeepStrictEqual(value, b.get(key))) return false;
  return true;
}

function diffMaps(expected, actual, limit = 5) {
  const out = [];
  for (const name of new Set([...expected.keys(), ...actual.keys()])) {
    if (!isDeepStrictEqual(expected.get(name), actual.get(name))) out.push({ name, expected: expected.get(name) ?? null, actual: actual.get(name) ?? null });
    if (out.length >= limit) break;
  }
  return out;
}

/** Opens twice (second open must find nothing to repair), returns { entries, recovery } or { error }. */
async function openTwice(path, options = {}) {
  let first;
  try {
    first = await Catalog.open(path, { timeoutMs: 30_000, ...options });
  } catch (error) {
    return { error: error.code ?? String(error), message: String(error?.message).slice(0, 300) };
  }
  const recovery = first.recovery?.kind ?? null;
  const entries = entriesOf(first);
  await first.close();
  let second;
  try {
    second = await Catalog.open(path, { timeoutMs: 30_000, ...options });
  } catch (error) {
    return { error: `second open: ${error.code ?? String(error)}`, message: String(error?.message).slice(0, 300), entries, recovery };
  }
  const again = entriesOf(second);
  const secondRecovery = second.recovery?.kind ?? null;
  await second.close();
  if (!sameMap(entries, again)) return { error: 'second open differs from the first', entries, recovery, diff: diffMaps(entries, again) };
  if (secondRecovery !== null) return { error: `second open repaired again (${secondRecovery})`, entries, recovery };
  return { entries, recovery };
}

/**
 * Runs test/fuzz/reliability-child.mjs (optionally under strace), collects its events.
 * `killAfterMs` SIGKILLs it that long after spawn (from outside).
 */
function runChild(path, config, { killAfterMs, strace, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve) => {
    const args = [CHILD, path, JSON.stringify(config)];
    const child = strace === undefined ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(STRACE, [...strace, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const events = [];
    let buffer = '';
    let stderr = '';
    let killedByUs = false;
    let hang = false;
    const killTimer = killAfterMs === undefined ? undefined : setTimeout(() => {
      killedByUs = child.exitCode === null;
      child.kill('SIGKILL');
    }, killAfterMs);
    const hangTimer = setTimeout(() => {
      hang = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        if (line.length > 0) {
          try {
            events.push(JSON.parse(line));
          } catch {
            // a line cut by the kill acknowledges nothing
          }
        }
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
    child.on('close', (code, signal) => {
      clearTimeout(killTimer);
      clearTimeout(hangTimer);
      resolve({ events, code, signal, killedByUs, hang, stderr });
    });
  });
}

/**
 * The write history a set of child runs reports: op k -> 'acked' | 'maybe' (issued, not
 * acknowledged: in flight at a kill, or failed with an error whose outcome is unknown).
 */
function history(seed, runs, pool, pad) {
  const status = new Map();
  const errors = new Map();
  for (const events of runs) {
    for (const event of events) {
      if (event.i !== undefined && !status.has(event.i)) status.set(event.i, 'maybe');
      if (event.a !== undefined) status.set(event.a, 'acked');
      if (event.e !== undefined) errors.set(event.e, event.code);
    }
  }
  const last = status.size === 0 ? -1 : Math.max(...status.keys());
  const ops = opStream(seed, 0, last + 1, pool, pad);
  return { ops, status, errors };
}

/**
 * Compares found entries with the history: each name must hold the state of its last
 * acknowledged op, or of an unacknowledged op issued after it. Classifies every other
 * state as `rolledBack` (an older state of that name: an earlier value, or present again
 * after an acknowledged drop, or absent before its first define) or `lost`. Also counts
 * failed ops whose effect is visible (`failedButLanded`).
 */
function judge(hist, found) {
  const { ops, status, errors } = hist;
  const perName = new Map();
  for (const op of ops) {
    const st = status.get(op.k);
    if (st === undefined) continue;
    // Before its first op a name is absent: that state stays allowed until an op on it is acknowledged.
    const entry = perName.get(op.name) ?? { states: [null], lastAcked: null, lastAckedIndex: 0, allowed: new Set([null]) };
    const state = op.op === 'drop' ? null : op.k;
    entry.states.push(state);
    if (st === 'acked') {
      entry.lastAcked = state;
      entry.lastAckedIndex = entry.states.length - 1;
      entry.allowed = new Set([state]);
    } else entry.allowed.add(state);
    perName.set(op.name, entry);
  }
  let lost = 0;
  let rolledBack = 0;
  let failedButLanded = 0;
  const mismatches = [];
  const acked = [...status.values()].filter((s) => s === 'acked').length;
  for (const name of new Set([...perName.keys(), ...found.keys()])) {
    const entry = perName.get(name) ?? { states: [null], lastAcked: null, lastAckedIndex: 0, allowed: new Set([null]) };
    const value = found.get(name);
    let state = null;
    if (value !== undefined) {
      state = typeof value?.k === 'number' ? value.k : 'foreign';
      const op = ops[state];
      if (state === 'foreign' || op === undefined || op.name !== name || !isDeepStrictEqual(op.value, value)) state = 'corrupt';
    }
    if (entry.allowed.has(state)) {
      if (state !== null && errors.has(state)) failedButLanded++;
      continue;
    }
    const older = entry.states.slice(0, entry.lastAckedIndex).includes(state);
    if (older) rolledBack++;
    else lost++;
    if (mismatches.length < 5) mismatches.push({ name, expected: [...entry.allowed], found: state, kind: older ? 'rolled back' : 'lost' });
  }
  return { acked, lost, rolledBack, failedButLanded, mismatches };
}

function percentile(values, p) {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

// ---------------------------------------------------------------- phase 1: journal mutations

const MUTATIONS = ['flip-bits', 'zero-block', 'truncate', 'duplicate-record', 'delete-segment', 'delete-snapshot'];

const mutationArb = fc.record({
  kind: fc.constantFrom(...MUTATIONS),
  file: fc.nat(),
  at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  bits: fc.integer({ min: 1, max: 8 }),
});

const frameStarts = (data) => {
  const frames = [];
  let offset = data.indexOf(0x0a) + 1; // snapshot magic line, or the first frame's end
  if (!data.toString('latin1', 0, 17).startsWith('duckcat-snapshot ')) offset = 0;
  for (;;) {
    const lengthEnd = data.indexOf(0x20, offset);
    if (data[offset] === undefined || data[offset] < 0x30 || data[offset] > 0x39 || lengthEnd < 0) break;
    const crcEnd = data.indexOf(0x20, lengthEnd + 1);
    const length = Number(data.toString('latin1', offset, lengthEnd));
    const end = crcEnd + 1 + length + 1;
    if (crcEnd < 0 || !Number.isSafeInteger(length) || data[end - 1] !== 0x0a) break;
    if (crc32(data.subarray(crcEnd + 1, end - 1)) !== Number.parseInt(data.toString('latin1', lengthEnd + 1, crcEnd), 16)) break;
    frames.push({ offset, end });
    offset = end;
  }
  return frames;
};

/** True when no intact record of `file` starts after the frame that holds byte `from`. */
function tailOnly(file, from) {
  const data = readFileSync(file);
  const intact = [];
  for (let offset = 0; offset < data.length; ) {
    const next = data.indexOf(0x0a, offset);
    if (next < 0) break;
    if (frameStarts(data.subarray(offset, next + 1)).length === 1) intact.push(offset);
    offset = next + 1;
  }
  return intact.every((start) => start < from);
}

/** Applies one mutation to the journal files beside `path`; returns what it did (null: nothing to do). */
export function mutate(path, mutation) {
  const dir = dirname(path);
  const prefix = basename(path);
  const files = readdirSync(dir).filter((n) => n.startsWith(`${prefix}.journal`) || n.startsWith(`${prefix}.snapshot`)).sort();
  const segments = files.filter((n) => /\.journal\.\d{12}$/.test(n));
  if (mutation.kind === 'delete-segment') {
    if (segments.length === 0) return null;
    const name = segments[mutation.file % segments.length];
    rmSync(join(dir, name));
    return { kind: 'delete-segment', file: name, tail: false };
  }
  if (mutation.kind === 'delete-snapshot') {
    if (!files.includes(`${prefix}.snapshot`)) return null;
    rmSync(join(dir, `${prefix}.snapshot`));
    return { kind: 'delete-snapshot', file: `${prefix}.snapshot`, tail: false };
  }
  const candidates = files.filter((n) => statSync(join(dir, n)).size > 0);
  if (candidates.length === 0) return null;
  const name = candidates[mutation.file % candidates.length];
  const file = join(dir, name);
  const data = readFileSync(file);
  const frames = frameStarts(data);
  const used = frames.at(-1)?.end ?? data.length;
  const isLog = name === `${prefix}.journal`;
  // "tail": the damage is in the live log and no intact record follows its first byte, so
  // it looks exactly like a torn tail (the README's "damaged last record" limit, which can
  // take several records when a block is zeroed or the log truncated). Judged after the
  // mutation, on the mutated bytes.
  if (mutation.kind === 'flip-bits') {
    const span = Math.max(1, used);
    const positions = [];
    const fd = openSync(file, 'r+');
    for (let b = 0; b < mutation.bits; b++) {
      const pos = Math.floor(((mutation.at + b * 0.618) % 1) * span);
      const one = Buffer.from([data[pos] ^ (1 << ((mutation.file + b) % 8))]);
      data[pos] = one[0];
      writeSync(fd, one, 0, 1, pos);
      positions.push(pos);
    }
    closeSync(fd);
    return { kind: 'flip-bits', file: name, pos: Math.min(...positions), positions, tail: isLog && tailOnly(file, Math.min(...positions)) };
  }
  if (mutation.kind === 'zero-block') {
    const blocks = Math.max(1, Math.ceil(Math.max(1, used) / 4096));
    const pos = Math.floor(mutation.at * blocks) * 4096;
    const length = Math.min(4096, data.length - pos);
    if (length <= 0) return null;
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(length), 0, length, pos);
    closeSync(fd);
    return { kind: 'zero-block', file: name, pos, tail: isLog && tailOnly(file, pos) };
  }
  if (mutation.kind === 'truncate') {
    const pos = Math.floor(mutation.at * Math.max(1, used));
    const fd = openSync(file, 'r+');
    ftruncateSync(fd, pos);
    closeSync(fd);
    return { kind: 'truncate', file: name, pos, tail: isLog && tailOnly(file, pos) };
  }
  // duplicate-record: a copy of one intact frame written right after it (what follows shifts on).
  if (frames.length === 0) return null;
  const frame = frames[Math.floor(mutation.at * frames.length)];
  const copy = data.subarray(frame.offset, frame.end);
  const rest = data.subarray(frame.end);
  const fd = openSync(file, 'r+');
  const tail = Buffer.concat([copy, rest]);
  writeSync(fd, tail, 0, tail.length, frame.end);
  closeSync(fd);
  return { kind: 'duplicate-record', file: name, pos: frame.end, record: frames.indexOf(frame), of: frames.length, tail: false };
}

/**
 * Phase 1. `runs` fast-check cases; each builds a catalog of `ops` sync writes (with
 * compaction every 4 KiB), closes it, applies 1–2 mutations, then checks (a) with the
 * DuckDB file healthy: reopen (twice) equals the model exactly; (b) with it deleted: the
 * model, or ERR_CATALOG_CORRUPT (twice, and the journal files left as they were).
 */
export async function journalMutationFuzz({ runs, dir, seed = Date.now() % 2 ** 31, ops = 60, log = () => undefined }) {
  const summary = { phase: 'journal-mutation', seed, cases: 0, healthy: { equal: 0, recoveries: {} }, deleted: { equal: 0, refused: 0, evidenceErased: 0, erasedBatchesLost: 0, maxErasedBatchesLost: 0, recoveries: {} }, skipped: 0, failures: [], mutations: {} };
  let caseNo = 0;
  const property = fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 30 }), fc.array(mutationArb, { minLength: 1, maxLength: 2 }), async (modelSeed, mutations) => {
    const n = caseNo++;
    const base = freshDir(dir, `mut-${n}-base`);
    const path = join(base, 'c.duckdb');
    const cat = await Catalog.open(path, { [COMPACT_AFTER]: 4096 });
    const stream = opStream(modelSeed, 0, ops, 40, 120);
    for (const op of stream) {
      if (op.op === 'define') cat.defineSync(op.name, op.value);
      else if (op.op === 'replace') cat.replaceSync(op.name, op.value);
      else cat.dropSync(op.name);
    }
    await cat.close();
    const model = modelAfter(modelSeed, ops, 40, 120);
    const applied = mutations.map((m) => mutate(path, m)).filter((m) => m !== null);
    // Tail-ness is judged on the final bytes: a later cut can erase an earlier mutation.
    for (const m of applied) if (m.file === 'c.duckdb.journal' && existsSync(`${path}.journal`)) m.tail = tailOnly(`${path}.journal`, m.pos);
    if (applied.length === 0) {
      summary.skipped++;
      rmSync(base, { recursive: true, force: true });
      return true;
    }
    summary.cases++;
    for (const m of applied) summary.mutations[m.kind] = (summary.mutations[m.kind] ?? 0) + 1;
    const fail = (scenario, detail) => {
      if (summary.failures.length < MAX_FAILURES_KEPT) summary.failures.push({ scenario, seed, case: n, modelSeed, mutations: applied, ...detail, kept: base });
      return false;
    };
    // (a) DuckDB healthy
    const healthy = join(dir, `mut-${n}-a`);
    copyDir(base, healthy);
    const a = await openTwice(join(healthy, 'c.duckdb'));
    if (a.error !== undefined) return fail('healthy', { error: a.error, message: a.message });
    if (!sameMap(a.entries, model)) return fail('healthy', { diff: diffMaps(model, a.entries) });
    summary.healthy.equal++;
    summary.healthy.recoveries[a.recovery ?? 'none'] = (summary.healthy.recoveries[a.recovery ?? 'none'] ?? 0) + 1;
    // (b) DuckDB deleted
    const deleted = join(dir, `mut-${n}-b`);
    copyDir(base, deleted);
    const bPath = join(deleted, 'c.duckdb');
    rmSync(bPath, { force: true });
    rmSync(`${bPath}.wal`, { force: true });
    const before = journalBytes(bPath);
    const b = await openTwice(bPath);
    if (b.error !== undefined) {
      if (b.error !== 'ERR_CATALOG_CORRUPT') return fail('deleted', { error: b.error, message: b.message });
      const again = await openTwice(bPath);
      if (again.error !== 'ERR_CATALOG_CORRUPT') return fail('deleted', { error: `second refusal: ${again.error ?? 'opened'}` });
      const after = journalBytes(bPath);
      for (const [name, bytes] of before) if (!after.has(name) || !after.get(name).equals(bytes)) return fail('deleted', { error: `refusal changed ${name}` });
      summary.deleted.refused++;
    } else if (sameMap(b.entries, model)) {
      summary.deleted.equal++;
    } else if (applied.some((m) => m.file === 'c.duckdb.journal.mark') && applied.some((m) => m.tail || m.kind === 'delete-segment' || m.kind === 'delete-snapshot') && prefixLength(modelSeed, ops, b.entries) !== undefined) {
      // Both witnesses erased at once, with the DuckDB file: the journal's end (zeroed, cut,
      // or the newest sealed log removed: it then reads as a torn tail) or its beginning (the
      // snapshot, when the live log holds no batch yet: an empty log reads as a journal that
      // starts at batch 1), and its mark (`<file>.journal.mark`, which alone says how far the
      // journal reached). The catalog is exactly an older one, a consistent prefix. Counted
      // as the known limit, not failed. An older catalog with the mark intact is a failure
      // (test/journal-damage-lost-file.test.ts).
      const m = prefixLength(modelSeed, ops, b.entries);
      summary.deleted.evidenceErased++;
      summary.deleted.erasedBatchesLost += ops - m;
      summary.deleted.maxErasedBatchesLost = Math.max(summary.deleted.maxErasedBatchesLost, ops - m);
    } else {
      return fail('deleted', { recovery: b.recovery, diff: diffMaps(model, b.entries) });
    }
    if (b.recovery !== undefined) summary.deleted.recoveries[b.recovery ?? 'none'] = (summary.deleted.recoveries[b.recovery ?? 'none'] ?? 0) + 1;
    for (const d of [base, healthy, deleted]) rmSync(d, { recursive: true, force: true });
    log(n, summary);
    return true;
  });
  try {
    await fc.assert(property, { numRuns: runs, seed, endOnFailure: true });
  } catch (error) {
    if (summary.failures.length === 0) summary.failures.push({ error: String(error?.message ?? error).slice(0, 2000) });
  }
  return summary;
}

/** The m < ops whose model `entries` equals (the catalog after ops 0 .. m - 1), if any. */
function prefixLength(modelSeed, ops, entries) {
  for (let m = ops - 1; m >= 0; m--) if (sameMap(modelAfter(modelSeed, m, 40, 120), entries)) return m;
  return undefined;
}

function journalBytes(path) {
  const dir = dirname(path);
  const prefix = basename(path);
  return new Map(readdirSync(dir).filter((n) => n.startsWith(`${prefix}.journal`) || n.startsWith(`${prefix}.snapshot`)).map((n) => [n, readFileSync(join(dir, n))]));
}

// ---------------------------------------------------------------- phase 2: the socket

/**
 * Phase 2. The owner (this process) writes `own-*` names as fast as it can (sync, latency
 * recorded per call) while test/fuzz/socket-fuzz-client.mjs runs its hostile clients for
 * `durationMs`. Then: one more write, the owner's map against a reopen, every `own-*` name
 * holding the owner's last value. Reports p50/p99/max owner write latency with and
 * without the clients (a quiet baseline first), and RSS before/after.
 */
export async function socketFuzz({ dir, seed = Date.now() % 2 ** 31, durationMs = 5_000, baselineMs = 1_000 }) {
  const path = join(freshDir(dir, `socket-${seed}`), 'c.duckdb');
  const summary = { phase: 'socket', seed, durationMs, ownerWrites: 0, ownerFailures: 0, latencyMs: {}, baselineLatencyMs: {}, rssMB: {}, client: null, writerAlive: false, mapEqualsFile: false, ownerNamesIntact: false, failures: [] };
  const cat = await Catalog.open(path);
  const owned = new Map();
  let i = 0;
  const writeOnce = () => {
    const name = `own-${i % 500}`;
    const value = { i, at: Date.now() };
    const started = performance.now();
    try {
      if (owned.has(name)) cat.replaceSync(name, value);
      else cat.defineSync(name, value);
      owned.set(name, value);
      summary.ownerWrites++;
    } catch (error) {
      summary.ownerFailures++;
      if (summary.failures.length < MAX_FAILURES_KEPT) summary.failures.push({ ownerWrite: name, error: error.code ?? String(error) });
    }
    i++;
    return performance.now() - started;
  };
  const stats = (values) => ({ n: values.length, p50: +percentile(values, 50).toFixed(2), p99: +percentile(values, 99).toFixed(2), max: +Math.max(0, ...values).toFixed(2) });
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  // Baseline: the same loop with no clients.
  const quiet = [];
  for (const end = performance.now() + baselineMs; performance.now() < end; ) {
    quiet.push(writeOnce());
    if (quiet.length % 20 === 0) await sleep(1);
  }
  summary.baselineLatencyMs = stats(quiet);
  summary.rssMB.before = Math.round(process.memoryUsage().rss / 2 ** 20);
  const client = spawn(process.execPath, [SOCKET_CLIENT, path, String(seed), String(durationMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let clientOut = '';
  let clientErr = '';
  client.stdout.setEncoding('utf8').on('data', (c) => (clientOut += c));
  client.stderr.setEncoding('utf8').on('data', (c) => (clientErr = (clientErr + c).slice(-2000)));
  const clientDone = new Promise((resolve) => client.on('close', resolve));
  let clientExited = false;
  clientDone.then(() => (clientExited = true));
  const busy = [];
  let peakRss = 0;
  const hardStop = performance.now() + durationMs + 30_000;
  while (!clientExited && performance.now() < hardStop) {
    busy.push(writeOnce());
    // Yield now and then so this process sees the client's exit; the writer runs on its own thread.
    if (busy.length % 20 === 0) {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      await sleep(1);
    }
  }
  if (!clientExited) {
    client.kill('SIGKILL');
    summary.failures.push({ error: 'the fuzz client did not finish' });
  }
  await clientDone;
  try {
    summary.client = JSON.parse(clientOut.trim().split('\n').pop());
  } catch {
    summary.failures.push({ error: `fuzz client output: ${clientOut.slice(-300)} ${clientErr}` });
  }
  summary.latencyMs = stats(busy);
  summary.rssMB.peak = Math.round(peakRss / 2 ** 20);
  await sleep(200);
  summary.rssMB.after = Math.round(process.memoryUsage().rss / 2 ** 20);
  // The writer is alive and takes a write.
  try {
    cat.defineSync('own-final', { done: true });
    owned.set('own-final', { done: true });
    summary.writerAlive = true;
  } catch (error) {
    summary.failures.push({ finalWrite: error.code ?? String(error) });
  }
  const ownerMap = entriesOf(cat);
  await cat.close();
  const reopened = await openTwice(path);
  if (reopened.error !== undefined) summary.failures.push({ reopen: reopened.error, message: reopened.message });
  else {
    summary.mapEqualsFile = sameMap(ownerMap, reopened.entries);
    if (!summary.mapEqualsFile) summary.failures.push({ mapVsFile: diffMaps(ownerMap, reopened.entries) });
    const ownerNames = new Map([...reopened.entries].filter(([name]) => name.startsWith('own-')));
    summary.ownerNamesIntact = sameMap(ownerNames, owned);
    if (!summary.ownerNamesIntact) summary.failures.push({ ownerNames: diffMaps(owned, ownerNames) });
    summary.entriesAfter = reopened.entries.size;
  }
  if (summary.ownerFailures > 0 && summary.failures.length === 0) summary.failures.push({ ownerFailures: summary.ownerFailures });
  rmSync(dirname(path), { recursive: true, force: true });
  return summary;
}

// ---------------------------------------------------------------- phase 3: kills during recovery

export const RECOVERY_SCENARIOS = ['roll-forward', 'rebuild', 'journal-damaged', 'compaction'];
const HELD = { applyDelayMs: 60_000, options: { maxLagRows: 1_000_000, maxLagMs: 600_000 } };

/**
 * The prepared starting state of a scenario (built once per phase run, copied per trial):
 * `setupOps` acknowledged sync writes, then
 * - roll-forward: DuckDB held a minute behind, the writer SIGKILLed (every batch only in the journal);
 * - rebuild: clean close, DuckDB file deleted;
 * - journal-damaged: clean close with compaction, one bit flipped in the middle of the live log;
 * - compaction: clean close (the trial's opener compacts every 4 KiB while writing).
 */
async function prepareScenario(dir, scenario, seed, setupOps) {
  const base = freshDir(dir, `recovery-base-${scenario}`);
  const path = join(base, 'c.duckdb');
  const config = { seed, ops: setupOps, pool: 400, pad: 64, end: scenario === 'roll-forward' ? 'kill' : 'close', ...(scenario === 'roll-forward' ? HELD : {}), ...(scenario === 'journal-damaged' ? { compactAfterBytes: 256 * 1024 } : {}) };
  const run = await runChild(path, config);
  const acked = run.events.filter((e) => e.a !== undefined).length;
  if (acked !== setupOps) throw new Error(`setup of ${scenario}: ${acked} of ${setupOps} acknowledged (${run.stderr})`);
  if (scenario === 'rebuild') {
    rmSync(path, { force: true });
    rmSync(`${path}.wal`, { force: true });
  }
  if (scenario === 'journal-damaged') {
    const log = `${path}.journal`;
    const data = readFileSync(log);
    const frames = frameStarts(data);
    if (frames.length < 3) throw new Error(`setup of journal-damaged: the live log holds ${frames.length} records`);
    const frame = frames[Math.floor(frames.length / 2)];
    const pos = frame.offset + Math.floor((frame.end - frame.offset) / 2);
    const fd = openSync(log, 'r+');
    writeSync(fd, Buffer.from([data[pos] ^ 0x10]), 0, 1, pos);
    closeSync(fd);
  }
  return { base, events: run.events };
}

function openerConfig(scenario, seed, setupOps, openerOps) {
  return { seed, first: setupOps, ops: openerOps, pool: 400, pad: 64, end: 'close', ...(scenario === 'compaction' ? { compactAfterBytes: 4096 } : {}) };
}

/**
 * Phase 3. `trials` trials over the scenarios in turn. Each copies the scenario's prepared
 * state, starts an opener (which then writes `openerOps` more) and SIGKILLs it at a random
 * moment within `maxKillMs` of its spawn; then a second opener that only opens, killed
 * within `maxKillMs / 2`; then reopens twice here and compares with the model.
 */
export async function recoveryCrash({ trials, dir, seed = 1, setupOps = 3_000, openerOps = 300, maxKillMs = 2_500, scenarios = RECOVERY_SCENARIOS, log = () => undefined }) {
  const summary = { phase: 'recovery-crash', seed, setupOps, calibration: {}, trials: 0, acked: 0, lost: 0, rolledBack: 0, refused: 0, reopenFailures: 0, hangs: 0, killedDuringOpen: 0, killedAfterReady: 0, finishedBeforeKill: 0, recoveries: {}, perScenario: {}, failures: [] };
  const prepared = new Map();
  for (const scenario of scenarios) {
    const state = await prepareScenario(dir, scenario, seed, setupOps);
    // Calibration: how long an undisturbed opener takes to be ready, and to finish writing,
    // so kills land in the open path (two thirds of the trials) or during the writes after it.
    const probeDir = join(dir, `recovery-probe-${scenario}`);
    copyDir(state.base, probeDir);
    const probe = await runChild(join(probeDir, 'c.duckdb'), openerConfig(scenario, seed, setupOps, openerOps));
    rmSync(probeDir, { recursive: true, force: true });
    const readyMs = probe.events.find((e) => e.ready !== undefined)?.ms ?? maxKillMs;
    const wroteMs = probe.events.find((e) => e.wrote !== undefined)?.ms ?? readyMs + 500;
    summary.calibration[scenario] = { readyMs, wroteMs };
    prepared.set(scenario, { ...state, readyMs, wroteMs });
  }
  const random = seededRandom(seed ^ 0xdead);
  for (let t = 0; t < trials; t++) {
    const scenario = scenarios[t % scenarios.length];
    const { base, events: setupEvents, readyMs, wroteMs } = prepared.get(scenario);
    const trialDir = join(dir, `recovery-${t}`);
    copyDir(base, trialDir);
    const path = join(trialDir, 'c.duckdb');
    const r = random();
    const window = scenario === 'compaction' ? wroteMs : r < 2 / 3 ? readyMs : wroteMs;
    const killAt = Math.min(maxKillMs * 10, Math.floor(random() * window * 1.05));
    const opener = await runChild(path, openerConfig(scenario, seed, setupOps, openerOps), { killAfterMs: killAt, timeoutMs: 60_000 });
    const second = await runChild(path, { seed, ops: 0, end: 'close' }, { killAfterMs: Math.floor(random() * readyMs * 1.2), timeoutMs: 60_000 });
    const readyAt = opener.events.findIndex((e) => e.ready !== undefined);
    if (!opener.killedByUs) summary.finishedBeforeKill++;
    else if (readyAt < 0) summary.killedDuringOpen++;
    else summary.killedAfterReady++;
    const refusal = [opener, second].map((r) => r.events.find((e) => e.openError !== undefined)).find((e) => e !== undefined);
    if (refusal !== undefined) summary.refused++;
    if (opener.hang || second.hang) summary.hangs++;
    const verified = await openTwice(path);
    const hist = history(seed, [setupEvents, opener.events], 400, 64);
    summary.trials++;
    const stat = (summary.perScenario[scenario] ??= { trials: 0, acked: 0, lost: 0, rolledBack: 0, killedDuringOpen: 0 });
    stat.trials++;
    if (opener.killedByUs && readyAt < 0) stat.killedDuringOpen++;
    const acked = [...hist.status.values()].filter((s) => s === 'acked').length;
    summary.acked += acked;
    stat.acked += acked;
    let failed = opener.hang || second.hang || refusal !== undefined;
    let verdict;
    if (verified.error !== undefined) {
      summary.reopenFailures++;
      failed = true;
      verdict = { error: verified.error, message: verified.message };
    } else {
      const judged = judge(hist, verified.entries);
      summary.lost += judged.lost;
      summary.rolledBack += judged.rolledBack;
      stat.lost += judged.lost;
      stat.rolledBack += judged.rolledBack;
      const firstRecovery = opener.events.find((e) => e.ready !== undefined)?.recovery ?? verified.recovery ?? 'none';
      summary.recoveries[firstRecovery] = (summary.recoveries[firstRecovery] ?? 0) + 1;
      if (judged.lost + judged.rolledBack > 0) failed = true;
      verdict = judged;
    }
    if (failed) {
      if (summary.failures.length < MAX_FAILURES_KEPT) summary.failures.push({ trial: t, scenario, killAt, refusal, hang: opener.hang || second.hang, ...verdict, openerStderr: opener.stderr.slice(-500), kept: trialDir });
    } else rmSync(trialDir, { recursive: true, force: true });
    log(t, summary);
  }
  for (const { base } of prepared.values()) rmSync(base, { recursive: true, force: true });
  return summary;
}

// ---------------------------------------------------------------- phase 4: syscall faults

/** What the sweep injects into: a file (relative to the catalog path) and its syscalls. */
export const FAULT_TARGETS = {
  'journal-pwrite': { suffix: '.journal', calls: 'pwrite64,write' },
  'journal-fdatasync': { suffix: '.journal', calls: 'fdatasync,fsync' },
  'snapshot-write': { suffix: '.snapshot.tmp', calls: 'write,pwrite64,fsync,fdatasync' },
  'snapshot-rename': { suffix: '.snapshot.tmp', calls: 'rename,renameat,renameat2' },
  'wal-write': { suffix: '.wal', calls: 'write,pwrite64,pwritev' },
  'wal-fsync': { suffix: '.wal', calls: 'fsync,fdatasync' },
};

/**
 * Phase 4. For each target × fault (`EIO`, `SIGKILL`) × N in `whens`: a fresh catalog, the
 * child under strace writing `ops` sync writes (compaction every 4 KiB, so snapshots are
 * written and renamed), the N-th matching call failing; then reopen twice and compare.
 * `unreported`: trials that lost or rolled back an acknowledged write though no caller saw
 * an error (and the process was not killed).
 */
export async function syscallFaultSweep({ dir, seed = 7, targets = Object.keys(FAULT_TARGETS), faults = ['EIO', 'SIGKILL'], whens = [1, 3, 8], ops = 120, log = () => undefined }) {
  const summary = { phase: 'syscall-faults', seed, trials: 0, faultsFired: 0, acked: 0, lost: 0, rolledBack: 0, unreported: 0, failedButLanded: 0, callerErrors: {}, refused: 0, reopenFailures: 0, recoveries: {}, perTarget: {}, failures: [] };
  if (STRACE === undefined) return { ...summary, skipped: 'no strace' };
  let t = 0;
  for (const target of targets) {
    const { suffix, calls } = FAULT_TARGETS[target];
    for (const fault of faults) {
      for (const when of whens) {
        const trialDir = freshDir(dir, `fault-${t}`);
        const path = join(trialDir, 'c.duckdb');
        const inject = fault === 'SIGKILL' ? `signal=SIGKILL:when=${when}` : `error=${fault}:when=${when}`;
        const strace = ['-f', '-qq', '-o', '/dev/null', '-P', `${path}${suffix}`, '-e', `trace=${calls}`, '-e', `inject=${calls}:${inject}`];
        const run = await runChild(path, { seed: seed + t, ops, pool: 60, pad: 200, compactAfterBytes: 4096, end: 'close', options: { commit: 'journal' } }, { strace, timeoutMs: 120_000 });
        const errors = run.events.filter((e) => e.e !== undefined);
        const closeError = run.events.find((e) => e.closeError !== undefined);
        const killed = run.signal === 'SIGKILL' || run.code === 137 || (run.code === null && run.signal !== null);
        const seenByCaller = errors.length > 0 || closeError !== undefined || run.events.some((e) => e.openError !== undefined);
        for (const e of errors) summary.callerErrors[e.code] = (summary.callerErrors[e.code] ?? 0) + 1;
        if (closeError !== undefined) summary.callerErrors[`close:${closeError.closeError}`] = (summary.callerErrors[`close:${closeError.closeError}`] ?? 0) + 1;
        const fired = seenByCaller || killed;
        if (fired) summary.faultsFired++;
        const hist = history(seed + t, [run.events], 60, 200);
        const verified = await openTwice(path);
        summary.trials++;
        const stat = (summary.perTarget[`${target}/${fault}`] ??= { trials: 0, fired: 0, acked: 0, lost: 0, rolledBack: 0 });
        stat.trials++;
        if (fired) stat.fired++;
        let failed = run.hang;
        let verdict = {};
        if (verified.error !== undefined) {
          if (verified.error === 'ERR_CATALOG_CORRUPT') summary.refused++;
          summary.reopenFailures++;
          failed = true;
          verdict = { error: verified.error, message: verified.message };
        } else {
          const judged = judge(hist, verified.entries);
          summary.acked += judged.acked;
          summary.lost += judged.lost;
          summary.rolledBack += judged.rolledBack;
          summary.failedButLanded += judged.failedButLanded;
          stat.acked += judged.acked;
          stat.lost += judged.lost;
          stat.rolledBack += judged.rolledBack;
          summary.recoveries[verified.recovery ?? 'none'] = (summary.recoveries[verified.recovery ?? 'none'] ?? 0) + 1;
          if (judged.lost + judged.rolledBack > 0) {
            failed = true;
            if (!seenByCaller && !killed) summary.unreported++;
          }
          verdict = judged;
        }
        if (failed) {
          if (summary.failures.length < MAX_FAILURES_KEPT) summary.failures.push({ target, fault, when, seenByCaller, killed, hang: run.hang, exit: [run.code, run.signal], ...verdict, stderr: run.stderr.slice(-400), kept: trialDir });
        } else rmSync(trialDir, { recursive: true, force: true });
        log(t, summary);
        t++;
      }
    }
  }
  return summary;
}

/** A scratch directory for a phase run. */
export function scratchDir(prefix = 'duckcat-reliability-') {
  return mkdtempSync(join(tmpdir(), prefix));
}
