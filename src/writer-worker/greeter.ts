import type { Columns } from '../shared/protocol.js';
import type { Versions } from './batch-plan.js';
import type { PortParty } from './parties.js';

/** One journaled batch's net changes, kept until DuckDB holds it. */
interface UnappliedBatch {
  readonly seq: number;
  readonly names: readonly string[];
  readonly jsons: ReadonlyArray<string | null>;
}

/**
 * A new party's first message, its hello: every stored row as of the newest batch. The
 * journal thread keeps only versions, so the rows come from DuckDB (read on the store
 * thread, off the journal thread's loop) plus the batches DuckDB does not hold yet, which
 * are kept here until it does (bounded by the lag). Parties waiting at the same time share
 * one read. A party gets no changes until its hello.
 */
export class Greeter {
  #unapplied: UnappliedBatch[] = [];
  readonly #waiting = new Set<PortParty>();
  /**
   * A read-only catalog's rows: nothing is ever written, and DuckDB may lack journaled
   * batches it cannot be given (no roll-forward without write access).
   */
  readonly #readOnlyRows: Columns | undefined;
  readonly #askForRows: () => void;
  readonly #send: (party: PortParty, rows: Columns) => void;

  /**
   * @param askForRows Asks the store thread for DuckDB's rows (answered with `rows-now`, see {@link greetAll}).
   * @param send Sends a party its hello with these rows.
   */
  constructor(readOnlyRows: Columns | undefined, askForRows: () => void, send: (party: PortParty, rows: Columns) => void) {
    this.#readOnlyRows = readOnlyRows;
    this.#askForRows = askForRows;
    this.#send = send;
  }

  greet(party: PortParty): void {
    if (this.#readOnlyRows !== undefined) {
      this.#send(party, this.#readOnlyRows);
      return;
    }
    if (this.#waiting.size === 0) this.#askForRows();
    this.#waiting.add(party);
  }

  /** A batch was journaled: until DuckDB holds it, a hello must add it to DuckDB's rows. */
  journaled(batch: UnappliedBatch): void {
    this.#unapplied.push(batch);
  }

  /** DuckDB's rows as of batch `seq`, brought up to the newest batch: every waiting party's hello. */
  greetAll(rows: Columns, seq: number, index: Versions, appliedSeq: number): void {
    const newer = new Map<string, string | null>();
    for (const batch of this.#unapplied) {
      if (batch.seq <= seq) continue;
      batch.names.forEach((name, i) => newer.set(name, batch.jsons[i] ?? null));
    }
    let current: Columns = rows;
    if (newer.size > 0) {
      current = { names: [], jsons: [], versions: [] };
      rows.names.forEach((name, i) => {
        if (newer.has(name)) return;
        current.names.push(name);
        current.jsons.push(rows.jsons[i]!);
        current.versions.push(rows.versions[i]!);
      });
      for (const [name, json] of newer) {
        if (json === null) continue;
        current.names.push(name);
        current.jsons.push(json);
        current.versions.push(index.get(name)!);
      }
    }
    for (const party of this.#waiting) this.#send(party, current);
    this.#waiting.clear();
    this.forgetApplied(appliedSeq);
  }

  /** DuckDB holds every batch up to `seq`: no hello needs them from here (unless one is being assembled). */
  forgetApplied(seq: number): void {
    if (this.#waiting.size > 0) return;
    let applied = 0;
    while (applied < this.#unapplied.length && this.#unapplied[applied]!.seq <= seq) applied++;
    if (applied > 0) this.#unapplied = this.#unapplied.slice(applied);
  }
}
