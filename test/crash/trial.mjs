// One crash trial: start test/fixtures/crash-writer.mjs on a fresh catalog file, SIGKILL
// it at a random moment (while writing, during a checkpoint or during close), reopen the
// file in a fresh process and check every acknowledged write against what is stored.
// Shared by test/crash-recovery.test.ts (CI sizes) and test/soak/soak.mjs (long runs).
import { spawn } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from './value-hash.mjs';

const WRITER = fileURLToPath(new URL('../fixtures/crash-writer.mjs', import.meta.url));
const VERIFY = fileURLToPath(new URL('../fixtures/crash-verify.mjs', import.meta.url));
const READY_TIMEOUT_MS = 30_000;
const RUN_TIMEOUT_MS = 60_000;
const VERIFY_TIMEOUT_MS = 60_000;

export const MODES = ['random', 'checkpoint', 'close'];

/** The mode a seed gets: half the trials kill mid-stream, a quarter during a checkpoint, a quarter during close. */
export function modeFor(seed) {
  const r = seededRandom(seed ^ 0x5eed)();
  return r < 0.5 ? 'random' : r < 0.75 ? 'checkpoint' : 'close';
}

/**
 * Runs one trial. `journal: false` opens the writer's catalog without duckcat's recovery
 * journal, so the trial measures DuckDB's own WAL alone.
 * @param {{ dir: string, seed: number, mode?: string, maxKillDelayMs?: number, journal?: boolean }} options
 */
export async function runTrial({ dir, seed, mode = modeFor(seed), maxKillDelayMs = 800, journal = true }) {
  const started = performance.now();
  const path = join(dir, `trial-${seed}.duckdb`);
  const random = seededRandom(seed ^ 0x7a11);
  const killAtCheckpoint = 1 + Math.floor(random() * 4);
  const killDelayMs = mode === 'random' ? Math.floor(random() ** 1.5 * maxKillDelayMs) : Math.floor(random() * 10);
  const run = await runWriter(path, seed, mode, journal, (event, kill) => {
    if (mode === 'random' && event.ready !== undefined) kill(killDelayMs);
    if (mode === 'checkpoint' && event.p === 'checkpoint-start' && event.k === killAtCheckpoint) kill(killDelayMs);
    if (mode === 'close' && event.p === 'close-start') kill(killDelayMs);
  });
  const result = {
    seed,
    mode,
    journal,
    path,
    killed: run.killed,
    killedDuring: run.killedDuring,
    acked: run.acked,
    lost: 0,
    mismatches: [],
    writerFailure: run.failure,
    reopenFailure: null,
    recovery: null,
    hang: run.hang,
    durationMs: 0,
  };
  if (result.writerFailure === null && result.hang === null) {
    const verified = await reopen(path);
    if (verified.error !== undefined) result.reopenFailure = verified.error;
    else {
      result.recovery = verified.recovery;
      result.mismatches = compare(run.names, new Map(verified.entries));
      result.lost = result.mismatches.length;
    }
  }
  result.durationMs = Math.round(performance.now() - started);
  return result;
}

/**
 * Runs `trials` trials, `parallel` at a time, seeds `firstSeed`, `firstSeed + 1`, ...
 * The files of a passing trial are deleted; a failing trial's files stay for inspection.
 * `mode` forces one mode for every trial; by default each seed picks its own ({@link modeFor}).
 */
export async function runTrials({ trials, parallel = 2, dir, firstSeed = 1, mode, journal = true, onResult = () => undefined, maxKillDelayMs }) {
  const summary = {
    trials: 0,
    acked: 0,
    lost: 0,
    reopenFailures: 0,
    recoveries: 0,
    rolledForward: 0,
    otherRepairs: {},
    hangs: 0,
    writerFailures: 0,
    killedDuring: { writes: 0, checkpoint: 0, close: 0, none: 0 },
    failures: [],
  };
  let next = 0;
  async function lane() {
    while (next < trials) {
      const seed = firstSeed + next++;
      const result = await runTrial({ dir, seed, mode: mode ?? modeFor(seed), maxKillDelayMs, journal });
      summary.trials++;
      summary.acked += result.acked;
      summary.lost += result.lost;
      summary.killedDuring[result.killedDuring]++;
      if (result.reopenFailure !== null) summary.reopenFailures++;
      if (result.recovery !== null) summary.recoveries++;
      if (result.recovery === 'rolled-forward') summary.rolledForward++;
      else if (result.recovery !== null) summary.otherRepairs[result.recovery] = (summary.otherRepairs[result.recovery] ?? 0) + 1;
      if (result.hang !== null) summary.hangs++;
      if (result.writerFailure !== null) summary.writerFailures++;
      if (result.lost > 0 || result.reopenFailure !== null || result.hang !== null || result.writerFailure !== null) {
        summary.failures.push(result);
      } else {
        removeCatalogFiles(result.path);
      }
      onResult(result, summary);
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, lane));
  return summary;
}

/** `trials N, acked N, lost N, reopen failures N, ...` on one line. */
export function formatSummary(summary) {
  const k = summary.killedDuring;
  return (
    `trials ${summary.trials}, acked ${summary.acked}, lost ${summary.lost}, reopen failures ${summary.reopenFailures}, ` +
    `hangs ${summary.hangs}, writer failures ${summary.writerFailures}, repaired from the journal ${summary.recoveries} ` +
    `(of which rolled forward, DuckDB behind the journal at the kill: ${summary.rolledForward}; others ${JSON.stringify(summary.otherRepairs)}) ` +
    `(killed during writes ${k.writes}, during checkpoint ${k.checkpoint}, during close ${k.close}; finished before the kill ${k.none})`
  );
}

/** The catalog file and everything beside it that starts with its name (.wal, .owner, ...). */
function removeCatalogFiles(path) {
  const prefix = basename(path);
  for (const entry of readdirSync(dirname(path))) {
    if (entry.startsWith(prefix)) rmSync(join(dirname(path), entry), { force: true, recursive: true });
  }
}

function runWriter(path, seed, mode, journal, onEvent) {
  return new Promise((resolve) => {
    const args = [WRITER, path, String(seed), mode, ...(journal ? [] : ['--no-journal'])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    /** name -> { acked: hash|null, pending: boolean, pendingHash: hash|null } */
    const names = new Map();
    const phases = { checkpointOpen: false, closeOpen: false };
    let acked = 0;
    let failure = null;
    let hang = null;
    let killTimer;
    let killed = false;
    let buffer = '';
    let stderr = '';
    const kill = (delayMs) => {
      if (killTimer !== undefined) return;
      killTimer = setTimeout(() => {
        killed = child.exitCode === null && child.signalCode === null;
        child.kill('SIGKILL');
      }, delayMs);
    };
    const readyTimer = setTimeout(() => {
      hang = `no ready line within ${READY_TIMEOUT_MS} ms`;
      child.kill('SIGKILL');
    }, READY_TIMEOUT_MS);
    const runTimer = setTimeout(() => {
      hang = `writer still running after ${RUN_TIMEOUT_MS} ms`;
      child.kill('SIGKILL');
    }, RUN_TIMEOUT_MS);
    const handle = (event) => {
      if (event.ready !== undefined) clearTimeout(readyTimer);
      if (event.i !== undefined) {
        const state = names.get(event.n) ?? { acked: null, pending: false, pendingHash: null };
        state.pending = true;
        state.pendingHash = event.h;
        names.set(event.n, state);
      }
      if (event.a !== undefined) {
        const state = names.get(event.n);
        state.acked = event.h;
        state.pending = false;
        acked++;
      }
      if (event.p === 'checkpoint-start') phases.checkpointOpen = true;
      if (event.p === 'checkpoint-end') phases.checkpointOpen = false;
      if (event.p === 'close-start') phases.closeOpen = true;
      if (event.p === 'close-end') phases.closeOpen = false;
      if (event.err !== undefined) failure = `${event.err}: ${event.message}`;
      onEvent(event, kill);
    };
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        // A line cut short by the kill was never fully reported: it acknowledges nothing.
        if (line.length > 0) handle(JSON.parse(line));
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.on('close', (code, signal) => {
      clearTimeout(readyTimer);
      clearTimeout(runTimer);
      clearTimeout(killTimer);
      if (failure === null && hang === null && signal !== 'SIGKILL' && code !== 0) {
        failure = `writer exited with code ${code} signal ${signal}: ${stderr.slice(-2000)}`;
      }
      // Judged from the whole stream: an end line still in the pipe at kill time means the
      // phase had finished before the kill.
      const killedDuring = !killed ? 'none' : phases.closeOpen ? 'close' : phases.checkpointOpen ? 'checkpoint' : 'writes';
      resolve({ names, acked, failure, hang, killed, killedDuring });
    });
  });
}

function reopen(path) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [VERIFY, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), VERIFY_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      let parsed;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      if (code === 0 && parsed?.entries !== undefined) resolve({ entries: parsed.entries, recovery: parsed.recovery ?? null });
      else resolve({ error: parsed?.error !== undefined ? `${parsed.error}: ${parsed.message}` : `reopen exited with code ${code} signal ${signal}: ${stderr.slice(-2000)}` });
    });
  });
}

// Every name must hold its last acknowledged value, or, if a write to it was in flight
// when the kill landed, that write's value. Anything else is a lost acknowledged write.
function compare(names, found) {
  const mismatches = [];
  for (const name of new Set([...names.keys(), ...found.keys()])) {
    const state = names.get(name) ?? { acked: null, pending: false, pendingHash: null };
    const actual = found.get(name) ?? null;
    const allowed = state.pending ? [state.acked, state.pendingHash] : [state.acked];
    if (!allowed.includes(actual)) mismatches.push({ name, expected: allowed, actual });
  }
  return mismatches;
}
