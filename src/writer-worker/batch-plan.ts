import { CatalogConflictError, CatalogExistsError, CatalogInvalidError, CatalogNotFoundError } from '../shared/errors.js';
import { WriteOp, type ApplyRow, type Reply, type WriteRequest } from '../shared/protocol.js';
import type { JournalRow } from './journal-format.js';
import { toWireError } from '../shared/wire-error.js';

/** [name, json, version] */
export type Row = readonly [string, string, number];

/** A stored row, as open reads it from the journal. */
export interface Stored {
  readonly json: string;
  readonly version: number;
}

/** Every stored row with its definition: what open builds (and sends the owner). */
export type VersionIndex = Map<string, Stored>;

/**
 * Every stored name and its version: all the journal thread keeps to plan writes. Not the
 * definitions — the owner's map and DuckDB hold those; a copy here cost ~450 bytes a row.
 */
export type Versions = Map<string, number>;

/** Row changes to make in one transaction. The three sets are disjoint. */
export interface Changes {
  /** New rows, [name, json, version]: names not stored before the batch. */
  readonly inserts: readonly Row[];
  /** Rows to overwrite: names stored before the batch and still present after it. */
  readonly updates: readonly Row[];
  /** Names stored before the batch and absent after it. */
  readonly deletes: readonly string[];
}

/** What one batch of writes does to the table, computed before any SQL runs. */
export interface BatchPlan extends Changes {
  /** One reply per request, in request order, valid only if the batch commits. */
  readonly replies: Reply[];
  /**
   * The net effect per touched name, for the change stream: json null = dropped; the
   * version after the batch (for a drop, the version it removed).
   */
  readonly changes: { readonly names: string[]; readonly jsons: Array<string | null>; readonly versions: number[] };
  /** Applies the batch to the index once it has committed. */
  readonly commitTo: (index: Versions) => void;
  /** The batch's net effect for DuckDB, each row with the version its name held before it. */
  readonly applyRows: () => ApplyRow[];
}

/** The batch's net effect as one journal record's rows. */
export function journalRows(plan: Changes): JournalRow[] {
  const rows: JournalRow[] = [...plan.inserts, ...plan.updates];
  for (const name of plan.deletes) rows.push([name, null, 0]);
  return rows;
}


/**
 * Applies requests in order against the index, as if each ran alone, and reduces them
 * to their net effect per name. Refused ops (define of a stored name, drop of a missing
 * one) get their own error reply and change nothing, so the rest of the batch still
 * commits — without ever running a failing statement inside the transaction, where
 * DuckDB would turn the COMMIT into a silent rollback.
 *
 * @param version The version every define and replace of the batch gets: the seq its journal
 *   record will have. Seqs only grow, so a name's version never repeats, even across a drop
 *   and a new define (a per-name counter restarting at 1 would let `ifVersion` pass on a
 *   different definition).
 */
export function planBatch(index: ReadonlyMap<string, number>, requests: readonly WriteRequest[], version: number): BatchPlan {
  const overlay = new Map<string, Stored | null>();
  // The version each drop removed: a change event names it (the overlay keeps only null).
  const dropped = new Map<string, number>();
  const versionOf = (name: string): number | undefined => {
    const staged = overlay.get(name);
    if (staged !== undefined) return staged === null ? undefined : staged.version;
    return index.get(name);
  };
  const replies: Reply[] = requests.map((request) => {
    const current = versionOf(request.name);
    switch (request.op) {
      case WriteOp.DEFINE:
        if (current !== undefined) return refused(request, new CatalogExistsError(request.name));
        return staged(request, overlay, version);
      case WriteOp.REPLACE:
        if (request.ifVersion !== undefined && request.ifVersion !== (current ?? 0)) return conflict(request, current);
        return staged(request, overlay, version);
      case WriteOp.DROP:
        // Checked first: a drop with ifVersion of an absent name is a conflict (version 0), not NOT_FOUND.
        if (request.ifVersion !== undefined && request.ifVersion !== (current ?? 0)) return conflict(request, current);
        if (current === undefined) return refused(request, new CatalogNotFoundError(request.name));
        overlay.set(request.name, null);
        dropped.set(request.name, current);
        return { kind: 'reply', id: request.id, ok: true, version: current };
      default:
        return refused(request, new CatalogInvalidError('request.op', `unknown op ${String((request as { op: unknown }).op)}`));
    }
  });
  const inserts: Row[] = [];
  const updates: Row[] = [];
  const deletes: string[] = [];
  const changes = { names: [] as string[], jsons: [] as Array<string | null>, versions: [] as number[] };
  // The versions the rows to overwrite or delete hold now: DuckDB finds a row by it.
  const updatedFrom: number[] = [];
  const deletedFrom: number[] = [];
  for (const [name, final] of overlay) {
    const stored = index.get(name);
    if (final === null) {
      if (stored === undefined) continue;
      deletes.push(name);
      deletedFrom.push(stored);
    } else if (stored === undefined) {
      inserts.push([name, final.json, final.version]);
    } else {
      updates.push([name, final.json, final.version]);
      updatedFrom.push(stored);
    }
    changes.names.push(name);
    changes.jsons.push(final === null ? null : final.json);
    changes.versions.push(final === null ? (dropped.get(name) ?? 0) : final.version);
  }
  return {
    replies,
    changes,
    inserts,
    updates,
    deletes,
    commitTo(target) {
      for (const [name, final] of overlay) {
        if (final === null) target.delete(name);
        else target.set(name, final.version);
      }
    },
    applyRows() {
      const rows: ApplyRow[] = [];
      for (const [name, json, version] of inserts) rows.push([name, json, version, 0]);
      updates.forEach(([name, json, version], i) => rows.push([name, json, version, updatedFrom[i]!]));
      deletes.forEach((name, i) => rows.push([name, null, 0, deletedFrom[i]!]));
      return rows;
    },
  };
}

function staged(request: WriteRequest, overlay: Map<string, Stored | null>, version: number): Reply {
  overlay.set(request.name, { json: request.json ?? 'null', version });
  return { kind: 'reply', id: request.id, ok: true, version };
}

/**
 * Checked here, against the index plus the batch's own earlier ops, so the check and the
 * write are one atomic step: no other write can land between them.
 */
function conflict(request: WriteRequest, current: number | undefined): Reply {
  return refused(request, new CatalogConflictError(request.name, request.ifVersion!, current ?? 0));
}

function refused(request: WriteRequest, error: Error): Reply {
  return { kind: 'reply', id: request.id, ok: false, error: toWireError(error) };
}
