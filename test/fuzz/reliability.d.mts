// Types for test/fuzz/reliability.mjs (used by test/reliability-*.test.ts).
export interface PhaseSummary {
  readonly phase: string;
  readonly seed: number;
  readonly failures: readonly unknown[];
  readonly [key: string]: unknown;
}
export interface JournalMutationSummary extends PhaseSummary {
  readonly cases: number;
  readonly skipped: number;
  readonly healthy: { readonly equal: number; readonly recoveries: Record<string, number> };
  readonly deleted: { readonly equal: number; readonly refused: number; readonly evidenceErased: number; readonly erasedBatchesLost: number; readonly maxErasedBatchesLost: number; readonly recoveries: Record<string, number> };
  readonly mutations: Record<string, number>;
}
export interface SocketSummary extends PhaseSummary {
  readonly ownerWrites: number;
  readonly ownerFailures: number;
  readonly writerAlive: boolean;
  readonly mapEqualsFile: boolean;
  readonly ownerNamesIntact: boolean;
  readonly latencyMs: { readonly n: number; readonly p50: number; readonly p99: number; readonly max: number };
  readonly baselineLatencyMs: { readonly n: number; readonly p50: number; readonly p99: number; readonly max: number };
  readonly rssMB: { readonly before: number; readonly peak: number; readonly after: number };
}
export interface CrashSummary extends PhaseSummary {
  readonly trials: number;
  readonly acked: number;
  readonly lost: number;
  readonly rolledBack: number;
  readonly refused: number;
  readonly reopenFailures: number;
  readonly hangs: number;
}
export interface FaultSummary extends CrashSummary {
  readonly unreported: number;
  readonly faultsFired: number;
  readonly skipped?: string;
}
export const STRACE: string | undefined;
export const RECOVERY_SCENARIOS: readonly string[];
export const FAULT_TARGETS: Record<string, { suffix: string; calls: string }>;
type Log = (n: number, summary: PhaseSummary) => void;
export function journalMutationFuzz(options: { runs: number; dir: string; seed?: number; ops?: number; log?: Log }): Promise<JournalMutationSummary>;
export function socketFuzz(options: { dir: string; seed?: number; durationMs?: number; baselineMs?: number }): Promise<SocketSummary>;
export function recoveryCrash(options: { trials: number; dir: string; seed?: number; setupOps?: number; openerOps?: number; maxKillMs?: number; scenarios?: readonly string[]; log?: Log }): Promise<CrashSummary>;
export function syscallFaultSweep(options: { dir: string; seed?: number; targets?: readonly string[]; faults?: readonly string[]; whens?: readonly number[]; ops?: number; log?: Log }): Promise<FaultSummary>;
export function mutate(path: string, mutation: { kind: string; file: number; at: number; bits: number }): unknown;
export function scratchDir(prefix?: string): string;
