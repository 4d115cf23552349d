import { Catalog, type ReadonlyJson } from 'duckcat';
import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { spawnFixture } from './helpers/child.js';
import { readRecords } from './helpers/journal-bytes.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

async function rejection(promise: Promise<unknown>): Promise<{ code?: string; field?: string; definitionName?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string };
  }
  throw new Error('expected a rejection');
}

describe('catalog.apply', () => {
  for (const commit of ['journal', 'duckdb'] as const) {
    it(`commits every op as one journal record, in order, and reopening twice shows them (commit: '${commit}')`, async () => {
      const path = tempCatalogPath();
      const cat = await Catalog.open(path, { commit });
      cat.defineSync('x', 1);
      const before = readRecords(`${path}.journal`).records.length;
      await cat.apply([
        { op: 'define', name: 'a', definition: { v: 1 } },
        { op: 'replace', name: 'a', definition: { v: 2 } },
        { op: 'drop', name: 'x' },
        { op: 'define', name: 'x', definition: 'again' },
        { op: 'replace', name: 'new', definition: [1] },
      ]);
      expect(cat.export()).toEqual({ a: { v: 2 }, new: [1], x: 'again' });
      const records = readRecords(`${path}.journal`).records;
      expect(records.length).toBe(before + 1);
      expect(records.at(-1)!.json).toMatchObject({ t: 'batch', seq: 2 });
      await cat.apply([]);
      await cat.close();
      for (let i = 0; i < 2; i++) {
        const reopened = await Catalog.open(path);
        expect(reopened.export()).toEqual({ a: { v: 2 }, new: [1], x: 'again' });
        await reopened.close();
      }
    });
  }

  it('refuses the whole batch when any op would be refused, and changes nothing', async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path);
    try {
      cat.defineSync('a', 1);
      const seq = (await cat.stats()).lag.journaledSeq;
      expect(await rejection(cat.apply([{ op: 'define', name: 'b', definition: 1 }, { op: 'define', name: 'a', definition: 2 }]))).toMatchObject({ code: 'ERR_CATALOG_EXISTS', definitionName: 'a' });
      expect(await rejection(cat.apply([{ op: 'replace', name: 'a', definition: 3 }, { op: 'drop', name: 'ghost' }]))).toMatchObject({ code: 'ERR_CATALOG_NOT_FOUND', definitionName: 'ghost' });
      expect(await rejection(cat.apply([{ op: 'define', name: 'c', definition: 1 }, { op: 'rename' as 'define', name: 'c' }]))).toMatchObject({ code: 'ERR_CATALOG_INVALID', field: 'ops[1].op' });
      expect(await rejection(cat.apply([{ op: 'define', name: 'c', definition: 10n as unknown as ReadonlyJson }]))).toMatchObject({ code: 'ERR_CATALOG_INVALID', field: 'ops[0].definition' });
      expect(await rejection(cat.apply([{ op: 'drop', name: '' }]))).toMatchObject({ code: 'ERR_CATALOG_INVALID', field: 'ops[0].name' });
      expect(cat.export()).toEqual({ a: 1 });
      expect((await cat.stats()).lag.journaledSeq).toBe(seq);
    } finally {
      await cat.close();
    }
  });

  it('applies over the owner\'s socket (as another process does) as one batch, checked against the owner\'s limits', async () => {
    const path = tempCatalogPath();
    const owner = await Catalog.open(path, { maxDefinitionBytes: 64 });
    try {
      const remote = await Catalog.connect(path);
      try {
        await remote.apply([{ op: 'define', name: 'r1', definition: 1 }, { op: 'define', name: 'r2', definition: 2 }]);
        expect(owner.export()).toEqual({ r1: 1, r2: 2 });
        const refused = await rejection(remote.apply([{ op: 'drop', name: 'r1' }, { op: 'define', name: 'big', definition: 'x'.repeat(100) }]));
        expect(refused).toMatchObject({ code: 'ERR_CATALOG_INVALID', field: 'ops[1].definition' });
        await remote.sync();
        expect(remote.export()).toEqual({ r1: 1, r2: 2 });
        expect(owner.export()).toEqual({ r1: 1, r2: 2 });
      } finally {
        await remote.close();
      }
    } finally {
      await owner.close();
    }
  });
});

describe('catalog.apply across SIGKILL', () => {
  it('leaves every batch whole or absent, and every acknowledged batch present, after kill -9 (reopened twice)', async () => {
    const path = tempCatalogPath();
    const perApply = 200;
    const child = spawnFixture('apply-writer.mjs', [path, String(perApply)]);
    const acked: number[] = [];
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      for (const match of chunk.matchAll(/acked (\d+)/g)) acked.push(Number(match[1]));
    });
    const exited = new Promise((resolve) => child.on('close', resolve));
    // Seeded by the batch count, not by time: kill once a fixed number of batches were acknowledged.
    for (let i = 0; i < 6000 && acked.length < 5; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(acked.length).toBeGreaterThanOrEqual(5);
    child.kill('SIGKILL');
    await exited;
    const newestAcked = Math.max(...acked);
    for (let reopen = 0; reopen < 2; reopen++) {
      const cat = await Catalog.open(path);
      const byBatch = new Map<number, number>();
      for (const name of cat.list()) {
        const k = Number(name.split('-')[0]);
        byBatch.set(k, (byBatch.get(k) ?? 0) + 1);
      }
      for (const [k, count] of byBatch) expect([k, count]).toEqual([k, perApply]);
      for (let k = 0; k <= newestAcked; k++) expect(byBatch.get(k)).toBe(perApply);
      await cat.close();
    }
  });
});

describe('apply requests on the socket are checked like API calls', () => {
  it('refuses a malformed apply whole, to its sender alone, and the writer keeps working', async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path);
    const socket = createConnection(`${path}.sock`);
    socket.on('error', () => undefined);
    const replies = new Map<number, { ok: boolean; error?: { code: string; field?: string } }>();
    let buffered = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        const message = JSON.parse(buffered.slice(0, newline)) as { kind: string; id?: number; ok: boolean; replies?: Array<{ id: number; ok: boolean }> };
        buffered = buffered.slice(newline + 1);
        if (message.kind === 'reply' && message.id !== undefined) replies.set(message.id, message);
        for (const reply of message.replies ?? []) replies.set(reply.id, reply);
      }
    });
    await new Promise((resolve) => socket.once('connect', resolve));
    const send = (id: number, ops: unknown) => socket.write(`${JSON.stringify({ kind: 'apply', id, ops })}\n`);
    send(1, 'nope');
    send(2, [{ op: 'define', name: 'a', json: '1' }, 7]);
    send(3, [{ op: 'define', name: 'a', json: '1' }, { op: 'define', name: 'b', json: '{not json' }]);
    send(4, [{ op: 'define', name: 'a', json: '1' }, { op: 'drop', name: '' }]);
    send(5, [{ op: 'define', name: 'a', json: '1' }, { op: 'define', name: 'b', json: '[2]' }]);
    for (let i = 0; i < 3000 && replies.size < 5; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect([1, 2, 3, 4].map((id) => replies.get(id))).toEqual([
      expect.objectContaining({ ok: false, error: expect.objectContaining({ code: 'ERR_CATALOG_INVALID', field: 'request.ops' }) }),
      expect.objectContaining({ ok: false, error: expect.objectContaining({ code: 'ERR_CATALOG_INVALID', field: 'ops[1]' }) }),
      expect.objectContaining({ ok: false, error: expect.objectContaining({ code: 'ERR_CATALOG_INVALID', field: 'ops[1].definition' }) }),
      expect.objectContaining({ ok: false, error: expect.objectContaining({ code: 'ERR_CATALOG_INVALID', field: 'ops[1].name' }) }),
    ]);
    expect(replies.get(5)).toMatchObject({ ok: true });
    cat.defineSync('after', 3);
    expect(cat.export()).toEqual({ a: 1, after: 3, b: [2] });
    socket.destroy();
    await cat.close();
  });
});
