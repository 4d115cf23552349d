import type { ChangesMessage, Columns, Reply } from '../shared/protocol.js';
import type { Liveness } from '../shared/liveness.js';
import type { EventParty } from './event-party.js';
import type { Parties } from './parties.js';
import type { ChangeRow } from './pg-schema.js';

/** A batch's net effect: the same three columns a ChangesMessage carries. */
export interface NetChanges {
  readonly names: readonly string[];
  readonly jsons: ReadonlyArray<string | null>;
  readonly versions: readonly number[];
}

/**
 * This process's copy of the catalog in the PostgreSQL thread, and the one place that
 * posts changes to the parties. Every change reaches the parties exactly once, in `seq`
 * order, whoever found it first (this process's own commit or the change feed): anything at
 * or below {@link seq} is already posted and is skipped. The copy answers a new client
 * thread's hello without a query, and consistently with the changes posted after it.
 */
export class Replica {
  readonly #rows = new Map<string, { json: string; version: number }>();
  readonly #parties: Parties<EventParty>;
  readonly #liveness: Liveness;
  #seq = 0;

  constructor(parties: Parties<EventParty>, liveness: Liveness) {
    this.#parties = parties;
    this.#liveness = liveness;
  }

  /** The newest change every party has been sent. */
  get seq(): number {
    return this.#seq;
  }

  load(rows: Columns, seq: number): void {
    rows.names.forEach((name, i) => this.#rows.set(name, { json: rows.jsons[i]!, version: rows.versions[i]! }));
    this.#seq = seq;
    this.#liveness.committed(seq);
  }

  columns(): Columns {
    const columns: Columns = { names: [], jsons: [], versions: [] };
    for (const [name, { json, version }] of this.#rows) {
      columns.names.push(name);
      columns.jsons.push(json);
      columns.versions.push(version);
    }
    return columns;
  }

  /**
   * Posts change rows read from the log (a contiguous run of whole batches from some seq
   * on), one message per batch with the batch's last seq, as the writer of the batch posted
   * it: so an event's seq is the same on every handle and equals the version a define or
   * replace got. Rows already posted are skipped.
   */
  postLog(rows: readonly ChangeRow[]): void {
    let names: string[] = [];
    let jsons: Array<string | null> = [];
    let versions: number[] = [];
    let last = this.#seq;
    for (const row of rows) {
      if (row.seq <= last) continue;
      names.push(row.name);
      jsons.push(row.json);
      versions.push(row.version);
      last = row.seq;
      if (row.seq >= row.batchEnd) {
        this.#post({ kind: 'changes', seq: row.seq, names, jsons, versions }, new Map());
        names = [];
        jsons = [];
        versions = [];
      }
    }
    // A run that ends inside a batch: never posted (the feed completes a page's last batch
    // first), so a handle never shows part of one.
  }

  /**
   * Makes the copy equal a snapshot taken at `seq` when the log no longer holds the changes
   * after {@link seq} (someone pruned `changes`): the difference is posted as one batch, so
   * every party's map converges as it would have from the log, events included.
   */
  resync(rows: Columns, seq: number): void {
    if (seq <= this.#seq) return;
    const names: string[] = [];
    const jsons: Array<string | null> = [];
    const versions: number[] = [];
    const present = new Set<string>();
    rows.names.forEach((name, i) => {
      present.add(name);
      const held = this.#rows.get(name);
      if (held !== undefined && held.json === rows.jsons[i] && held.version === rows.versions[i]) return;
      names.push(name);
      jsons.push(rows.jsons[i]!);
      versions.push(rows.versions[i]!);
    });
    for (const [name, { version }] of this.#rows) {
      if (present.has(name)) continue;
      names.push(name);
      jsons.push(null);
      versions.push(version);
    }
    if (names.length === 0) {
      this.#seq = seq;
      this.#liveness.committed(seq);
      return;
    }
    this.#post({ kind: 'changes', seq, names, jsons, versions }, new Map());
  }

  /**
   * Posts this process's own committed batch, changes `(before, after]`, with each party's
   * replies in the same message. The caller has made sure every change up to `before` is
   * posted. When the feed already posted the batch from the log, only the replies go.
   */
  postOwn(before: number, after: number, changes: NetChanges, replies: Map<EventParty, Reply[]>): void {
    if (this.#seq >= after || changes.names.length === 0) {
      this.sendReplies(replies);
      return;
    }
    if (this.#seq !== before) throw new Error(`change feed out of order: posted up to ${this.#seq}, own batch follows ${before}`);
    this.#post({ kind: 'changes', seq: after, names: [...changes.names], jsons: [...changes.jsons], versions: [...changes.versions] }, replies);
  }

  /** Replies with no changes (refusals, failures, or a batch the feed already posted). */
  sendReplies(replies: Map<EventParty, Reply[]>): void {
    for (const [party, own] of replies) {
      party.send({ kind: 'replies', replies: own });
      party.wake();
    }
  }

  /**
   * COMMITTED_SEQ moves before any message is posted (see slots.ts: a thread told of a reply
   * must already see the new seq), then every party gets the changes, its replies included.
   */
  #post(message: ChangesMessage, replies: Map<EventParty, Reply[]>): void {
    message.names.forEach((name, i) => {
      const json = message.jsons[i];
      if (json === null || json === undefined) this.#rows.delete(name);
      else this.#rows.set(name, { json, version: message.versions[i]! });
    });
    this.#seq = message.seq;
    this.#liveness.committed(message.seq);
    for (const party of this.#parties) {
      const own = replies.get(party);
      party.send(own === undefined ? message : { ...message, replies: own });
    }
    for (const [party, own] of replies) if (!this.#parties.has(party)) party.send({ kind: 'replies', replies: own });
    for (const party of this.#parties) party.wake();
    for (const party of replies.keys()) if (!this.#parties.has(party)) party.wake();
  }
}
