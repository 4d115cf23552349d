// Long runs of the reliability checks, outside vitest. Needs a built package (npm run build).
//
//   node test/soak/soak.mjs --trials 1000            SIGKILL crash trials (test/crash/trial.mjs)
//   node test/soak/soak.mjs --fuzz 10000             property tests (test/fuzz/properties.mjs)
//   options: --parallel 2   crash trials at a time
//            --seed N       first trial seed / fast-check seed (default: 1 / random)
//            --no-journal   crash trials without duckcat's recovery journal (DuckDB's WAL alone)
//            --fuzz-sequences N   cases of the reopen-per-case sequence property (default: fuzz / 8)
//            --dir PATH     where catalogs go (default: a fresh temp directory; kept on failure)
//
//   The reliability phases (test/fuzz/reliability.mjs; issue 15, "Extend the evidence"):
//   node test/soak/soak.mjs --journal-mutations 300   journal mutation fuzz cases
//   node test/soak/soak.mjs --socket-seconds 60        hostile socket clients while the owner writes
//   node test/soak/soak.mjs --recovery-trials 200      SIGKILL during open paths
//                           --recovery-setup-ops N     acknowledged writes before each (default 3000)
//   node test/soak/soak.mjs --fault-sweep 1-40         strace EIO/SIGKILL at the N-th call, N in range
//                           --fault-targets a,b        (default: all of FAULT_TARGETS)
//   Issue 12 items 3 and 4, and descriptors/threads (test/soak/resource-phases.mjs):
//   node test/soak/soak.mjs --piscina-tasks 1000     piscina, default options, a port per task (issue 12 item 2)
//                           --piscina-entries N       catalog size for it (default 20000)
//   node test/soak/soak.mjs --long-paths 30            catalog paths of 90-400 characters: serve, connect, no leftovers
//   node test/soak/soak.mjs --read-only-holder 20      connect while read-only processes hold the file; kill or close them
//   node test/soak/soak.mjs --fd-cycles 200            open/close cycles (and cycles / 4 connects): fd and thread counts
//   node test/soak/soak.mjs --big-catalog 500          ~500 MB of 8 KB definitions, default options,
//                           writes timed through compactions (test/soak/big-catalog.mjs)
//   Each prints its summary as one JSON line (`phase ...`); a phase that finds a lost or
//   rolled-back write, a refusal where none is allowed, or a broken writer fails the run.
//
// Prints `trials N, acked N, lost N, reopen failures N, ...` and the fuzz case counts, and
// exits 1 when anything acknowledged was lost, a file did not reopen, a process hung or
// a property failed.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatSummary, runTrials } from '../crash/trial.mjs';
import { fuzzDefinitions, fuzzNames, fuzzSequences } from '../fuzz/properties.mjs';
import { bigCatalog } from './big-catalog.mjs';
import { journalMutationFuzz, recoveryCrash, socketFuzz, syscallFaultSweep, FAULT_TARGETS } from '../fuzz/reliability.mjs';
import { fdCycles, longPaths, readOnlyHolder } from './resource-phases.mjs';
import { piscinaPhase } from './piscina-phase.mjs';

const { values } = parseArgs({
  options: {
    trials: { type: 'string' },
    fuzz: { type: 'string' },
    'fuzz-sequences': { type: 'string' },
    parallel: { type: 'string', default: '2' },
    seed: { type: 'string' },
    dir: { type: 'string' },
    'no-journal': { type: 'boolean', default: false },
    'journal-mutations': { type: 'string' },
    'socket-seconds': { type: 'string' },
    'recovery-trials': { type: 'string' },
    'recovery-setup-ops': { type: 'string' },
    'fault-sweep': { type: 'string' },
    'fault-targets': { type: 'string' },
    'long-paths': { type: 'string' },
    'piscina-tasks': { type: 'string' },
    'piscina-entries': { type: 'string' },
    'read-only-holder': { type: 'string' },
    'fd-cycles': { type: 'string' },
    'big-catalog': { type: 'string' },
  },
});

const count = (text, name) => {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`--${name} must be a non-negative integer, got ${text}`);
  return n;
};
const phaseFlags = ['journal-mutations', 'socket-seconds', 'recovery-trials', 'fault-sweep', 'long-paths', 'read-only-holder', 'fd-cycles', 'big-catalog', 'piscina-tasks'];
const anyPhase = phaseFlags.some((flag) => values[flag] !== undefined);
const trials = values.trials === undefined ? (values.fuzz === undefined && !anyPhase ? 1000 : 0) : count(values.trials, 'trials');
const fuzz = values.fuzz === undefined ? 0 : count(values.fuzz, 'fuzz');
const sequences = values['fuzz-sequences'] === undefined ? Math.ceil(fuzz / 8) : count(values['fuzz-sequences'], 'fuzz-sequences');
const parallel = count(values.parallel, 'parallel');
const seed = values.seed === undefined ? undefined : count(values.seed, 'seed');
const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'duckcat-soak-'));
mkdirSync(dir, { recursive: true });
const clip = (text) => (text === null ? null : text.length > 400 ? `${text.slice(0, 400)}…` : text);

let failed = false;
const started = performance.now();
const elapsed = () => `${Math.round((performance.now() - started) / 1000)} s`;

if (trials > 0) {
  const every = Math.max(1, Math.round(trials / 20));
  const summary = await runTrials({
    trials,
    parallel,
    dir,
    firstSeed: seed ?? 1,
    journal: !values['no-journal'],
    onResult(result, sum) {
      if (result.lost > 0 || result.reopenFailure !== null || result.hang !== null || result.writerFailure !== null) {
        console.log(`FAILED trial seed ${result.seed} (${result.mode}, killed during ${result.killedDuring}): ${JSON.stringify({ mismatches: result.mismatches.slice(0, 5), reopenFailure: clip(result.reopenFailure), hang: result.hang, writerFailure: clip(result.writerFailure), file: result.path })}`);
      }
      if (sum.trials % every === 0) console.log(`[${elapsed()}] ${formatSummary(sum)}`);
    },
  });
  console.log(formatSummary(summary));
  failed ||= summary.lost > 0 || summary.reopenFailures > 0 || summary.hangs > 0 || summary.writerFailures > 0;
}

if (fuzz > 0) {
  const runs = [
    [fuzzNames, fuzz],
    [fuzzDefinitions, fuzz],
    [fuzzSequences, sequences],
  ];
  let cases = 0;
  for (const [property, numRuns] of runs) {
    if (numRuns === 0) continue;
    try {
      const stats = await property({ runs: numRuns, dir, ...(seed === undefined ? {} : { seed }) });
      cases += stats.cases;
      console.log(`[${elapsed()}] fuzz ${stats.property}: ${stats.cases} cases, ${stats.accepted} accepted, refused ${JSON.stringify(stats.refused)}`);
    } catch (error) {
      failed = true;
      console.log(`FAILED fuzz ${property.name}: ${error?.message ?? error}`);
    }
  }
  console.log(`fuzz cases ${cases}`);
}

const phaseFailed = (summary) => {
  const bad = summary.failures.length > 0 || (summary.lost ?? 0) > 0 || (summary.rolledBack ?? 0) > 0 || (summary.unreported ?? 0) > 0;
  console.log(`[${elapsed()}] phase ${JSON.stringify(summary)}`);
  return bad;
};
const progress = (every) => (n, summary) => {
  if ((n + 1) % every === 0) console.log(`[${elapsed()}] ${summary.phase}: ${n + 1} done, ${summary.failures.length} failing`);
};

if (values['journal-mutations'] !== undefined) {
  const runs = count(values['journal-mutations'], 'journal-mutations');
  failed = phaseFailed(await journalMutationFuzz({ runs, dir, ...(seed === undefined ? {} : { seed }), log: progress(Math.max(1, Math.round(runs / 10))) })) || failed;
}
if (values['socket-seconds'] !== undefined) {
  const seconds = count(values['socket-seconds'], 'socket-seconds');
  failed = phaseFailed(await socketFuzz({ dir, durationMs: seconds * 1000, baselineMs: Math.min(5_000, seconds * 200), ...(seed === undefined ? {} : { seed }) })) || failed;
}
if (values['recovery-trials'] !== undefined) {
  const n = count(values['recovery-trials'], 'recovery-trials');
  const setupOps = values['recovery-setup-ops'] === undefined ? 3_000 : count(values['recovery-setup-ops'], 'recovery-setup-ops');
  failed = phaseFailed(await recoveryCrash({ trials: n, dir, setupOps, seed: seed ?? 1, log: progress(Math.max(1, Math.round(n / 20))) })) || failed;
}
if (values['fault-sweep'] !== undefined) {
  const match = /^(\d+)(?:-(\d+))?$/.exec(values['fault-sweep']);
  if (match === null) throw new TypeError(`--fault-sweep must be N or FROM-TO, got ${values['fault-sweep']}`);
  const from = Number(match[1]);
  const to = Number(match[2] ?? match[1]);
  const whens = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const targets = values['fault-targets']?.split(',') ?? Object.keys(FAULT_TARGETS);
  failed = phaseFailed(await syscallFaultSweep({ dir, whens, targets, seed: seed ?? 7, log: progress(10) })) || failed;
}

if (values['long-paths'] !== undefined) {
  const n = count(values['long-paths'], 'long-paths');
  failed = phaseFailed(await longPaths({ trials: n, dir, seed: seed ?? 1, log: progress(Math.max(1, Math.round(n / 10))) })) || failed;
}
if (values['read-only-holder'] !== undefined) {
  const n = count(values['read-only-holder'], 'read-only-holder');
  failed = phaseFailed(await readOnlyHolder({ trials: n, dir, seed: seed ?? 1, log: progress(Math.max(1, Math.round(n / 10))) })) || failed;
}
if (values['fd-cycles'] !== undefined) {
  const n = count(values['fd-cycles'], 'fd-cycles');
  failed = phaseFailed(await fdCycles({ cycles: n, dir, log: progress(Math.max(1, Math.round(n / 10))) })) || failed;
}
if (values['big-catalog'] !== undefined) {
  const mb = count(values['big-catalog'], 'big-catalog');
  failed = phaseFailed(await bigCatalog({ dir, mb, log: (line) => console.log(`[${elapsed()}] ${line}`) })) || failed;
}

if (values['piscina-tasks'] !== undefined) {
  const tasks = count(values['piscina-tasks'], 'piscina-tasks');
  const entries = values['piscina-entries'] === undefined ? 20_000 : count(values['piscina-entries'], 'piscina-entries');
  failed = phaseFailed(await piscinaPhase({ tasks, entries, dir, log: (line) => console.log(`[${elapsed()}] ${line}`) })) || failed;
}

console.log(`${failed ? 'FAILED' : 'ok'} in ${elapsed()}`);
if (failed) console.log(`catalogs kept in ${dir}`);
else if (values.dir === undefined) rmSync(dir, { recursive: true, force: true });
process.exitCode = failed ? 1 : 0;
