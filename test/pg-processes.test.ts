// Four real processes write to one PostgreSQL-backed catalog at once (issue 10): names of
// their own, names they all define (exactly one winner each), and one shared counter
// incremented with { ifVersion }. Afterwards every replica, after sync(), equals a freshly
// opened catalog and PostgreSQL's own rows; what the processes expect is what is found; the
// change log is gapless and every replica saw it whole, in order.
import { Catalog } from 'duckcat';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JsonChild } from './helpers/json-child.js';
import { adminQuery } from './helpers/pg-cluster.js';
import { describePg, pgDatabase } from './helpers/pg-test.js';
import { readPgCatalog, type PgCatalogRows } from './helpers/pg-rows.js';

const PROCESSES = 4;
const CONTESTED = 24;
const INCREMENTS = 12;
const SCHEMA = 'duckcat';

interface Done {
  expected: Record<string, unknown>;
  won: string[];
  lost: string[];
  definedShared: boolean;
  conflicts: number;
}
type Entry = [string, unknown, number];
interface State {
  entries: Entry[];
  /** [seq, name, kind, version] */
  events: Array<[number, string, string, number]>;
}

function byName(entries: Entry[]): Entry[] {
  return [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

describePg('pg processes', () => {
  let url: string;
  const children: JsonChild[] = [];
  let done: Done[];
  let states: State[];
  let fresh: Entry[];
  let rows: PgCatalogRows;

  beforeAll(async () => {
    url = await pgDatabase('pg_processes');
    for (let id = 0; id < PROCESSES; id++) {
      const config = { url, schema: SCHEMA, id, seed: 1000 + id, contested: CONTESTED, increments: INCREMENTS };
      children.push(new JsonChild('pg-party.mjs', config));
    }
    // All open before anyone writes: every replica's change events then cover the whole log.
    await Promise.all(children.map((child) => child.answer('ready')));
    for (const child of children) child.send('go');
    done = await Promise.all(children.map((child) => child.answer<Done>('done')));
    for (const child of children) child.send('verify');
    states = await Promise.all(children.map((child) => child.answer<State>('state')));
    // Opened twice, one after the other: the second open must find what the first found.
    const opens: Entry[][] = [];
    for (let i = 0; i < 2; i++) {
      const catalog = await Catalog.open(url, { schema: SCHEMA });
      try {
        opens.push(catalog.list().map((name): Entry => [name, catalog.get(name), catalog.version(name)!]));
      } finally {
        await catalog.close();
      }
    }
    expect(byName(opens[1]!)).toEqual(byName(opens[0]!));
    fresh = opens[0]!;
    rows = await readPgCatalog(url, SCHEMA);
  }, 180_000);

  afterAll(async () => {
    const codes = await Promise.all(children.map((child) => child.close()));
    expect(codes).toEqual(children.map(() => 0));
  });

  it('every replica after sync() equals a freshly opened catalog and PostgreSQL rows', () => {
    const truth = byName(rows.entries);
    expect(byName(fresh)).toEqual(truth);
    for (const state of states) expect(byName(state.entries)).toEqual(truth);
  });

  it('gives each contested name exactly one winner; the others got ERR_CATALOG_EXISTS', () => {
    const found = new Map(rows.entries.map(([name, value]) => [name, value]));
    for (let k = 0; k < CONTESTED; k++) {
      const name = `c${k}`;
      const winners = done.flatMap((d, id) => (d.won.includes(name) ? [id] : []));
      const losers = done.filter((d) => d.lost.includes(name)).length;
      expect(winners, name).toHaveLength(1);
      expect(losers, name).toBe(PROCESSES - 1);
      expect(found.get(name), name).toEqual({ by: winners[0] });
    }
    expect(done.filter((d) => d.definedShared)).toHaveLength(1);
  });

  it('loses no increment of the shared counter (replace with ifVersion)', () => {
    const shared = rows.entries.find(([name]) => name === 'shared');
    const total = PROCESSES * INCREMENTS;
    expect(shared?.[1]).toMatchObject({ n: total });
    expect((shared?.[1] as { by: number[] }).by).toHaveLength(total);
    for (let id = 0; id < PROCESSES; id++) expect((shared?.[1] as { by: number[] }).by.filter((by) => by === id)).toHaveLength(INCREMENTS);
    // Defined once, then one committed change per increment, each with a new, larger version.
    const history = rows.changes.filter((change) => change.name === 'shared');
    expect(history).toHaveLength(1 + total);
    history.forEach((change, i) => i > 0 && expect(change.version).toBeGreaterThan(history[i - 1]!.version));
    expect(shared?.[2]).toBe(history.at(-1)!.version);
    // Four processes racing on one name: the conflict path ran (reported, not asserted on a count).
    console.log(`shared counter: ${done.map((d) => d.conflicts).join(' + ')} ERR_CATALOG_CONFLICT retries`);
  });

  it('finds exactly what the processes expect (expected == found)', () => {
    const expected = new Map<string, unknown>();
    for (const d of done) for (const [name, value] of Object.entries(d.expected)) expected.set(name, value);
    for (let k = 0; k < CONTESTED; k++) expected.set(`c${k}`, { by: done.findIndex((d) => d.won.includes(`c${k}`)) });
    const found = new Map(rows.entries.map(([name, value]) => [name, value]));
    found.delete('shared');
    expect(found.size).toBe(expected.size);
    expect(Object.fromEntries(found)).toEqual(Object.fromEntries(expected));
  });

  it('keeps a gapless change log that every replica saw whole and in order', () => {
    // Gapless: the log's seqs (one per change, or one per batch) are 1..K, K the counter.
    const seqs = [...new Set(rows.changes.map((change) => change.seq))];
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(rows.counter).toBe(seqs.at(-1));
    // Replaying the log gives the table.
    const replay = new Map<string, [unknown, number]>();
    for (const change of rows.changes) {
      if (change.json === null) replay.delete(change.name);
      else replay.set(change.name, [change.json, change.version]);
    }
    expect(byName([...replay].map(([name, [value, version]]): Entry => [name, value, version]))).toEqual(byName(rows.entries));
    // Per name, the log's changes in order: [set | drop, version], and whether it was a define.
    const perName = (changes: Array<{ name: string; drop: boolean; version: number }>): Map<string, string[]> => {
      const result = new Map<string, string[]>();
      for (const change of changes) {
        const list = result.get(change.name) ?? [];
        list.push(`${change.drop ? 'drop' : 'set'} ${change.version}`);
        result.set(change.name, list);
      }
      return result;
    };
    const log = perName(rows.changes.map((change) => ({ name: change.name, drop: change.json === null, version: change.version })));
    for (const [i, state] of states.entries()) {
      expect(state.events, `process ${i}`).toHaveLength(rows.changes.length);
      const seen = perName(state.events.map(([, name, kind, version]) => ({ name, drop: kind === 'drop', version })));
      expect(seen, `process ${i}`).toEqual(log);
      // Event seqs never go back, and end at the log's last.
      state.events.forEach(([seq], j) => j > 0 && expect(seq).toBeGreaterThanOrEqual(state.events[j - 1]![0]));
      expect(state.events.at(-1)?.[0]).toBe(rows.counter);
      // A version never repeats for a name, and grows: the seq of the batch that wrote it,
      // which is the seq of its change event on every replica.
      const lastVersion = new Map<string, number>();
      for (const [seq, name, kind, version] of state.events) {
        if (kind === 'drop') continue;
        expect(version, name).toBeGreaterThan(lastVersion.get(name) ?? 0);
        expect(version, name).toBe(seq);
        lastVersion.set(name, version);
      }
      // A define when the name was absent from this replica, a replace when present.
      const present = new Set<string>();
      for (const [, name, kind] of state.events) {
        expect(kind, name).toBe(kind === 'drop' ? 'drop' : present.has(name) ? 'replace' : 'define');
        if (kind === 'drop') present.delete(name);
        else present.add(name);
      }
    }
  });
});

describePg('pg processes: a writer killed with SIGKILL', () => {
  it('loses nothing it acknowledged and leaves the catalog writable for the others', async () => {
    const url = await pgDatabase('pg_kill');
    const victim = new JsonChild('pg-outage-writer.mjs', { url, schema: SCHEMA, timeoutMs: 10_000, prefix: 'victim' });
    const other = new JsonChild('pg-outage-writer.mjs', { url, schema: SCHEMA, timeoutMs: 10_000, prefix: 'other' });
    const codes: Array<number | null> = [];
    try {
      await Promise.all([victim.answer('ready'), other.answer('ready')]);
      victim.send('write 100000');
      // Killed mid-stream, with a write most likely in flight.
      for (let acks = 0; acks < 60; ) if ('a' in (await victim.next())) acks++;
      await victim.process.kill();
      const values = new Map(victim.seen.filter((line) => 'i' in line).map((line) => [line.i as string, line.v]));
      const acked = victim.seen.filter((line) => 'a' in line).map((line) => line.a as string);
      // The other process goes on writing (no lock of the dead one's is left behind)...
      other.send('write 20');
      await other.answer('wrote');
      expect(other.seen.filter((line) => 'e' in line)).toEqual([]);
      // ...and every acknowledged write of the dead one is there, twice reopened.
      for (let open = 0; open < 2; open++) {
        const catalog = await Catalog.open(url, { schema: SCHEMA });
        try {
          for (const name of acked) expect(catalog.get(name), name).toEqual(values.get(name));
          // Beyond the acknowledged ones, at most the calls in flight at the kill (each
          // written or not, never half): nothing that was never called.
          const stored = catalog.list().filter((name) => name.startsWith('victim'));
          for (const name of stored) expect(catalog.get(name), name).toEqual(values.get(name));
          expect(stored.length - acked.length).toBeLessThanOrEqual(values.size - acked.length);
          expect(catalog.list().filter((name) => name.startsWith('other'))).toHaveLength(20);
        } finally {
          await catalog.close();
        }
      }
    } finally {
      await victim.close();
      codes.push(await other.close());
    }
    expect(codes).toEqual([0]);
  });
});

describePg('pg processes: sync() as a read fence', () => {
  it('shows another process\'s acknowledged write to get() right after sync(), also when its feed missed it', async () => {
    const url = await pgDatabase('pg_fence');
    const a = new JsonChild('pg-outage-writer.mjs', { url, schema: SCHEMA, timeoutMs: 10_000, prefix: 'a', pg: { application_name: 'duckcat_fence_a' } });
    const b = new JsonChild('pg-outage-writer.mjs', { url, schema: SCHEMA, timeoutMs: 10_000, prefix: 'b', pg: { application_name: 'duckcat_fence_b' } });
    let early = 0;
    const codes: Array<number | null> = [];
    try {
      await Promise.all([a.answer('ready'), b.answer('ready')]);
      for (let i = 0; i < 40; i++) {
        // Every other round, B's sessions are cut first (the server stays up): A's notification
        // never reaches B, and only the fence (or the feed's catch-up after reconnecting) can
        // bring the write.
        // Every fourth, A's too: the server is up, so its write must still go through.
        const cut = i % 4 === 3 ? ['duckcat_fence_a', 'duckcat_fence_b'] : i % 2 === 1 ? ['duckcat_fence_b'] : [];
        if (cut.length > 0) await adminQuery(url, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ANY($1)', [cut]);
        a.send('write 1');
        await a.answer('wrote');
        expect(a.seen.filter((line) => 'e' in line), `a${i}`).toEqual([]);
        // Acknowledged in A before B's sync() is called.
        b.send(`fence a${i}`);
        expect(await b.answer<string>('fenced')).toBe(`a${i}`);
        expect(b.seen.at(-1)!.has, `a${i}`).toBe(true);
        if (b.seen.at(-1)!.before === true) early++;
      }
      console.log(`sync() fence: ${early} of 40 writes were already visible in B before its sync()`);
    } finally {
      // Closed here, checked after: an exit code asserted in `finally` would hide the failure that got here.
      codes.push(await a.close(), await b.close());
    }
    expect(codes).toEqual([0, 0]);
  });
});
