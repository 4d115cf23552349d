import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Catalog, type CatalogChange, type CatalogDisconnect } from 'duckcat';
import { fixture } from './helpers/child.js';
import { LineChild } from './helpers/line-child.js';

/** What every party reports per change: the event and what a read inside the listener saw. */
interface Seen {
  readonly name: string;
  readonly kind: string;
  readonly version: number;
  readonly seq: number;
  readonly seen: unknown;
}

/** A thread party: the fixture in a worker, its reports kept in order. */
class ThreadParty {
  readonly worker: Worker;
  readonly reports: Array<Record<string, unknown>> = [];
  constructor(catalog: Catalog) {
    const port = catalog.port();
    this.worker = new Worker(fixture('events-party.mjs'), { workerData: { port }, transferList: [port] });
    this.worker.on('message', (report: Record<string, unknown>) => this.reports.push(report));
  }
  send(command: object): void {
    this.worker.postMessage(command);
  }
}

async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'duckcat-events-'));
  path = join(dir, 'catalog.duckdb');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('change events', () => {
  it('owner, client thread and remote process each see every change, in commit order, with kind and version, after their map shows it', async () => {
    const owner = await Catalog.open(path);
    const ownerSeen: Seen[] = [];
    owner.on('change', (change) => ownerSeen.push({ ...change, seen: owner.get(change.name) ?? null }));
    const thread = new ThreadParty(owner);
    await until(() => thread.reports.some((r) => r.ready === true), 'the thread');
    const remote = new LineChild('events-party.mjs', [path, 'remote']);
    try {
      expect(JSON.parse(await remote.next())).toMatchObject({ ready: true });
      const remoteSeen: Seen[] = [];
      const threadSeen = () => thread.reports.filter((r) => r.event === 'change') as unknown as Seen[];

      // Each write by another party; every party must have seen it before the next one,
      // so what each listener read is exactly that change.
      const steps: Array<{ by: 'owner' | 'thread' | 'remote'; op: 'define' | 'replace' | 'drop'; name: string; definition?: unknown }> = [
        { by: 'owner', op: 'define', name: 'a', definition: { v: 1 } },
        { by: 'thread', op: 'replace', name: 'a', definition: { v: 2 } },
        { by: 'remote', op: 'replace', name: 'a', definition: { v: 3 } },
        { by: 'remote', op: 'define', name: 'b', definition: [1] },
        { by: 'thread', op: 'drop', name: 'a' },
        { by: 'owner', op: 'drop', name: 'b' },
        { by: 'thread', op: 'define', name: 'a', definition: 'again' },
      ];
      for (const [i, step] of steps.entries()) {
        if (step.by === 'owner') {
          if (step.op === 'define') owner.defineSync(step.name, step.definition as object);
          else if (step.op === 'drop') owner.dropSync(step.name);
          else owner.replaceSync(step.name, step.definition as object);
        } else if (step.by === 'thread') thread.send(step);
        else remote.child.stdin!.write(`${JSON.stringify(step)}\n`);
        await until(() => ownerSeen.length > i && threadSeen().length > i, `step ${i} on the owner and the thread`);
        while (remoteSeen.length <= i) {
          const report = JSON.parse(await remote.next()) as Record<string, unknown>;
          if (report.event === 'change') remoteSeen.push(report as unknown as Seen);
          else expect(report.failed, JSON.stringify(report)).toBeUndefined();
        }
      }

      const expected = [
        { name: 'a', kind: 'define', seen: { v: 1 } },
        { name: 'a', kind: 'replace', seen: { v: 2 } },
        { name: 'a', kind: 'replace', seen: { v: 3 } },
        { name: 'b', kind: 'define', seen: [1] },
        { name: 'a', kind: 'drop', seen: null },
        { name: 'b', kind: 'drop', seen: null },
        { name: 'a', kind: 'define', seen: 'again' },
      ];
      for (const seen of [ownerSeen, threadSeen(), remoteSeen]) {
        expect(seen.map(({ name, kind, seen: value }) => ({ name, kind, seen: value }))).toEqual(expected);
        const seqs = seen.map((change) => change.seq);
        expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
        expect(new Set(seqs).size).toBe(seqs.length);
        // A define or replace's version is its seq; a drop's is the version it removed.
        const last = new Map<string, number>();
        for (const change of seen) {
          expect(change.version, JSON.stringify(change)).toBe(change.kind === 'drop' ? last.get(change.name) : change.seq);
          last.set(change.name, change.version);
        }
      }
      // 'a' defined again after its drop: a version it never had.
      const versionsOfA = ownerSeen.filter((change) => change.name === 'a').map((change) => change.version);
      expect(versionsOfA.slice(0, -1)).not.toContain(versionsOfA.at(-1));
      // The same version everywhere (owner's map included).
      expect(owner.version('a')).toBe(versionsOfA.at(-1));
      expect(threadSeen().map((c) => c.version)).toEqual(ownerSeen.map((c) => c.version));
      expect(remoteSeen.map((c) => c.version)).toEqual(ownerSeen.map((c) => c.version));
      // The same batch has the same seq everywhere.
      expect(threadSeen().map((c) => c.seq)).toEqual(ownerSeen.map((c) => c.seq));
      expect(remoteSeen.map((c) => c.seq)).toEqual(ownerSeen.map((c) => c.seq));
    } finally {
      await remote.end();
      await thread.worker.terminate();
      await owner.close();
    }
  });

  it('a sync write returns before its own event; one event per name of an apply batch, all with its seq', async () => {
    const owner = await Catalog.open(path);
    try {
      const seen: CatalogChange[] = [];
      owner.on('change', (change) => seen.push(change));
      owner.defineSync('x', 1);
      expect(seen).toEqual([]);
      await Promise.resolve();
      expect(seen).toMatchObject([{ name: 'x', kind: 'define', version: owner.version('x') }]);
      expect(seen[0]!.version).toBe(seen[0]!.seq);
      await owner.apply([
        { op: 'replace', name: 'x', definition: 2 },
        { op: 'define', name: 'y', definition: 3 },
      ]);
      await until(() => seen.length === 3, 'the batch');
      // The ops of one apply share its batch's version: its seq.
      expect(seen.slice(1)).toMatchObject([
        { name: 'x', kind: 'replace', version: seen[1]!.seq },
        { name: 'y', kind: 'define', version: seen[1]!.seq },
      ]);
      expect([owner.version('x'), owner.version('y')]).toEqual([seen[1]!.seq, seen[1]!.seq]);
      expect(seen[1]!.seq).toBe(seen[2]!.seq);
      expect(seen[1]!.seq).toBeGreaterThan(seen[0]!.seq);
    } finally {
      await owner.close();
    }
  });

  it('a listener that throws reaches the error event; the map, the link and later listeners go on', async () => {
    const owner = await Catalog.open(path);
    try {
      const errors: unknown[] = [];
      const later: string[] = [];
      owner.on('error', (error) => errors.push(error));
      owner.on('change', () => {
        throw new Error('listener bug');
      });
      owner.defineSync('x', 1);
      await new Promise((resolve) => setTimeout(resolve, 0));
      owner.on('change', (change) => later.push(change.name));
      await owner.define('y', 2);
      await until(() => errors.length === 2, 'two listener errors');
      expect((errors[0] as Error).message).toBe('listener bug');
      expect(owner.get('x')).toBe(1);
      expect(owner.list()).toEqual(['x', 'y']);
      expect(owner.connected).toBe(true);
    } finally {
      await owner.close();
    }
  });

  it('watch() yields the changes as an async iterator and ends when aborted', async () => {
    const owner = await Catalog.open(path);
    try {
      const abort = new AbortController();
      const names: string[] = [];
      const loop = (async () => {
        for await (const change of owner.watch({ signal: abort.signal })) {
          names.push(`${change.kind} ${change.name}`);
          if (names.length === 3) abort.abort();
        }
      })();
      await owner.define('a', 1);
      await owner.replace('a', 2);
      await owner.drop('a');
      await loop;
      expect(names).toEqual(['define a', 'replace a', 'drop a']);
    } finally {
      await owner.close();
    }
  });
});

describe('disconnect events', () => {
  it('a remote catalog hears ERR_CATALOG_CLOSED with the pid when its owner closes cleanly', async () => {
    const owner = new LineChild('events-party.mjs', [path, 'owner']);
    const { pid } = JSON.parse(await owner.next()) as { pid: number };
    const remote = await Catalog.connect(path);
    const disconnected = new Promise<CatalogDisconnect>((resolve) => remote.once('disconnect', resolve));
    // Only the event tells: no call of this handle is made until it arrived.
    await owner.end();
    expect(await disconnected).toEqual({ code: 'ERR_CATALOG_CLOSED', pid });
    expect(remote.connected).toBe(false);
    await remote.close();
  });

  it('a remote catalog hears ERR_CATALOG_WRITER_EXITED with the pid when its owner is SIGKILLed', async () => {
    const owner = new LineChild('events-party.mjs', [path, 'owner']);
    const { pid } = JSON.parse(await owner.next()) as { pid: number };
    const remote = await Catalog.connect(path);
    const disconnected = new Promise<CatalogDisconnect>((resolve) => remote.once('disconnect', resolve));
    await owner.kill();
    expect(await disconnected).toEqual({ code: 'ERR_CATALOG_WRITER_EXITED', pid });
    expect(remote.connected).toBe(false);
    await remote.close();
  });

  it('a client thread hears ERR_CATALOG_CLOSED when the owner closes; no event for a handle closing itself', async () => {
    const owner = await Catalog.open(path);
    const thread = new ThreadParty(owner);
    const second = new ThreadParty(owner);
    try {
      await until(() => thread.reports.some((r) => r.ready === true) && second.reports.some((r) => r.ready === true), 'the threads');
      second.send({ op: 'close' });
      await until(() => second.reports.some((r) => r.closed === true), 'the second client to close');
      const ownSelf: CatalogDisconnect[] = [];
      owner.on('disconnect', (info) => ownSelf.push(info));
      await owner.close();
      await until(() => thread.reports.some((r) => r.event === 'disconnect'), 'the disconnect event');
      expect(thread.reports.filter((r) => r.event === 'disconnect')).toEqual([{ event: 'disconnect', code: 'ERR_CATALOG_CLOSED', pid: process.pid }]);
      expect(second.reports.filter((r) => r.event === 'disconnect')).toEqual([]);
      expect(ownSelf).toEqual([]);
    } finally {
      await thread.worker.terminate();
      await second.worker.terminate();
      await owner.close();
    }
  });
});
