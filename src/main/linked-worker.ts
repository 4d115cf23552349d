import { once } from 'node:events';
import { receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';

/** How a worker's start ended: its first message, its exit, or nothing within the time allowed. */
export type FirstOutcome =
  | { readonly kind: 'message'; readonly message: unknown }
  | { readonly kind: 'exit'; readonly code: number }
  | { readonly kind: 'timeout' };

/**
 * Waits for a new worker's first message on `port`, its exit or `timeoutMs`, whichever
 * comes first: the start of every thread duckcat launches (the writer, a remote link).
 * Nothing is left listening afterwards.
 */
export async function firstMessage(port: MessagePort, worker: Worker, timeoutMs: number): Promise<FirstOutcome> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    return await Promise.race([
      once(port, 'message', { signal: abort.signal }).then(([message]: unknown[]): FirstOutcome => ({ kind: 'message', message })),
      once(worker, 'exit', { signal: abort.signal }).then(([code]: unknown[]): FirstOutcome => {
        // 'exit' may overtake the worker's last message: it still waits on the port.
        const last = receiveMessageOnPort(port);
        return last === undefined ? { kind: 'exit', code: Number(code) } : { kind: 'message', message: last.message };
      }),
    ]);
  } catch (error) {
    if (abort.signal.aborted) return { kind: 'timeout' };
    throw error;
  } finally {
    abort.abort();
    clearTimeout(timer);
  }
}
