import { Catalog, CatalogError } from 'duckcat';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, runFixture } from './helpers/child.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

/** A process running test/fixtures/hold-catalog.mjs, driven line by line over stdin/stdout. */
class Holder {
  readonly child: ChildProcess;
  readonly #lines: string[] = [];
  readonly #waiters: Array<(line: string) => void> = [];

  constructor(path: string, readOnly = false) {
    this.child = spawn(process.execPath, [fixture('hold-catalog.mjs'), path, ...(readOnly ? ['--read-only'] : [])], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let buffer = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        const waiter = this.#waiters.shift();
        if (waiter === undefined) this.#lines.push(line);
        else waiter(line);
      }
    });
    holders.push(this);
  }

  /** The next stdout line; fails after 30 s. */
  next(): Promise<string> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no line from hold-catalog within 30 s')), 30_000);
      this.#waiters.push((next) => {
        clearTimeout(timer);
        resolve(next);
      });
    });
  }

  async ask(command: string): Promise<string> {
    this.child.stdin!.write(`${command}\n`);
    return this.next();
  }

  /** Waits for "ready <pid>" and returns the pid. */
  async ready(): Promise<number> {
    const line = await this.next();
    expect(line).toMatch(/^ready \d+$/);
    return Number(line.split(' ')[1]);
  }

  async close(): Promise<void> {
    const exited = once(this.child, 'exit');
    expect(await this.ask('close')).toBe('closed');
    expect((await exited)[0]).toBe(0);
  }
}

const holders: Holder[] = [];
afterEach(() => {
  for (const holder of holders.splice(0)) if (holder.child.exitCode === null) holder.child.kill('SIGKILL');
});

interface OpenResult {
  ok?: true;
  names?: string[];
  code?: string;
  pid?: number;
}

async function openElsewhere(path: string, readOnly = false): Promise<OpenResult> {
  const result = await runFixture('open-catalog.mjs', [path, ...(readOnly ? ['--read-only'] : [])]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as OpenResult;
}

async function openInThread(path: string, readOnly = false): Promise<OpenResult> {
  const worker = new Worker(fixture('open-catalog.mjs'), { workerData: { path, readOnly } });
  // Listen for 'exit' first: it can be emitted in the same tick as the last message.
  const exited = once(worker, 'exit');
  const [result] = (await once(worker, 'message')) as [OpenResult];
  await exited;
  return result;
}

async function openHere(path: string, readOnly = false): Promise<CatalogError> {
  try {
    const cat = await Catalog.open(path, { readOnly });
    await cat.close();
  } catch (error) {
    expect(error).toBeInstanceOf(CatalogError);
    return error as CatalogError;
  }
  throw new Error(`opened ${path} although it should be locked`);
}

describe('ownership of a catalog file across processes', () => {
  it('refuses read-write and read-only opens by another process with ERR_CATALOG_LOCKED and the owner pid', async () => {
    const path = tempCatalogPath();
    const owner = new Holder(path);
    const pid = await owner.ready();
    expect(pid).not.toBe(process.pid);
    const [readWrite, readOnly] = await Promise.all([openElsewhere(path), openElsewhere(path, true)]);
    expect(readWrite).toMatchObject({ code: 'ERR_CATALOG_LOCKED', pid });
    expect(readOnly).toMatchObject({ code: 'ERR_CATALOG_LOCKED', pid });
    // This process is "another process" too.
    expect(await openHere(path)).toMatchObject({ code: 'ERR_CATALOG_LOCKED', pid });
    expect(await openHere(path, true)).toMatchObject({ code: 'ERR_CATALOG_LOCKED', pid });
    await owner.close();
  });

  it('opens in another process once the owner has closed, with the owner’s writes', async () => {
    const path = tempCatalogPath();
    const owner = new Holder(path);
    await owner.ready();
    expect(await owner.ask('define first')).toBe('ok');
    expect(await owner.ask('define second')).toBe('ok');
    await owner.close();
    expect(await openElsewhere(path)).toEqual({ ok: true, names: ['first', 'second'] });
  });

  it('lets several read-only processes open a closed catalog at once and refuses their writes with ERR_CATALOG_READ_ONLY', async () => {
    const path = tempCatalogPath();
    const seed = await Catalog.open(path);
    seed.defineSync('shared', 1);
    await seed.close();

    const readers = [new Holder(path, true), new Holder(path, true), new Holder(path, true)];
    const pids = await Promise.all(readers.map((reader) => reader.ready()));
    for (const reader of readers) {
      expect(await reader.ask('list')).toBe('["shared"]');
      expect(await reader.ask('define other')).toBe('error ERR_CATALOG_READ_ONLY');
    }
    // A writer must wait for the readers.
    const writer = await openHere(path);
    expect(writer.code).toBe('ERR_CATALOG_LOCKED');
    expect(pids).toContain((writer as CatalogError & { pid?: number }).pid);
    await Promise.all(readers.map((reader) => reader.close()));
    expect(await openElsewhere(path)).toEqual({ ok: true, names: ['shared'] });
  });

  it('refuses a second open in the same process with ERR_CATALOG_LOCKED and this process’s pid', async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path);
    cat.defineSync('mine', 1);
    expect(await openHere(path)).toMatchObject({ code: 'ERR_CATALOG_LOCKED', pid: process.pid });
    expect(await openHere(path, true)).toMatchObject({ code: 'ERR_CATALOG_LOCKED', pid: process.pid });
    expect(cat.list()).toEqual(['mine']);
    cat.defineSync('still-mine', 2);
    await cat.close();
    const again = await Catalog.open(path);
    expect(again.list()).toEqual(['mine', 'still-mine']);
    await again.close();
  });

  it('refuses a read-write open in the same process while this process has the file open read-only', async () => {
    const path = tempCatalogPath();
    const seed = await Catalog.open(path);
    seed.defineSync('shared', 1);
    await seed.close();
    const reader = await Catalog.open(path, { readOnly: true });
    try {
      expect(await openHere(path)).toMatchObject({ code: 'ERR_CATALOG_LOCKED', pid: process.pid });
    } finally {
      await reader.close();
    }
  });

  it('refuses read-write and read-only opens from another thread while this thread owns the file', async () => {
    const path = tempCatalogPath();
    const owner = await Catalog.open(path);
    try {
      expect(await openInThread(path)).toMatchObject({ code: 'ERR_CATALOG_LOCKED', pid: process.pid });
      expect(await openInThread(path, true)).toMatchObject({ code: 'ERR_CATALOG_LOCKED', pid: process.pid });
    } finally {
      await owner.close();
    }
  });

  it('refuses a read-write open from another thread while this thread has the file open read-only', async () => {
    const path = tempCatalogPath();
    const seed = await Catalog.open(path);
    seed.defineSync('shared', 1);
    await seed.close();
    const reader = await Catalog.open(path, { readOnly: true });
    try {
      expect(await openInThread(path)).toMatchObject({ code: 'ERR_CATALOG_LOCKED', pid: process.pid });
    } finally {
      await reader.close();
    }
  });

  it('does not let the owner file of a SIGKILLed owner block the next open', async () => {
    const path = tempCatalogPath();
    const owner = new Holder(path);
    const pid = await owner.ready();
    expect(await owner.ask('define survivor')).toBe('ok');
    const exited = once(owner.child, 'exit');
    owner.child.kill('SIGKILL');
    await exited;
    expect(readFileSync(`${path}.owner`, 'utf8').split(' ')[0]).toBe(String(pid));

    const cat = await Catalog.open(path);
    expect(cat.list()).toEqual(['survivor']);
    expect(readFileSync(`${path}.owner`, 'utf8').split(' ')[0]).toBe(String(process.pid));
    await cat.close();
    expect(existsSync(`${path}.owner`)).toBe(false);
    expect(await openElsewhere(path)).toEqual({ ok: true, names: ['survivor'] });
  });

  it('keeps the owner writing when a process connects to its socket and hangs up at once', async () => {
    const path = tempCatalogPath();
    const owner = new Holder(path);
    await owner.ready();
    while (!existsSync(`${path}.sock`)) await sleep(20);
    // What a liveness probe (or a client that dies right after connecting) does.
    let connected = 0;
    for (let i = 0; i < 5; i++) {
      const socket = createConnection(`${path}.sock`);
      // once() rejects on 'error': the owner's socket is gone once its writer died.
      const outcome = await once(socket, 'connect').then(() => 'connect', () => 'error');
      socket.destroy();
      if (outcome === 'error') break;
      connected++;
      await sleep(20);
    }
    expect(await owner.ask('define after-probes')).toBe('ok');
    expect(connected).toBe(5);
    await owner.close();
  });
});
