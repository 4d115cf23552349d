import type { ApplyRow } from '../shared/protocol.js';
import type { Row } from './batch-plan.js';
import type { StoreChanges } from './store.js';

interface QueuedBatch {
  readonly seq: number;
  readonly rows: readonly ApplyRow[];
}

/**
 * The store thread's queue of acknowledged batches not yet in DuckDB. Everything queued
 * when an apply starts goes into one transaction — batches as large as the backlog — with
 * each name's net effect: its final state, and whether it was stored before the first
 * batch that touched it (the version its row holds in DuckDB now, or not stored).
 */
export class ApplyQueue {
  #queued: QueuedBatch[] = [];
  #rows = 0;
  #bytes = 0;

  /** Rows waiting. */
  get rows(): number {
    return this.#rows;
  }

  /** Bytes of names and definitions waiting (UTF-16 lengths). */
  get bytes(): number {
    return this.#bytes;
  }

  push(seq: number, rows: readonly ApplyRow[]): void {
    this.#queued.push({ seq, rows });
    this.#rows += rows.length;
    for (const [name, json] of rows) this.#bytes += name.length + (json?.length ?? 0);
  }

  /** Takes every queued batch as one set of changes; undefined when nothing is queued. */
  takeAll(): { changes: StoreChanges; seq: number; rows: number } | undefined {
    const batches = this.#queued;
    if (batches.length === 0) return undefined;
    this.#queued = [];
    this.#rows = 0;
    this.#bytes = 0;
    const net = new Map<string, { json: string | null; version: number; stored: number }>();
    let rows = 0;
    for (const batch of batches) {
      rows += batch.rows.length;
      for (const [name, json, version, stored] of batch.rows) {
        const earlier = net.get(name);
        net.set(name, { json, version, stored: earlier === undefined ? stored : earlier.stored });
      }
    }
    const inserts: Row[] = [];
    const updates: Row[] = [];
    const deletes: string[] = [];
    const storedVersions = new Map<string, number>();
    for (const [name, { json, version, stored }] of net) {
      if (stored !== 0) storedVersions.set(name, stored);
      if (json === null) {
        if (stored !== 0) deletes.push(name);
      } else {
        (stored !== 0 ? updates : inserts).push([name, json, version]);
      }
    }
    return { changes: { inserts, updates, deletes, storedVersions }, seq: batches.at(-1)!.seq, rows };
  }
}
