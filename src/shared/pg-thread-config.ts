import type { MessagePort } from 'node:worker_threads';
import type { ResolvedPgSettings } from './pg-options.js';

/** What the PostgreSQL writer thread is started with (workerData). */
export interface PgThreadConfig {
  readonly settings: ResolvedPgSettings;
  /** The URL without its password, for messages. */
  readonly displayUrl: string;
  readonly readOnly: boolean;
  readonly timeoutMs: number;
  readonly openTimeoutMs: number;
  readonly maxNameBytes: number;
  readonly maxDefinitionBytes: number;
  readonly slots: Int32Array;
  /** The owner's reply counter. */
  readonly reply: Int32Array;
  /** The owner's port. */
  readonly port: MessagePort;
}
