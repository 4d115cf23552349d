// Three processes write to one PostgreSQL-backed catalog without pause while a seeded
// nemesis breaks the server in turns: every session terminated, a hard stop and restart,
// a freeze (SIGSTOP), a clean restart — and one writer is SIGKILLed and replaced. Each
// increment of a shared counter carries a token it appends, so the final counter says
// exactly which increments committed. Afterwards:
// - every acknowledged write is there (increments and defines);
// - no write that failed with "nothing was committed" is there;
// - only ambiguous failures (the error says it may have committed) and calls cut by the
//   kill may be either way;
// - no increment is lost or counted twice (n == tokens, version == 1 + tokens);
// - every replica after sync() equals PostgreSQL's rows and a fresh open; the log is gapless.
// Runs a cluster of its own (it stops it). NEMESIS_SECONDS sets the length (default 12).
import { Catalog } from 'duckcat';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JsonChild } from './helpers/json-child.js';
import { PgCluster, adminQuery } from './helpers/pg-cluster.js';
import { readPgCatalog, type PgCatalogRows } from './helpers/pg-rows.js';
import { describePg } from './helpers/pg-test.js';
import { seededRandom } from './helpers/seeded-random.js';

const SCHEMA = 'duckcat';
const SEED = Number(process.env.NEMESIS_SEED ?? 20261129);
const SECONDS = Number(process.env.NEMESIS_SECONDS ?? 12);
const TIMEOUT_MS = 3000;
type Entry = [string, unknown, number];

describePg('pg nemesis', () => {
  let cluster: PgCluster;
  let url: string;
  const writers: JsonChild[] = [];
  /** Every writer that ever ran, killed ones included: their lines are the record. */
  const record: JsonChild[] = [];
  const faults: string[] = [];
  let states: Entry[][];
  let fresh: Entry[];
  let rows: PgCatalogRows;

  const start = (tag: string): JsonChild => {
    const writer = new JsonChild('pg-nemesis-writer.mjs', { url, schema: SCHEMA, tag, timeoutMs: TIMEOUT_MS });
    writers.push(writer);
    record.push(writer);
    return writer;
  };

  beforeAll(async () => {
    cluster = await PgCluster.create();
    url = await cluster.createDatabase('nemesis');
    const seed = await Catalog.open(url, { schema: SCHEMA });
    seed.defineSync('ctr', { n: 0, by: [] });
    await seed.close();
    for (const tag of ['a', 'b', 'c']) start(tag);
    await Promise.all(writers.map((writer) => writer.answer('ready')));
    for (const writer of writers) writer.send('go');
    // Drain every writer's lines all along, so no pipe fills while the nemesis works.
    const draining = new Set<JsonChild>();
    const drain = (writer: JsonChild): void => {
      if (draining.has(writer)) return;
      draining.add(writer);
      void (async () => {
        try {
          for (;;) if ('halted' in (await writer.next())) return;
        } catch {
          // killed, or failed: the test's checks report it
        } finally {
          draining.delete(writer);
        }
      })();
    };
    writers.forEach(drain);

    const random = seededRandom(SEED);
    const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    const end = Date.now() + SECONDS * 1000;
    let killed = false;
    while (Date.now() < end) {
      await pause(300 + random() * 700);
      const pick = random();
      if (pick < 0.3) {
        faults.push('terminate sessions');
        await adminQuery(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'nemesis' AND pid <> pg_backend_pid()");
      } else if (pick < 0.55) {
        faults.push('stop -m immediate');
        await cluster.stopHard();
        await pause(200 + random() * 800);
        await cluster.start();
      } else if (pick < 0.75) {
        faults.push('freeze');
        cluster.freeze();
        await pause(500 + random() * (TIMEOUT_MS + 500));
        cluster.thaw();
      } else if (pick < 0.9 || killed) {
        faults.push('stop -m fast');
        await cluster.stop();
        await pause(100 + random() * 400);
        await cluster.start();
      } else {
        faults.push('SIGKILL writer b');
        killed = true;
        const victim = record[1]!;
        await victim.process.kill();
        writers.splice(writers.indexOf(victim), 1);
        const replacement = start('d');
        await replacement.answer('ready');
        replacement.send('go');
        drain(replacement);
      }
    }
    // Let every writer write again on a healthy server before stopping them.
    await pause(1500);
    for (const writer of writers) writer.send('halt');
    while (draining.size > 0) await pause(50);
    for (const writer of writers) writer.send('verify');
    states = await Promise.all(writers.map((writer) => writer.answer<Entry[]>('state')));
    const catalog = await Catalog.open(url, { schema: SCHEMA });
    fresh = catalog.list().map((name): Entry => [name, catalog.get(name), catalog.version(name)!]);
    await catalog.close();
    rows = await readPgCatalog(url, SCHEMA);
    console.log(`nemesis (seed ${SEED}, ${SECONDS} s): ${faults.join(', ')}`);
  }, 120_000 + SECONDS * 1000);

  afterAll(async () => {
    const codes = await Promise.all(writers.map((writer) => writer.close()));
    try {
      cluster?.thaw();
    } catch {
      // not running
    }
    await cluster?.destroy();
    expect(codes).toEqual(writers.map(() => 0));
  });

  /** What the writers' lines say about every write: settled ok, failed (clean or ambiguous), or cut by a kill. */
  function outcomes(): { ok: Set<string>; clean: Set<string>; maybe: Set<string> } {
    const ok = new Set<string>();
    const clean = new Set<string>();
    const maybe = new Set<string>();
    for (const writer of record) {
      const called = new Set<string>();
      for (const line of writer.seen) {
        if ('call' in line) called.add(line.call as string);
        else if ('ok' in line) ok.add(line.ok as string);
        else if ('fail' in line) (line.ambiguous === true ? maybe : clean).add(line.fail as string);
      }
      for (const id of called) if (!ok.has(id) && !clean.has(id) && !maybe.has(id)) maybe.add(id);
    }
    return { ok, clean, maybe };
  }

  it('keeps every acknowledged write and no write that failed cleanly; loses and doubles no increment', () => {
    const { ok, clean, maybe } = outcomes();
    const stored = new Map(rows.entries.map(([name, value, version]) => [name, { value, version }]));
    const ctr = stored.get('ctr')!.value as { n: number; by: string[] };
    const tokens = new Set(ctr.by);
    const names = new Set(rows.entries.map(([name]) => name));
    const isToken = (id: string): boolean => id.includes(':');
    const present = (id: string): boolean => (isToken(id) ? tokens.has(id) : names.has(id));
    // Each version of the counter in the change log: a replace that did not add exactly one
    // token to the one before it lost or doubled an increment.
    const history = rows.changes.filter((change) => change.name === 'ctr').map((change) => ({ seq: change.seq, version: change.version, by: (change.json as { by: string[] }).by }));
    const odd = history.filter((entry, i) => i > 0 && (entry.by.length !== history[i - 1]!.by.length + 1 || entry.by.slice(0, -1).join() !== history[i - 1]!.by.join()));
    const outcome = (id: string | undefined): string => (id === undefined ? '-' : ok.has(id) ? 'ok' : maybe.has(id) ? 'ambiguous' : clean.has(id) ? 'clean failure' : 'never called');
    const describe = (entry: (typeof history)[number] | undefined): string =>
      entry === undefined ? '-' : `seq ${entry.seq} v${entry.version} ${entry.by.length} tokens, last ${entry.by.at(-1)} (${outcome(entry.by.at(-1))})`;
    expect(odd.map((entry) => `${describe(entry)} after ${describe(history[history.indexOf(entry) - 1])}; dropped: ${history[history.indexOf(entry) - 1]!.by.filter((t) => !entry.by.includes(t)).map((t) => `${t} (${outcome(t)})`).join(', ')}`)).toEqual([]);
    expect([...ok].filter((id) => !present(id)), 'acknowledged but missing').toEqual([]);
    expect([...clean].filter((id) => present(id)), 'failed with "nothing was committed" but present').toEqual([]);
    expect([...tokens].filter((token) => !ok.has(token) && !maybe.has(token)), 'committed but never called').toEqual([]);
    expect(tokens.size).toBe(ctr.by.length);
    expect(ctr.n).toBe(ctr.by.length);
    // Defined once, then one committed change per token.
    expect(history).toHaveLength(1 + ctr.by.length);
    expect(stored.get('ctr')!.version).toBe(history.at(-1)!.version);
    const counts = { acknowledged: ok.size, cleanFailures: clean.size, ambiguous: maybe.size, ambiguousCommitted: [...maybe].filter(present).length };
    console.log(`nemesis outcomes: ${JSON.stringify(counts)}`);
    // The run wrote through the faults, not just before them.
    expect(ok.size).toBeGreaterThan(50);
  });

  it('leaves every replica, after sync(), equal to PostgreSQL and to a fresh open, with a gapless log', () => {
    for (const state of states) expect(state).toEqual(rows.entries);
    expect([...fresh].sort((x, y) => (x[0] < y[0] ? -1 : 1))).toEqual(rows.entries);
    expect(rows.changes.map((change) => change.seq)).toEqual(Array.from({ length: rows.changes.length }, (_, i) => i + 1));
    expect(rows.counter).toBe(rows.changes.length);
  });
});
