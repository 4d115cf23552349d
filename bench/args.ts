import { parseArgs } from 'node:util';

/** The run's settings, from the command line. */
export interface BenchArgs {
  rounds: number;
  /** Measured ops per round for a one-caller target; concurrent targets get more. */
  ops: number;
  warmup: number;
  budgetMs: number;
  /**
   * Label substrings; empty means every target. `cold-open` and `stages` select those
   * steps, which no target label contains.
   */
  only: string[];
  coldEntries: number;
  gets: number;
  skipCold: boolean;
  skipStages: boolean;
  /** No PostgreSQL cluster: neither the (postgres) rows nor the visibility step. */
  skipPg: boolean;
  /** Writes timed by the cross-process visibility step. */
  pgSamples: number;
  /** Quick and filtered runs write partial.* instead of latest.*. */
  quick: boolean;
  outDir: string | undefined;
}

const USAGE = `usage: node --expose-gc build/bench/run.js [options]
  --rounds N        interleaved rounds (default 5; --quick 2)
  --ops N           measured ops per round for one caller (default 2000; --quick 300)
  --warmup N        unmeasured ops before each round (default 50)
  --budget-ms N     cap on one target's round, in ms (default 4000)
  --only a,b        run only targets whose label contains a or b; "cold-open",
                    "stages" (the defineSync stage breakdown) and "pg-visibility"
                    select those steps ("postgres" selects every PostgreSQL row)
  --cold-entries N  entries in the cold-open catalog (default 100000; --quick 10000)
  --gets N          gets timed after the cold open (default 1000000)
  --skip-cold       skip the cold-open step
  --skip-stages     skip the stage breakdown (--ops traced writes)
  --skip-pg         skip the PostgreSQL-backed rows and "pg-visibility" (a throwaway
                    cluster otherwise starts when the server binaries are installed)
  --pg-samples N    writes timed by "pg-visibility" (default 500; --quick 100)
  --out DIR         where results go (default bench/results)
  --quick           a fast smoke run

A full run writes latest.json and latest.svg; a --quick or --only run writes partial.*.`;

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed <= 0) {
    throw new TypeError(`--${name} must be a positive integer, got ${value}\n${USAGE}`);
  }
  return parsed;
}

/** Parses argv; prints usage and exits on --help. */
export function parseBenchArgs(argv: string[]): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string' },
      ops: { type: 'string' },
      warmup: { type: 'string' },
      'budget-ms': { type: 'string' },
      only: { type: 'string' },
      'cold-entries': { type: 'string' },
      gets: { type: 'string' },
      'skip-cold': { type: 'boolean', default: false },
      'skip-stages': { type: 'boolean', default: false },
      'skip-pg': { type: 'boolean', default: false },
      'pg-samples': { type: 'string' },
      out: { type: 'string' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick;
  return {
    rounds: positive('rounds', values.rounds, quick ? 2 : 5),
    ops: positive('ops', values.ops, quick ? 300 : 2000),
    warmup: positive('warmup', values.warmup, 50),
    budgetMs: positive('budget-ms', values['budget-ms'], 4000),
    only: (values.only ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''),
    coldEntries: positive('cold-entries', values['cold-entries'], quick ? 10_000 : 100_000),
    gets: positive('gets', values.gets, 1_000_000),
    skipCold: values['skip-cold'],
    skipStages: values['skip-stages'],
    skipPg: values['skip-pg'],
    pgSamples: positive('pg-samples', values['pg-samples'], quick ? 100 : 500),
    quick,
    outDir: values.out,
  };
}

