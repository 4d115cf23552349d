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
// Prints `trials N, acked N, lost N, reopen failures N, ...` and the fuzz case counts, and
// exits 1 when anything acknowledged was lost, a file did not reopen, a process hung or
// a property failed.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatSummary, runTrials } from '../crash/trial.mjs';
import { fuzzDefinitions, fuzzNames, fuzzSequences } from '../fuzz/properties.mjs';

const { values } = parseArgs({
  options: {
    trials: { type: 'string' },
    fuzz: { type: 'string' },
    'fuzz-sequences': { type: 'string' },
    parallel: { type: 'string', default: '2' },
    seed: { type: 'string' },
    dir: { type: 'string' },
    'no-journal': { type: 'boolean', default: false },
  },
});

const count = (text, name) => {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`--${name} must be a non-negative integer, got ${text}`);
  return n;
};
const trials = values.trials === undefined ? (values.fuzz === undefined ? 1000 : 0) : count(values.trials, 'trials');
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

console.log(`${failed ? 'FAILED' : 'ok'} in ${elapsed()}`);
if (failed) console.log(`catalogs kept in ${dir}`);
else if (values.dir === undefined) rmSync(dir, { recursive: true, force: true });
process.exitCode = failed ? 1 : 0;
