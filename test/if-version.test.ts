import { Catalog, CatalogConflictError, catalogErrorFromSql, type CatalogView } from 'duckcat';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { parseClientRequest } from '../src/shared/client-request.js';
import { CatalogConflictError as SourceConflictError } from '../src/shared/errors.js';
import { fromWireError, toWireError } from '../src/shared/wire-error.js';
import { fixture } from './helpers/child.js';
import { LineChild } from './helpers/line-child.js';
import { seededRandom } from './helpers/seeded-random.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

// What test/fixtures/if-version-party.mjs answers.
interface Answer {
  readonly ok: boolean;
  readonly version?: number | null;
  readonly class?: string;
  readonly code?: string;
  readonly field?: string;
  readonly definitionName?: string;
  readonly expectedVersion?: number;
  readonly currentVersion?: number;
}
type Command = { readonly do: string } & Record<string, unknown>;

/** A party in another thread or process, driven one command at a time. */
interface Party {
  ask(command: Command): Promise<Answer>;
  end(): Promise<void>;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function openCatalog(path = tempCatalogPath()): Promise<Catalog> {
  const cat = await Catalog.open(path);
  cleanups.push(() => cat.close());
  return cat;
}

/** A process running the fixture: `connect` (a RemoteCatalog of `path`) or `own` (its owner). */
async function processParty(path: string, mode: 'connect' | 'own', config?: object): Promise<Party & { child: LineChild }> {
  const child = new LineChild('if-version-party.mjs', [path, mode, ...(config === undefined ? [] : [JSON.stringify(config)])]);
  let ended = false;
  cleanups.push(async () => {
    if (!ended) await child.kill();
  });
  expect(JSON.parse(await child.next())).toEqual({ ready: true });
  return {
    child,
    async ask(command) {
      child.child.stdin!.write(`${JSON.stringify(command)}\n`);
      return JSON.parse(await child.next()) as Answer;
    },
    async end() {
      ended = true;
      await child.end(`${JSON.stringify({ do: 'close' })}\n`);
    },
  };
}

/** A worker thread running the fixture on a CatalogClient of `cat`. */
async function threadParty(cat: Catalog): Promise<Party> {
  const port = cat.port();
  const worker = new Worker(fixture('if-version-party.mjs'), { workerData: { port }, transferList: [port] });
  let ended = false;
  cleanups.push(async () => {
    if (!ended) await worker.terminate();
  });
  expect((await once(worker, 'message'))[0]).toEqual({ ready: true });
  const ask = async (command: Command) => {
    worker.postMessage(command);
    return (await once(worker, 'message'))[0] as Answer;
  };
  return {
    ask,
    async end() {
      ended = true;
      // Listened for before the close: a worker that ends at once has its last message and
      // its 'exit' emitted in one go, before an await after ask() could start listening.
      const exited = once(worker, 'exit');
      await ask({ do: 'close' });
      await exited;
    },
  };
}

/** What a CatalogConflictError carries. */
const conflictFields = (definitionName: string, expectedVersion: number, currentVersion: number) => ({
  code: 'ERR_CATALOG_CONFLICT',
  definitionName,
  expectedVersion,
  currentVersion,
});
/** A party's answer for one. */
const conflict = (definitionName: string, expectedVersion: number, currentVersion: number) => ({
  ok: false,
  class: 'CatalogConflictError',
  ...conflictFields(definitionName, expectedVersion, currentVersion),
});

function conflictOf(call: () => unknown): CatalogConflictError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(CatalogConflictError);
    return error as CatalogConflictError;
  }
  throw new Error('expected ERR_CATALOG_CONFLICT, the call succeeded');
}

function versions(handle: CatalogView, names: readonly string[]): Array<number | undefined> {
  return names.map((name) => handle.version(name));
}

/** Asserts `list` strictly increases (every write of a name gives a greater version). */
function expectIncreasing(list: ReadonlyArray<number | null | undefined>): void {
  for (let i = 1; i < list.length; i++) expect(list[i]!, JSON.stringify(list)).toBeGreaterThan(list[i - 1]!);
}

describe('version()', () => {
  it('is the seq of the name\'s last write: it grows with every define and replace, is new after a drop + define, undefined once dropped or never defined, the same on every handle', async () => {
    const path = tempCatalogPath();
    const cat = await openCatalog(path);
    const events: Array<{ name: string; version: number; seq: number; kind: string }> = [];
    cat.on('change', ({ name, version, seq, kind }) => events.push({ name, version, seq, kind }));
    const seenA: number[] = [];
    cat.defineSync('a', 1);
    seenA.push(cat.version('a')!);
    cat.replaceSync('a', 2);
    seenA.push(cat.version('a')!);
    await cat.replace('a', 3);
    seenA.push(cat.version('a')!);
    expectIncreasing(seenA);
    cat.replaceSync('upserted', 1);
    cat.defineSync('gone', 1);
    const goneBefore = cat.version('gone')!;
    cat.dropSync('gone');
    expect(versions(cat, ['a', 'upserted', 'gone', 'never'])).toEqual([seenA[2], expect.any(Number), undefined, undefined]);
    // A name dropped and defined again gets a version it never had (no ABA).
    cat.defineSync('gone', 2);
    expect(cat.version('gone')).toBeGreaterThan(goneBefore);
    // Each write's version is its change event's version and seq.
    await Promise.resolve();
    for (const event of events) expect(event.version, JSON.stringify(event)).toBe(event.kind === 'drop' ? goneBefore : event.seq);
    expect(events.filter((e) => e.name === 'a').map((e) => e.version)).toEqual(seenA);

    const thread = await threadParty(cat);
    const remote = await processParty(path, 'connect');
    for (const party of [thread, remote]) {
      expect(await party.ask({ do: 'version', name: 'a' })).toEqual({ ok: true, version: seenA[2] });
      expect(await party.ask({ do: 'version', name: 'never' })).toEqual({ ok: true, version: null });
    }
    // A write from each party: every handle sees its version once synced.
    const byThread = await thread.ask({ do: 'replaceSync', name: 'a', definition: 4 });
    const byRemote = await remote.ask({ do: 'replace', name: 'a', definition: 5 });
    expect([byThread.ok, byRemote.ok]).toEqual([true, true]);
    expectIncreasing([...seenA, byThread.version, byRemote.version]);
    expect(cat.version('a')).toBe(byRemote.version);
    expect(await thread.ask({ do: 'sync' })).toEqual({ ok: true, version: null });
    expect(await thread.ask({ do: 'version', name: 'a' })).toEqual({ ok: true, version: byRemote.version });
    await Promise.resolve();
    expect(events.at(-1)).toEqual({ name: 'a', kind: 'replace', version: byRemote.version, seq: byRemote.version });
    await thread.end();
    await remote.end();
  });

  it('survives a clean close and reopen, with a snapshot taken in between', async () => {
    const path = tempCatalogPath();
    const writer = await processParty(path, 'own', { compactAfterBytes: 4096 });
    const hot: number[] = [];
    for (let i = 0; i < 40; i++) {
      const answer = await writer.ask({ do: 'replaceSync', name: 'hot', definition: { i, pad: 'x'.repeat(200) } });
      expect(answer.ok).toBe(true);
      hot.push(answer.version!);
    }
    expectIncreasing(hot);
    const cold = await writer.ask({ do: 'replaceSync', name: 'cold', definition: 1 });
    expect(cold.version).toBeGreaterThan(hot.at(-1)!);
    await writer.end();
    expect(existsSync(`${path}.snapshot`)).toBe(true);
    for (let round = 0; round < 2; round++) {
      const cat = await Catalog.open(path);
      expect(versions(cat, ['hot', 'cold'])).toEqual([hot.at(-1), cold.version]);
      await cat.close();
    }
    const readOnly = await Catalog.open(path, { readOnly: true });
    expect(versions(readOnly, ['hot', 'cold'])).toEqual([hot.at(-1), cold.version]);
    await readOnly.close();
    // And the next write after all that gets a version the catalog never gave.
    const cat = await Catalog.open(path);
    cat.replaceSync('hot', 'next');
    expect(cat.version('hot')).toBeGreaterThan(cold.version!);
    await cat.close();
  });

  it('survives a reopen without a journal (versions read back from DuckDB)', async () => {
    const path = tempCatalogPath();
    const first = await Catalog.open(path, { journal: false });
    first.defineSync('a', 1);
    const v1 = first.version('a')!;
    first.replaceSync('a', 2, { ifVersion: v1 });
    const v2 = first.version('a')!;
    await first.replace('a', 3, { ifVersion: v2 });
    const v3 = first.version('a')!;
    expectIncreasing([v1, v2, v3]);
    await first.close();
    const second = await Catalog.open(path, { journal: false });
    expect(second.version('a')).toBe(v3);
    await expect(second.drop('a', { ifVersion: v2 })).rejects.toMatchObject(conflictFields('a', v2, v3));
    // The seq goes on from where it was: the next write's version is new.
    second.replaceSync('a', 4, { ifVersion: v3 });
    expect(second.version('a')).toBeGreaterThan(v3);
    await second.close();
  });

  it('never repeats a version without a journal after kill -9 right after the writes, reopened twice', async () => {
    // DuckDB records its position a moment after a small commit: the seq must not restart
    // from that position while rows carry later versions.
    const path = tempCatalogPath();
    const writer = await processParty(path, 'own', { journal: false });
    const given: number[] = [];
    for (const [i, name] of ['a', 'b', 'a', 'c', 'a'].entries()) {
      const answer = await writer.ask({ do: 'replaceSync', name, definition: i });
      expect(answer.ok).toBe(true);
      given.push(answer.version!);
    }
    expectIncreasing(given);
    await writer.child.kill();
    for (let round = 0; round < 2; round++) {
      const cat = await Catalog.open(path, { journal: false });
      // 'b' was last written by the writer (round 0) or by round 0 itself (round 1).
      expect(versions(cat, ['a', 'b', 'c'])).toEqual([given[4], round === 0 ? given[1] : given.at(-1), given[3]]);
      // A stale version of 'a' stays stale however many writes follow.
      for (let i = 0; i < 3; i++) {
        const conflictError = conflictOf(() => cat.replaceSync('a', 'stale', { ifVersion: given[2]! }));
        expect(conflictError.currentVersion).toBe(cat.version('a'));
        cat.replaceSync('b', `round ${round} write ${i}`);
        expect(cat.version('b')).toBeGreaterThan(Math.max(...given));
        given.push(cat.version('b')!);
      }
      expect(cat.version('a')).toBe(given[4]);
      await cat.close();
    }
  });

  it('survives kill -9 with DuckDB behind the journal, reopened twice, and a stale ifVersion is still refused', async () => {
    const path = tempCatalogPath();
    const writer = await processParty(path, 'own', { applyDelayMs: 60_000 });
    const a1 = (await writer.ask({ do: 'replaceSync', name: 'a', definition: 1 })).version!;
    const a2 = (await writer.ask({ do: 'replace', name: 'a', definition: 2, options: { ifVersion: a1 } })).version!;
    const a3 = (await writer.ask({ do: 'replaceSync', name: 'a', definition: 3, options: { ifVersion: a2 } })).version!;
    const b1 = (await writer.ask({ do: 'replaceSync', name: 'b', definition: 1 })).version!;
    const b2 = (await writer.ask({ do: 'replaceSync', name: 'b', definition: 2 })).version!;
    expectIncreasing([a1, a2, a3, b1, b2]);
    expect(await writer.ask({ do: 'dropSync', name: 'b', options: { ifVersion: b2 } })).toEqual({ ok: true, version: null });
    await writer.child.kill();

    for (let round = 0; round < 2; round++) {
      const cat = await Catalog.open(path);
      expect(versions(cat, ['a', 'b'])).toEqual([a3, undefined]);
      if (round === 0) expect(cat.recovery?.kind).toBe('rolled-forward');
      const stale = conflictOf(() => cat.replaceSync('a', 'stale', { ifVersion: a2 }));
      expect(stale).toMatchObject({ definitionName: 'a', expectedVersion: a2, currentVersion: a3 });
      expect(cat.get('a')).toBe(3);
      // 'b' defined again gets none of its old versions.
      if (round === 0) {
        cat.defineSync('b', 'again');
        expect(cat.version('b')).toBeGreaterThan(b2);
        cat.dropSync('b');
      }
      await cat.close();
    }
  });
});

describe('ifVersion on the owner', () => {
  it('refuses a replace or drop whose version moved on with ERR_CATALOG_CONFLICT carrying the current version, changing nothing', async () => {
    const cat = await openCatalog();
    cat.defineSync('a', 'v1');
    const v1 = cat.version('a')!;
    cat.replaceSync('a', 'v2');
    const v2 = cat.version('a')!;
    expect(v2).toBeGreaterThan(v1);
    const replaced = conflictOf(() => cat.replaceSync('a', 'lost', { ifVersion: v1 }));
    expect(replaced).toMatchObject({ code: 'ERR_CATALOG_CONFLICT', name: 'CatalogConflictError', definitionName: 'a', expectedVersion: v1, currentVersion: v2 });
    expect(replaced.message).toBe(`definition "a" is at version ${v2}, not the expected version ${v1}`);
    expect(conflictOf(() => cat.dropSync('a', { ifVersion: v2 + 1 }))).toMatchObject({ expectedVersion: v2 + 1, currentVersion: v2 });
    await expect(cat.replace('a', 'lost', { ifVersion: v1 })).rejects.toMatchObject(conflictFields('a', v1, v2));
    await expect(cat.drop('a', { ifVersion: v1 })).rejects.toBeInstanceOf(CatalogConflictError);
    expect(cat.get('a')).toBe('v2');
    expect(cat.version('a')).toBe(v2);
    expect((await cat.stats()).refusedOps).toBe(4);

    cat.replaceSync('a', 'v3', { ifVersion: v2 });
    const v3 = cat.version('a')!;
    await cat.replace('a', 'v4', { ifVersion: v3 });
    const v4 = cat.version('a')!;
    expectIncreasing([v1, v2, v3, v4]);
    expect(cat.get('a')).toBe('v4');
    cat.dropSync('a', { ifVersion: v4 });
    expect(cat.has('a')).toBe(false);
  });

  it('treats an absent name as version 0: a guarded replace does not create it, a guarded drop conflicts instead of NOT_FOUND', async () => {
    const cat = await openCatalog();
    expect(conflictOf(() => cat.replaceSync('absent', 1, { ifVersion: 1 }))).toMatchObject({ definitionName: 'absent', expectedVersion: 1, currentVersion: 0 });
    await expect(cat.drop('absent', { ifVersion: 1 })).rejects.toMatchObject(conflictFields('absent', 1, 0));
    expect(cat.has('absent')).toBe(false);
    // Without ifVersion the old answers stand.
    await expect(cat.drop('absent')).rejects.toMatchObject({ code: 'ERR_CATALOG_NOT_FOUND' });
  });

  it('checks each op of one batch against the ops before it: of two guarded replaces sent in one tick, the first wins', async () => {
    const cat = await openCatalog();
    cat.defineSync('a', 0);
    const v1 = cat.version('a')!;
    const results = await Promise.allSettled([cat.replace('a', 'first', { ifVersion: v1 }), cat.replace('a', 'second', { ifVersion: v1 })]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: undefined });
    // The loser carries the winner's version.
    const won = cat.version('a')!;
    expect(won).toBeGreaterThan(v1);
    expect(results[1]).toMatchObject({ status: 'rejected', reason: conflictFields('a', v1, won) });
    expect(cat.get('a')).toBe('first');
  });

  it('applies ifVersion per op in apply(): one conflicting op refuses the whole batch; ops see the ones before them', async () => {
    const cat = await openCatalog();
    cat.defineSync('a', 1);
    cat.defineSync('b', 1);
    const [va, vb] = versions(cat, ['a', 'b']) as [number, number];
    await expect(
      cat.apply([
        { op: 'replace', name: 'a', definition: 2, ifVersion: va },
        { op: 'drop', name: 'b', ifVersion: vb + 100 },
      ]),
    ).rejects.toMatchObject(conflictFields('b', vb + 100, vb));
    expect(versions(cat, ['a', 'b'])).toEqual([va, vb]);
    expect(cat.get('a')).toBe(1);
    // Every op of an apply gets its batch's one version, so a second guarded op on a name
    // names that version: a wrong guess is refused with it (and nothing changes).
    const staged = await cat.apply([
      { op: 'replace', name: 'a', definition: 2, ifVersion: va },
      { op: 'replace', name: 'a', definition: 3, ifVersion: va },
    ]).then(
      () => { throw new Error('expected ERR_CATALOG_CONFLICT, the apply succeeded'); },
      (error: CatalogConflictError) => {
        expect(error).toMatchObject({ code: 'ERR_CATALOG_CONFLICT', definitionName: 'a', expectedVersion: va });
        return error.currentVersion;
      },
    );
    expect(staged).toBeGreaterThan(vb);
    expect(versions(cat, ['a', 'b'])).toEqual([va, vb]);
    await cat.apply([
      { op: 'replace', name: 'a', definition: 2, ifVersion: va },
      { op: 'replace', name: 'a', definition: 3, ifVersion: staged },
      { op: 'drop', name: 'b', ifVersion: vb },
      { op: 'define', name: 'b', definition: 'new' },
    ]);
    expect(versions(cat, ['a', 'b'])).toEqual([staged, staged]);
    expect(staged).toBeGreaterThan(vb);
    expect(cat.entries()).toEqual([
      ['a', 3],
      ['b', 'new'],
    ]);
  });
});

describe('ifVersion from a client thread and from another process', () => {
  it('refuses a stale replace and drop with ERR_CATALOG_CONFLICT (its class and fields intact) on a CatalogClient and a RemoteCatalog', async () => {
    const path = tempCatalogPath();
    const cat = await openCatalog(path);
    cat.defineSync('shared', 'v1');
    const v1 = cat.version('shared')!;
    const parties = { thread: await threadParty(cat), remote: await processParty(path, 'connect') };
    cat.replaceSync('shared', 'v2');
    const v2 = cat.version('shared')!;
    expect(v2).toBeGreaterThan(v1);
    for (const [kind, party] of Object.entries(parties)) {
      for (const write of ['replaceSync', 'replace'] as const) {
        expect(await party.ask({ do: write, name: 'shared', definition: `lost-${kind}`, options: { ifVersion: v1 } }), `${kind} ${write}`).toEqual(conflict('shared', v1, v2));
      }
      for (const drop of ['dropSync', 'drop'] as const) {
        expect(await party.ask({ do: drop, name: 'shared', options: { ifVersion: v1 } }), `${kind} ${drop}`).toEqual(conflict('shared', v1, v2));
        expect(await party.ask({ do: drop, name: 'nobody', options: { ifVersion: 1 } }), `${kind} ${drop}`).toEqual(conflict('nobody', 1, 0));
      }
      expect(await party.ask({ do: 'apply', ops: [{ op: 'replace', name: 'shared', definition: 'lost', ifVersion: v2 + 100 }] })).toEqual(conflict('shared', v2 + 100, v2));
    }
    expect([cat.get('shared'), cat.version('shared')]).toEqual(['v2', v2]);
    // The right version commits from either.
    const v3 = await parties.thread.ask({ do: 'replaceSync', name: 'shared', definition: 'v3', options: { ifVersion: v2 } });
    expect(v3).toEqual({ ok: true, version: expect.any(Number) });
    expect(v3.version).toBeGreaterThan(v2);
    expect(await parties.remote.ask({ do: 'dropSync', name: 'shared', options: { ifVersion: v3.version! } })).toEqual({ ok: true, version: null });
    expect(cat.has('shared')).toBe(false);
    await parties.thread.end();
    await parties.remote.end();
  });

  it('refuses a replace guarded by a version read before another writer dropped and defined the name again (no ABA), on the owner and from another process', async () => {
    const path = tempCatalogPath();
    const cat = await openCatalog(path);
    const remote = await processParty(path, 'connect');
    // The remote process read a version; the owner drops and defines the name again, as two
    // calls and then as one apply.
    cat.defineSync('aba', 'first');
    for (const how of ['two calls', 'one apply'] as const) {
      const read = await remote.ask({ do: 'version', name: 'aba' });
      expect(read.version).toBe(cat.version('aba'));
      if (how === 'two calls') {
        cat.dropSync('aba');
        cat.defineSync('aba', 'second');
      } else {
        await cat.apply([{ op: 'drop', name: 'aba' }, { op: 'define', name: 'aba', definition: 'third' }]);
      }
      const now = cat.version('aba')!;
      expect(now, how).toBeGreaterThan(read.version!);
      expect(await remote.ask({ do: 'replaceSync', name: 'aba', definition: 'lost', options: { ifVersion: read.version } }), how).toEqual(conflict('aba', read.version!, now));
      expect(await remote.ask({ do: 'drop', name: 'aba', options: { ifVersion: read.version } }), how).toEqual(conflict('aba', read.version!, now));
    }
    expect(cat.get('aba')).toBe('third');
    // The other way round: the owner read a version; the remote process drops and defines.
    for (const how of ['two calls', 'one apply'] as const) {
      const read = cat.version('aba')!;
      if (how === 'two calls') {
        expect((await remote.ask({ do: 'dropSync', name: 'aba' })).ok).toBe(true);
        expect((await remote.ask({ do: 'apply', ops: [{ op: 'define', name: 'aba', definition: 'fourth' }] })).ok).toBe(true);
      } else {
        expect((await remote.ask({ do: 'apply', ops: [{ op: 'drop', name: 'aba' }, { op: 'define', name: 'aba', definition: 'fifth' }] })).ok).toBe(true);
      }
      const now = cat.version('aba')!;
      expect(now, how).toBeGreaterThan(read);
      expect(conflictOf(() => cat.replaceSync('aba', 'lost', { ifVersion: read }))).toMatchObject(conflictFields('aba', read, now));
      await expect(cat.replace('aba', 'lost', { ifVersion: read })).rejects.toMatchObject(conflictFields('aba', read, now));
      await expect(cat.drop('aba', { ifVersion: read })).rejects.toMatchObject(conflictFields('aba', read, now));
    }
    expect(cat.get('aba')).toBe('fifth');
    await remote.end();
  });

  it('lets exactly one of several racing writers win a replace with the same ifVersion; the others get the winner\'s version', { timeout: 120_000 }, async () => {
    const path = tempCatalogPath();
    const cat = await openCatalog(path);
    cat.defineSync('contested', { round: -1 });
    // The owner, a client thread and two other processes race each round, in a seeded order.
    const parties: Array<[string, Party]> = [
      ['thread', await threadParty(cat)],
      ['process-1', await processParty(path, 'connect')],
      ['process-2', await processParty(path, 'connect')],
    ];
    const random = seededRandom(10);
    const rounds = 25;
    const winners = new Map<string, number>();
    const seen: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const version = cat.version('contested')!;
      seen.push(version);
      expectIncreasing(seen);
      const order = [...parties].sort(() => random() - 0.5);
      const attempts: Array<Promise<[string, Answer]>> = order.map(async ([who, party]): Promise<[string, Answer]> => [who, await party.ask({ do: random() < 0.5 ? 'replace' : 'replaceSync', name: 'contested', definition: { round, who }, options: { ifVersion: version } })]);
      attempts.splice(
        Math.floor(random() * (attempts.length + 1)),
        0,
        cat.replace('contested', { round, who: 'owner' }, { ifVersion: version }).then(
          (): [string, Answer] => ['owner', { ok: true }],
          (error: CatalogConflictError): [string, Answer] => ['owner', { ok: false, class: error.constructor.name, code: error.code, definitionName: error.definitionName, expectedVersion: error.expectedVersion, currentVersion: error.currentVersion }],
        ),
      );
      const answers = await Promise.all(attempts);
      const won = answers.filter(([, answer]) => answer.ok);
      expect(won, `round ${round}: ${JSON.stringify(answers)}`).toHaveLength(1);
      const winner = won[0]![0];
      winners.set(winner, (winners.get(winner) ?? 0) + 1);
      expect(cat.get('contested')).toEqual({ round, who: winner });
      // The losers carry the winner's version, which is the one every handle shows.
      const winnerVersion = cat.version('contested')!;
      expect(winnerVersion).toBeGreaterThan(version);
      if (won[0]![1].version !== undefined) expect(won[0]![1].version).toBe(winnerVersion);
      for (const [, answer] of answers.filter(([, a]) => !a.ok)) expect(answer).toEqual(conflict('contested', version, winnerVersion));
    }
    const last = cat.version('contested')!;
    expect(last).toBeGreaterThan(seen.at(-1)!);
    // A drop race: one drop wins, the others find the name gone (version 0).
    const drops = await Promise.all(parties.map(([, party]) => party.ask({ do: 'drop', name: 'contested', options: { ifVersion: last } })));
    expect(drops.filter((answer) => answer.ok)).toHaveLength(1);
    for (const answer of drops.filter((a) => !a.ok)) expect(answer).toEqual(conflict('contested', last, 0));
    expect(cat.has('contested')).toBe(false);
    for (const [, party] of parties) await party.end();
  });
});

describe('a bad ifVersion', () => {
  const BAD: unknown[] = [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '1', null, true, 1n];

  it('is refused with ERR_CATALOG_INVALID (options.ifVersion) by every guarded call, as are unknown options; map and file unchanged', async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path);
    cat.defineSync('a', 1);
    const va = cat.version('a');
    const invalid = (field: string) => expect.objectContaining({ code: 'ERR_CATALOG_INVALID', field });
    for (const ifVersion of BAD) {
      const options = { ifVersion } as { ifVersion: number };
      expect(() => cat.replaceSync('a', 2, options), String(ifVersion)).toThrow(invalid('options.ifVersion'));
      expect(() => cat.dropSync('a', options)).toThrow(invalid('options.ifVersion'));
      await expect(cat.replace('a', 2, options)).rejects.toThrow(invalid('options.ifVersion'));
      await expect(cat.drop('a', options)).rejects.toThrow(invalid('options.ifVersion'));
      await expect(cat.apply([{ op: 'drop', name: 'a', ifVersion: ifVersion as number }])).rejects.toThrow(invalid('ops[0].ifVersion'));
    }
    // @ts-expect-error a misspelled option is refused, not ignored
    expect(() => cat.replaceSync('a', 2, { ifversion: 1 })).toThrow(invalid('options.ifversion'));
    // @ts-expect-error options must be an object
    await expect(cat.drop('a', 1)).rejects.toThrow(invalid('options'));
    // Define takes no ifVersion (a new name has no version to guard).
    await expect(cat.apply([{ op: 'define', name: 'b', definition: 1, ifVersion: 1 }])).rejects.toThrow(invalid('ops[0].ifVersion'));
    expect(cat.entries()).toEqual([['a', 1]]);
    expect(cat.version('a')).toBe(va);
    await cat.close();
    const reopened = await Catalog.open(path);
    expect([reopened.entries(), reopened.version('a')]).toEqual([[['a', 1]], va]);
    await reopened.close();
  });

  it('is refused the same by a RemoteCatalog', async () => {
    const path = tempCatalogPath();
    const cat = await openCatalog(path);
    cat.defineSync('a', 1);
    const va = cat.version('a');
    const remote = await processParty(path, 'connect');
    for (const ifVersion of [0, 1.5, '2', null]) {
      expect(await remote.ask({ do: 'replaceSync', name: 'a', definition: 2, options: { ifVersion } })).toMatchObject({ ok: false, code: 'ERR_CATALOG_INVALID', field: 'options.ifVersion' });
    }
    expect(await remote.ask({ do: 'drop', name: 'a', options: { ifVersions: 1 } })).toMatchObject({ ok: false, code: 'ERR_CATALOG_INVALID', field: 'options.ifVersions' });
    expect([cat.get('a'), cat.version('a')]).toEqual([1, va]);
    await remote.end();
  });

  it('is refused by the writer too, in requests from other threads and processes (the trust boundary)', () => {
    const limits = { maxNameBytes: 64, maxDefinitionBytes: 1024 };
    for (const ifVersion of [0, -3, 1.5, '1', null, 2 ** 53]) {
      expect(parseClientRequest({ kind: 'write', id: 1, op: 'drop', name: 'a', ifVersion }, limits)).toMatchObject({ ok: false, id: 1, error: { code: 'ERR_CATALOG_INVALID', field: 'options.ifVersion' } });
      expect(parseClientRequest({ kind: 'apply', id: 2, ops: [{ op: 'replace', name: 'a', json: '1', ifVersion }] }, limits)).toMatchObject({ ok: false, id: 2, error: { field: 'ops[0].ifVersion' } });
    }
    expect(parseClientRequest({ kind: 'write', id: 3, op: 'define', name: 'a', json: '1', ifVersion: 1 }, limits)).toMatchObject({ ok: false, error: { field: 'options.ifVersion' } });
    expect(parseClientRequest({ kind: 'write', id: 4, op: 'replace', name: 'a', json: '1', ifVersion: 7 }, limits)).toEqual({ ok: true, request: { kind: 'write', id: 4, op: 'replace', name: 'a', json: '1', ifVersion: 7 } });
    expect(parseClientRequest({ kind: 'apply', id: 5, ops: [{ op: 'drop', name: 'a', ifVersion: 2 }, { op: 'define', name: 'b', json: '1' }] }, limits)).toEqual({
      ok: true,
      request: { kind: 'apply', id: 5, ops: [{ op: 'drop', name: 'a', ifVersion: 2 }, { op: 'define', name: 'b', json: '1' }] },
    });
  });
});

describe('CatalogConflictError', () => {
  it('keeps its name and versions across the wire and through a SQL error message', () => {
    const original = new SourceConflictError('x "y"', 3, 5);
    for (const rebuilt of [fromWireError(structuredClone(toWireError(original))), fromWireError(JSON.parse(JSON.stringify(toWireError(original))))]) {
      expect(rebuilt).toBeInstanceOf(SourceConflictError);
      expect(rebuilt).toMatchObject({ definitionName: 'x "y"', expectedVersion: 3, currentVersion: 5, message: original.message });
    }
    const fromSql = catalogErrorFromSql(new Error(`Invalid Input Error: ERR_CATALOG_CONFLICT: ${new CatalogConflictError('v', 1, 0).message}`));
    expect(fromSql).toBeInstanceOf(CatalogConflictError);
    expect(fromSql).toMatchObject({ definitionName: 'v', expectedVersion: 1, currentVersion: 0 });
  });
});
