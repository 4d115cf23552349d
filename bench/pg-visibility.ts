/**
 * Cross-process visibility on a PostgreSQL-backed catalog: how long after `defineSync`
 * returns in process A (this one) does process B's `get` return the definition, with no
 * sync() anywhere. One write at a time (the next only after B saw the last), so each
 * sample is one change travelling alone: commit, NOTIFY, B's catch-up read, B's map.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { definitionFor, nameFor } from './payload.js';
import type { PgBenchServer } from './pg-server.js';
import { summarize } from './stats.js';
import type { Summary } from './stats.js';

export interface PgVisibilityResult {
  samples: number;
  /** From A's defineSync returning to B's get seeing it, µs (below 0 when B saw it first). */
  ackToVisible: Summary;
  /** From A's defineSync being called to B's get seeing it, µs. */
  callToVisible: Summary;
  /** A's defineSync alone, µs, for scale. */
  defineSync: Summary;
}

interface Seen {
  seen: string;
  at: string;
}

const CHILD = fileURLToPath(new URL('./pg-visibility-child.js', import.meta.url));
const SEEN_TIMEOUT_MS = 10_000;

export async function measurePgVisibility(server: PgBenchServer, samples: number, warmup: number): Promise<PgVisibilityResult> {
  const { Catalog } = await import('duckcat');
  const url = await server.newDatabase();
  const writer = await Catalog.open(url);
  const reader = fork(CHILD, [url], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const queue: Seen[] = [];
  let wake: (() => void) | undefined;
  let exited: Error | undefined;
  reader.on('message', (message: unknown) => {
    if (typeof message === 'object' && message !== null && 'seen' in message) {
      queue.push(message as Seen);
      wake?.();
    } else if (typeof message === 'object' && message !== null && 'ready' in message) {
      wake?.();
    }
  });
  reader.on('exit', (code, signal) => {
    exited = new Error(`the reader process ended (code ${code}, signal ${signal})`);
    wake?.();
  });
  const waitFor = async (done: () => boolean, what: string): Promise<void> => {
    const deadline = Date.now() + SEEN_TIMEOUT_MS;
    while (!done()) {
      if (exited !== undefined) throw exited;
      if (Date.now() > deadline) throw new Error(`pg visibility: ${what} not within ${SEEN_TIMEOUT_MS} ms`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  };
  let ready = false;
  reader.once('message', () => (ready = true));
  try {
    await waitFor(() => ready, 'the reader to open');
    const ackToVisible: number[] = [];
    const callToVisible: number[] = [];
    const calls: number[] = [];
    for (let i = 0; i < warmup + samples; i++) {
      const name = nameFor(i);
      const t0 = process.hrtime.bigint();
      writer.defineSync(name, definitionFor(i));
      const t1 = process.hrtime.bigint();
      await waitFor(() => queue.some((seen) => seen.seen === name), `B seeing ${name}`);
      const seen = queue.splice(0).find((entry) => entry.seen === name)!;
      if (i < warmup) continue;
      const at = BigInt(seen.at);
      ackToVisible.push(Number(at - t1) / 1e3);
      callToVisible.push(Number(at - t0) / 1e3);
      calls.push(Number(t1 - t0) / 1e3);
    }
    return { samples, ackToVisible: summarize(ackToVisible), callToVisible: summarize(callToVisible), defineSync: summarize(calls) };
  } finally {
    if (exited === undefined) {
      reader.send('close');
      await waitFor(() => exited !== undefined, 'the reader to close').catch(() => reader.kill('SIGKILL'));
    }
    await writer.close();
  }
}

/** The section printed under the table. */
export function renderPgVisibility(result: PgVisibilityResult): string {
  const ms = (us: number): string => `${(us / 1e3).toFixed(2)} ms`;
  const row = (label: string, s: Summary): string =>
    `  ${`${label}:`.padEnd(24)}p50 ${ms(s.p50)}  p99 ${ms(s.p99)}  p99.9 ${ms(s.p999)}  max ${ms(s.max)}`;
  return [
    `Cross-process visibility on PostgreSQL (loopback; ${result.samples} writes, one at a time; process B's get, no sync())`,
    row('ack in A → get in B', result.ackToVisible),
    row('call in A → get in B', result.callToVisible),
    row('A defineSync itself', result.defineSync),
  ].join('\n');
}
