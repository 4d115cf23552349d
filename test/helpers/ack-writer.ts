import { isDeepStrictEqual } from 'node:util';
import { spawnFixture } from './child.js';

/** What test/fixtures/ack-writer.mjs takes (see its header). */
export interface AckWriterConfig {
  readonly path: string;
  readonly seed: number;
  readonly names?: number;
  readonly padMax?: number;
  readonly asyncShare?: number;
  readonly limit?: number;
  /** After this many acknowledged calls, checkpoint() (DuckDB catches up) and report the applied seq. */
  readonly checkpointAfter?: number;
  readonly after?: 'hold' | 'close';
  readonly options?: Record<string, unknown>;
  readonly applyDelayMs?: number;
  readonly compactAfterBytes?: number;
}

type Event =
  | { ready: number; size: number }
  | { i: 'define' | 'replace' | 'drop'; n: string; v: unknown }
  | { a: string }
  | { checkpointed: number; journaled: number }
  | { done: number }
  | { closed: true }
  | { err: string; message: string };

interface NameState {
  /** Last acknowledged value; undefined = absent. */
  acked: unknown;
  /** A call on the name was made and not (yet) acknowledged: its value may or may not have landed. */
  pending: boolean;
  pendingValue: unknown;
}

/**
 * The model of acknowledged writes: every name's last acknowledged value, and the value of
 * the one call on it that was in flight when the writer died (which may or may not have
 * landed). Built from the writer's stdout; a line cut short by the kill acknowledges nothing.
 */
export class AckModel {
  readonly #names = new Map<string, NameState>();
  acked = 0;

  /** Starts from a state known to be stored (a verified earlier run). */
  constructor(initial?: ReadonlyMap<string, unknown>) {
    for (const [name, value] of initial ?? []) this.#names.set(name, { acked: value, pending: false, pendingValue: undefined });
  }

  intent(name: string, op: string, value: unknown): void {
    const state = this.#state(name);
    if (state.pending) throw new Error(`two calls in flight on ${name}`);
    state.pending = true;
    state.pendingValue = op === 'drop' ? undefined : value;
  }

  ack(name: string): void {
    const state = this.#state(name);
    if (!state.pending) throw new Error(`ack of ${name} without a call`);
    state.acked = state.pendingValue;
    state.pending = false;
    state.pendingValue = undefined;
    this.acked++;
  }

  /** Names whose value differs from what the acknowledged writes allow. */
  mismatches(found: ReadonlyMap<string, unknown>): Array<{ name: string; allowed: unknown[]; actual: unknown }> {
    const out: Array<{ name: string; allowed: unknown[]; actual: unknown }> = [];
    for (const name of new Set([...this.#names.keys(), ...found.keys()])) {
      const state = this.#names.get(name) ?? { acked: undefined, pending: false, pendingValue: undefined };
      const allowed = state.pending ? [state.acked, state.pendingValue] : [state.acked];
      const actual = found.get(name);
      if (!allowed.some((value) => isDeepStrictEqual(value, actual))) out.push({ name, allowed, actual });
    }
    return out;
  }

  /** Names with a call in flight at the kill. */
  get pending(): number {
    let count = 0;
    for (const state of this.#names.values()) if (state.pending) count++;
    return count;
  }

  /** The acknowledged state alone (valid when nothing is pending). */
  expected(): Map<string, unknown> {
    const out = new Map<string, unknown>();
    for (const [name, state] of this.#names) if (state.acked !== undefined) out.set(name, state.acked);
    return out;
  }

  #state(name: string): NameState {
    let state = this.#names.get(name);
    if (state === undefined) {
      state = { acked: undefined, pending: false, pendingValue: undefined };
      this.#names.set(name, state);
    }
    return state;
  }
}

export interface AckRun {
  readonly model: AckModel;
  readonly ready: boolean;
  readonly done: boolean;
  readonly closed: boolean;
  /** The applied (= journaled) seq right after the checkpoint, when `checkpointAfter` was given. */
  readonly checkpointedSeq: number | undefined;
  /** The parent's SIGKILL landed while the child was still running. */
  readonly killed: boolean;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error: string | undefined;
  readonly stderr: string;
}

export interface KillPlan {
  /** SIGKILL this long after the ready line. */
  readonly afterReadyMs?: number;
  /** SIGKILL as soon as the done line arrives. */
  readonly atDone?: boolean;
  /** SIGKILL this long after the done line. */
  readonly afterDoneMs?: number;
  /** Longest the child may run; then it is killed and the run reports a hang. */
  readonly timeoutMs?: number;
}

/** Runs the writer, builds the model from its stdout, kills it as `kill` says, resolves when it is gone. */
export function runAckWriter(config: AckWriterConfig, kill: KillPlan, initial?: ReadonlyMap<string, unknown>): Promise<AckRun> {
  const child = spawnFixture('ack-writer.mjs', [JSON.stringify(config)]);
  const model = new AckModel(initial);
  let ready = false;
  let done = false;
  let closed = false;
  let checkpointedSeq: number | undefined;
  let killed = false;
  let error: string | undefined;
  let buffer = '';
  let stderr = '';
  let killTimer: NodeJS.Timeout | undefined;
  const killNow = () => {
    killed ||= child.exitCode === null && child.signalCode === null;
    child.kill('SIGKILL');
  };
  const hangTimer = setTimeout(() => {
    error = `writer still running after ${kill.timeoutMs ?? 30_000} ms`;
    killNow();
  }, kill.timeoutMs ?? 30_000);
  const handle = (event: Event) => {
    if ('ready' in event) {
      ready = true;
      if (kill.afterReadyMs !== undefined) killTimer = setTimeout(killNow, kill.afterReadyMs);
    } else if ('i' in event) model.intent(event.n, event.i, event.v);
    else if ('a' in event) model.ack(event.a);
    else if ('done' in event) {
      done = true;
      if (kill.atDone === true) killNow();
      if (kill.afterDoneMs !== undefined) killTimer = setTimeout(killNow, kill.afterDoneMs);
    } else if ('checkpointed' in event) {
      if (event.checkpointed !== event.journaled) error = `after checkpoint() DuckDB is at ${event.checkpointed}, the journal at ${event.journaled}`;
      checkpointedSeq = event.checkpointed;
    } else if ('closed' in event) closed = true;
    else if ('err' in event) error = `${event.err}: ${event.message}`;
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      if (line.length > 0) handle(JSON.parse(line) as Event);
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(hangTimer);
      clearTimeout(killTimer);
      if (error === undefined && signal !== 'SIGKILL' && code !== 0) error = `writer exited with code ${code}: ${stderr.slice(-2000)}`;
      resolve({ model, ready, done, closed, checkpointedSeq, killed, code, signal, error, stderr });
    });
  });
}

/** A catalog's entries as a Map. */
export function entryMap(entries: ReadonlyArray<readonly [string, unknown]>): Map<string, unknown> {
  return new Map(entries);
}

/** Sorted [name, value] pairs, for toEqual comparisons with readable diffs. */
export function sorted(map: ReadonlyMap<string, unknown>): Array<[string, unknown]> {
  return [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
