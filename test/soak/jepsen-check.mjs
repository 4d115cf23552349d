// The checks of the Jepsen-style run (test/soak/jepsen.mjs) on an invoke/complete history.
// Pure functions of the history: no catalog, no processes (the same checker would run
// against another store behind the same handles).
//
// Model: each name is a register; every write stores a value unique to it (a drop stores
// "absent", which several drops share). Times are invoke (t0) and completion (t1) on one
// monotonic clock; a write whose outcome is unknown (its process died, or it failed with
// TIMEOUT or WRITER_EXITED) may have taken effect at any time after t0 (t1 = Infinity).
//
// Linearizability per name uses the read-mapping test for registers with unique values
// (Gibbons & Korach): group each write with the reads that returned its value; a group's
// zone runs from its earliest completion to its latest invocation. The history is
// linearizable iff no read returns a value before its write was invoked, no two forward
// zones (earliest completion < latest invocation) overlap, and no backward zone lies inside
// a forward one. Reads of "absent" cannot be mapped to one drop; they get a sound check of
// their own: some drop must fit after the newest write that surely completed before them.

/** The contended names. */
export const NAMES = Array.from({ length: 12 }, (_, i) => `k${String(i).padStart(2, '0')}`);

/** Errors after which a write may or may not have taken effect. */
const UNKNOWN_OUTCOME = new Set(['ERR_CATALOG_TIMEOUT', 'ERR_CATALOG_WRITER_EXITED', 'UNEXPECTED']);
const WRITES = new Set(['define', 'replace', 'drop']);

/**
 * Pairs invoke and completion lines into operations.
 * @returns {{ writes: object[], reads: object[], failures: object[] }} writes carry status
 *   'ok' | 'unknown' | 'refused'; reads are get/sget (one name) and list (expanded to
 *   an absent read per name it did not list).
 */
export function buildHistory(lines, names) {
  const open = new Map();
  const writes = [];
  const reads = [];
  const failures = [];
  for (const line of lines) {
    if (line.h === undefined || line.i === undefined) continue;
    const key = `${line.h}/${line.i}`;
    if (WRITES.has(line.f)) {
      const write = { ...line, t1: Number.POSITIVE_INFINITY, status: 'unknown', remote: line.h.startsWith('r') };
      open.set(key, write);
      writes.push(write);
    } else if (line.f === 'get' || line.f === 'sget') {
      reads.push({ ...line, synced: line.f === 'sget', remote: line.h.startsWith('r') });
    } else if (line.f === 'list') {
      for (const k of names) if (!line.r.includes(k)) reads.push({ h: line.h, i: line.i, f: 'list', k, r: null, t0: line.t0, t1: line.t1, remote: line.h.startsWith('r') });
    } else if (line.f === 'sync') {
      failures.push({ ...line, op: 'sync' });
    } else if (line.t1 !== undefined) {
      const write = open.get(key);
      if (write === undefined) continue;
      open.delete(key);
      if (line.ok) {
        write.t1 = line.t1;
        write.status = 'ok';
      } else {
        write.err = line.err;
        write.done = line.t1;
        write.status = UNKNOWN_OUTCOME.has(line.err) ? 'unknown' : 'refused';
        failures.push({ ...write, t1: line.t1, op: write.f });
      }
    }
  }
  return { writes: writes.filter((write) => write.status !== 'refused'), reads, failures };
}

/** Per-name indexes for the checks. */
class NameIndex {
  constructor(writes) {
    this.byValue = new Map(writes.filter((w) => w.f !== 'drop').map((w) => [w.v, w]));
    // Acknowledged writes by invocation, with the earliest completion from each one on.
    this.acked = writes.filter((w) => w.status === 'ok').sort((a, b) => a.t0 - b.t0);
    this.suffixMinT1 = new Float64Array(this.acked.length + 1).fill(Number.POSITIVE_INFINITY);
    for (let i = this.acked.length - 1; i >= 0; i--) this.suffixMinT1[i] = Math.min(this.acked[i].t1, this.suffixMinT1[i + 1]);
    // Acknowledged stores (not drops) by completion, with the latest invocation up to each.
    this.stores = writes.filter((w) => w.status === 'ok' && w.f !== 'drop').sort((a, b) => a.t1 - b.t1);
    this.prefixMaxT0 = [];
    let best;
    for (const w of this.stores) {
      if (best === undefined || w.t0 > best.t0) best = w;
      this.prefixMaxT0.push(best);
    }
    // Drops (acknowledged or unknown) by invocation, with the latest completion up to each.
    this.drops = writes.filter((w) => w.f === 'drop').sort((a, b) => a.t0 - b.t0);
    this.prefixMaxDropT1 = [];
    let latest = Number.NEGATIVE_INFINITY;
    for (const d of this.drops) this.prefixMaxDropT1.push((latest = Math.max(latest, d.t1)));
  }

  /** The earliest completion of an acknowledged write invoked after `t` (Infinity if none). */
  firstAckedAfter(t) {
    return this.suffixMinT1[lowerBound(this.acked, (w) => w.t0 > t)];
  }

  /**
   * For a read of "absent" over [t0, t1]: the newest store that surely completed before t0
   * and after which no drop can be placed before t1, or undefined when the read is explained.
   */
  unexplainedAbsent(t0, t1) {
    const before = lowerBound(this.stores, (w) => w.t1 >= t0) - 1;
    if (before < 0) return undefined;
    const store = this.prefixMaxT0[before];
    return this.dropCanFollow(store.t0, t1) ? undefined : store;
  }

  /** Whether some drop can take effect after `after` and before `before` (invoked before it, completed after). */
  dropCanFollow(after, before) {
    const drops = lowerBound(this.drops, (d) => d.t0 >= before) - 1;
    return drops >= 0 && this.prefixMaxDropT1[drops] > after;
  }

  /**
   * How stale a read of `value` ending at ... invoked at `t0` is: ms since the first write
   * surely newer than the value's completed, or 0 when the read is current.
   */
  staleness(read) {
    if (read.r === null) {
      const store = this.unexplainedAbsent(read.t0, read.t1);
      return store === undefined ? 0 : read.t0 - store.t1;
    }
    const write = this.byValue.get(read.r);
    if (write === undefined) return 0;
    const newer = this.firstAckedAfter(write.t1);
    return newer < read.t0 ? read.t0 - newer : 0;
  }
}

/** First index where `pred` holds, for a predicate monotone over the sorted array. */
function lowerBound(array, pred) {
  let lo = 0;
  let hi = array.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (pred(array[mid])) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Zone test for one name: `reads` must all be value reads mapped to `index.byValue`. */
function zoneViolations(name, writes, reads) {
  const groups = new Map();
  for (const w of writes) if (w.f !== 'drop' || w.status === 'ok') groups.set(w.f === 'drop' ? `drop:${w.h}#${w.i}` : w.v, { f: w.t1, l: w.t0, w });
  for (const r of reads) {
    const group = groups.get(r.r);
    group.f = Math.min(group.f, r.t1);
    group.l = Math.max(group.l, r.t0);
  }
  const forward = [];
  const backward = [];
  for (const [value, group] of groups) (group.f < group.l ? forward : backward).push({ value, from: Math.min(group.f, group.l), to: Math.max(group.f, group.l) });
  forward.sort((a, b) => a.from - b.from);
  const violations = [];
  for (let i = 1; i < forward.length; i++) {
    if (forward[i].from < forward[i - 1].to) violations.push({ name, kind: 'overlapping forward zones', a: forward[i - 1], b: forward[i] });
  }
  for (const zone of backward) {
    if (!Number.isFinite(zone.to)) continue;
    const at = lowerBound(forward, (z) => z.from >= zone.from) - 1;
    const around = forward[at];
    if (around !== undefined && zone.to < around.to) violations.push({ name, kind: 'write inside a forward zone', zone, around });
  }
  return violations;
}

/**
 * Every check of issue 18's Evidence section.
 * @param history from {@link buildHistory}
 * @param options { names, final (name -> value of the reopened file), timeoutMs,
 *   unavailable: [{from, to}] when the owner was paused or down }
 */
export function check(history, { names, final, timeoutMs, unavailable }) {
  const { writes, reads, failures } = history;
  const result = { violations: [], linearizable: {}, stale: { reads: 0, count: 0, lags: [] }, lost: 0 };
  const add = (kind, detail) => {
    if (result.violations.length < 50) result.violations.push({ kind, ...detail });
    result[kind] = (result[kind] ?? 0) + 1;
  };
  for (const name of names) {
    const ws = writes.filter((w) => w.k === name);
    const index = new NameIndex(ws);
    const rs = reads.filter((r) => r.k === name);
    // Reads of values never written, or before their write was invoked.
    for (const r of rs) {
      if (r.r === null) continue;
      const w = index.byValue.get(r.r);
      if (w === undefined) add('readOfUnwrittenValue', { read: r });
      else if (w.t0 > r.t1) add('readFromFuture', { read: r, write: w });
    }
    // (a) Everything in the owner's process, (b) remote reads made right after sync().
    const checked = rs.filter((r) => (!r.remote || r.synced) && (r.r === null || index.byValue.has(r.r)));
    const zones = zoneViolations(name, ws, checked.filter((r) => r.r !== null));
    const absent = checked.filter((r) => r.r === null && index.unexplainedAbsent(r.t0, r.t1) !== undefined);
    result.linearizable[name] = zones.length === 0 && absent.length === 0;
    for (const v of zones) add('nonLinearizable', v);
    for (const r of absent) add('nonLinearizable', { name, kind: 'absent after a surely completed store', read: r });
    // Remote reads without sync(): stale by design (replica lag); measured.
    for (const r of rs) {
      if (!r.remote || r.synced) continue;
      result.stale.reads++;
      const lag = index.staleness(r);
      if (lag > 0) {
        result.stale.count++;
        result.stale.lags.push(lag);
      }
    }
    // Read-your-writes and monotonic reads, per handle.
    const byHandle = new Map();
    for (const op of [...ws.filter((w) => w.status === 'ok'), ...rs].sort((a, b) => a.t0 - b.t0)) {
      let seen = byHandle.get(op.h);
      if (seen === undefined) byHandle.set(op.h, (seen = { own: undefined, last: undefined }));
      if (WRITES.has(op.f)) {
        seen.own = op;
        continue;
      }
      const read = op;
      const readWrite = read.r === null ? undefined : index.byValue.get(read.r);
      const own = seen.own;
      if (own !== undefined && own.t1 < read.t0) {
        if (read.r !== null && own.f !== 'drop' && read.r !== own.v && readWrite !== undefined && readWrite.t1 < own.t0) add('readYourWrites', { read, own });
        if (read.r !== null && own.f === 'drop' && readWrite !== undefined && readWrite.t1 < own.t0) add('readYourWrites', { read, own });
        if (read.r === null && own.f !== 'drop' && !index.dropCanFollow(own.t0, read.t1)) add('readYourWrites', { read, own });
      }
      const last = seen.last;
      if (last !== undefined && last.r !== null && read.r !== last.r) {
        const lastWrite = index.byValue.get(last.r);
        if (read.r !== null && readWrite !== undefined && lastWrite !== undefined && readWrite.t1 < lastWrite.t0) add('monotonicReads', { read, last });
        if (read.r === null && lastWrite !== undefined && !index.dropCanFollow(lastWrite.t0, read.t1)) add('monotonicReads', { read, last });
      }
      seen.last = read;
    }
    // Durability: the reopened file holds, for this name, a value no acknowledged write surely overwrote.
    const end = { r: final.get(name) ?? null, t0: Number.POSITIVE_INFINITY, t1: Number.POSITIVE_INFINITY };
    if (end.r === null) {
      const store = index.unexplainedAbsent(end.t0, end.t1);
      if (store !== undefined) {
        result.lost++;
        add('lostWrite', { name, store });
      }
    } else {
      const w = index.byValue.get(end.r);
      if (w === undefined) add('readOfUnwrittenValue', { name, final: end.r });
      else {
        const newer = index.acked.filter((a) => a.t0 > w.t1);
        if (newer.length > 0) {
          result.lost += newer.length;
          add('lostWrite', { name, final: w, newer: newer.slice(0, 3) });
        }
      }
    }
  }
  // Deadlines and false timeouts. Time the owner's process stood still is not waiting for
  // its own calls (their deadline leaves it out by design).
  const overlap = (from, to) => unavailable.reduce((sum, u) => sum + Math.max(0, Math.min(to, u.to) - Math.max(from, u.from)), 0);
  for (const op of [...writes.filter((w) => Number.isFinite(w.t1) || w.done !== undefined), ...failures.filter((f) => f.op === 'sync')]) {
    const t1 = Number.isFinite(op.t1) ? op.t1 : op.done;
    const waited = t1 - op.t0 - (op.h.startsWith('o') ? overlap(op.t0, t1) : 0);
    if (waited > timeoutMs + 1_000) add('pastDeadline', { op: { h: op.h, i: op.i, f: op.f, waited: Math.round(waited) } });
  }
  for (const failure of failures) {
    if (failure.err !== 'ERR_CATALOG_TIMEOUT') continue;
    // The owner's own calls must never time out for a pause of their own process.
    if (failure.h.startsWith('o')) add('ownerTimeout', { failure });
    if (overlap(failure.t0, failure.t1) === 0) add('falseTimeout', { failure });
    else result.justifiedTimeouts = (result.justifiedTimeouts ?? 0) + 1;
  }
  result.acked = writes.filter((w) => w.status === 'ok').length;
  result.unknown = writes.filter((w) => w.status === 'unknown').length;
  result.reads = reads.length;
  return result;
}

/** p50 / p99 / max of a list of ms. */
export function percentiles(values) {
  if (values.length === 0) return { p50: 0, p99: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted.at(-1)) };
}

const round = (ms) => Math.round(ms * 100) / 100;
