import { Catalog } from 'duckcat';
import { createConnection, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { tempCatalogPath } from './helpers/temp-catalog.js';

interface WireReply {
  readonly id: number;
  readonly ok: boolean;
  readonly error?: { readonly code: string; readonly field?: string; readonly message: string };
}

/** A raw client of `<file>.sock`: sends lines, collects every reply by id. */
async function rawClient(path: string): Promise<{ socket: Socket; send: (line: string) => void; reply: (id: number) => Promise<WireReply>; closed: Promise<void> }> {
  const socket = createConnection(`${path}.sock`);
  const replies = new Map<number, WireReply>();
  const waiters = new Map<number, (reply: WireReply) => void>();
  let buffered = '';
  const settle = (reply: WireReply) => {
    replies.set(reply.id, reply);
    waiters.get(reply.id)?.(reply);
  };
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      const message = JSON.parse(buffered.slice(0, newline)) as { kind: string; replies?: WireReply[] } & WireReply;
      buffered = buffered.slice(newline + 1);
      if (message.kind === 'reply') settle(message);
      for (const reply of message.replies ?? []) settle(reply);
    }
  });
  // The server cuts off clients that misbehave: a reset is the expected outcome there.
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise((resolve) => socket.once('connect', resolve));
  return {
    socket,
    closed,
    send: (line) => socket.write(`${line}\n`),
    reply: (id) => {
      const known = replies.get(id);
      if (known !== undefined) return Promise.resolve(known);
      return new Promise((resolve) => waiters.set(id, resolve));
    },
  };
}

const write = (id: number, fields: Record<string, unknown>) => JSON.stringify({ kind: 'write', id, ...fields });

describe('requests on the socket are checked like API calls', () => {
  it('answers malformed requests with ERR_CATALOG_INVALID to their sender alone, and the writer keeps working', async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path);
    cat.defineSync('existing', 1);
    const client = await rawClient(path);
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    client.send('null');
    client.send('[]');
    client.send('42');
    client.send(JSON.stringify({ kind: 'write', id: -1, op: 'define', name: 'x', json: '1' }));
    client.send(write(1, { op: 'bogus', name: 'x' }));
    client.send(write(2, { op: 'define', name: '', json: '1' }));
    client.send(write(3, { op: 'define', name: 'a\u0000b', json: '1' }));
    client.send(write(4, { op: 'define', name: 'notjson', json: '{not json' }));
    client.send(write(5, { op: 'define', name: '\ud800', json: '1' }));
    client.send(write(6, { op: 'define', name: 'surrogate', json: JSON.stringify('\udc00') }));
    client.send(write(7, { op: 'define', name: 'deep', json: deep }));
    client.send(write(8, { op: 'define', name: 'nojson' }));
    client.send(JSON.stringify({ kind: 'close', id: 9 }));
    client.send(JSON.stringify({ kind: 'subscribe', id: 10 }));
    client.send(JSON.stringify({ kind: 'bundle', requests: [JSON.parse(write(11, { op: 'drop', name: 7 })), JSON.parse(write(12, { op: 'define', name: 'good', json: '{"a":1}' }))] }));

    const expectations: Array<[number, string]> = [
      [1, 'request.op'],
      [2, 'name'],
      [3, 'name'],
      [4, 'definition'],
      [5, 'name'],
      [6, 'definition'],
      [7, 'definition'],
      [8, 'definition'],
      [9, 'request.kind'],
      [10, 'request.kind'],
      [11, 'name'],
    ];
    for (const [id, field] of expectations) {
      expect(await client.reply(id), `request ${id}`).toMatchObject({ ok: false, error: { code: 'ERR_CATALOG_INVALID', field } });
    }
    expect(await client.reply(12)).toMatchObject({ ok: true });

    // The owner's writes go on; nothing malformed was stored.
    cat.defineSync('after', 2);
    expect(cat.list()).toEqual(['after', 'existing', 'good']);
    const stats = await cat.stats();
    expect(stats.rejectedRequests).toBeGreaterThanOrEqual(15);
    client.socket.destroy();
    await cat.close();
    const reopened = await Catalog.open(path);
    expect(reopened.list()).toEqual(['after', 'existing', 'good']);
    await reopened.close();
  });

  it('cuts off a client that sends bad JSON or an endless line, and only that client', async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path);
    const garbage = await rawClient(path);
    garbage.send('{"kind":');
    await garbage.closed;
    const flood = await rawClient(path);
    const chunk = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < 40 && !flood.socket.destroyed; i++) flood.socket.write(chunk);
    await flood.closed;
    const polite = await rawClient(path);
    polite.send(write(1, { op: 'define', name: 'fine', json: '1' }));
    expect(await polite.reply(1)).toMatchObject({ ok: true });
    cat.defineSync('owner', 1);
    expect(cat.list()).toEqual(['fine', 'owner']);
    polite.socket.destroy();
    await cat.close();
  });
});

describe('a client that stops reading', () => {
  it('is disconnected once it leaves 64 MiB unread; the owner writes on and the writer stays small', { timeout: 60_000 }, async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path);
    const reader = await rawClient(path);
    reader.socket.pause();
    const big = 'x'.repeat(900 * 1024);
    // DuckDB's API loads after open returns: measure from a running catalog (a checkpoint
    // is answered once DuckDB is up), so its start-up is not counted as growth.
    await cat.checkpoint();
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 120; i++) await cat.define(`big${i}`, { i, big });
    // A paused socket cannot see its end: read now, and the server's hang-up arrives.
    let received = 0;
    reader.socket.on('data', (chunk: string) => (received += chunk.length));
    reader.socket.resume();
    await reader.closed;
    expect(received).toBeLessThan(120 * big.length);
    // The owner's catalog is intact and still takes writes.
    cat.defineSync('after', 1);
    expect(cat.size).toBeGreaterThanOrEqual(2);
    const grownMB = (process.memoryUsage().rss - before) / 2 ** 20;
    // The definitions themselves are ~100 MB across the threads; an unbounded socket buffer would add as much again.
    expect(grownMB).toBeLessThan(1_000);
    await cat.close();
  });
});
