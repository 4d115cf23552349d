// Types of trial.mjs for the TypeScript tests (the module itself is plain JS so the soak
// runner needs no compile step).

export type TrialMode = 'random' | 'checkpoint' | 'close';
export type KillPhase = 'writes' | 'checkpoint' | 'close' | 'none';

export interface Mismatch {
  readonly name: string;
  readonly expected: ReadonlyArray<string | null>;
  readonly actual: string | null;
}

export interface TrialResult {
  readonly seed: number;
  readonly mode: TrialMode;
  readonly journal: boolean;
  readonly path: string;
  readonly killed: boolean;
  readonly killedDuring: KillPhase;
  readonly acked: number;
  readonly lost: number;
  readonly mismatches: readonly Mismatch[];
  readonly writerFailure: string | null;
  readonly reopenFailure: string | null;
  /** The kind of repair the first reopen made (RecoveryReport.kind), or null when it opened as it was. */
  readonly recovery: string | null;
  readonly hang: string | null;
  readonly durationMs: number;
}

export interface TrialSummary {
  trials: number;
  acked: number;
  lost: number;
  reopenFailures: number;
  recoveries: number;
  /** Trials whose reopen rolled journaled batches into DuckDB: the lag was non-zero at the kill. */
  rolledForward: number;
  /** Other repairs by RecoveryReport.kind (a WAL lost at the kill shows as file-behind). */
  otherRepairs: Record<string, number>;
  hangs: number;
  writerFailures: number;
  killedDuring: Record<KillPhase, number>;
  failures: TrialResult[];
}

export const MODES: readonly TrialMode[];
export function modeFor(seed: number): TrialMode;
export function runTrial(options: { dir: string; seed: number; mode?: TrialMode; maxKillDelayMs?: number; journal?: boolean }): Promise<TrialResult>;
export function runTrials(options: {
  trials: number;
  parallel?: number;
  dir: string;
  firstSeed?: number;
  mode?: TrialMode;
  journal?: boolean;
  maxKillDelayMs?: number;
  onResult?: (result: TrialResult, summary: TrialSummary) => void;
}): Promise<TrialSummary>;
export function formatSummary(summary: TrialSummary): string;
