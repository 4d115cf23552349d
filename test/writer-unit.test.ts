import { once } from 'node:events';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Liveness } from '../src/shared/liveness.js';
import type { AckPoint, JournalThreadConfig, Reply, WorkerToMain } from '../src/shared/protocol.js';
import { Slot, WorkerState, createCatalogSlots, createReplySlot } from '../src/shared/slots.js';
import { Parties, PortParty } from '../src/writer-worker/parties.js';
import { StoreLink } from '../src/writer-worker/store-link.js';
import { Writer } from '../src/writer-worker/writer.js';

// The journal thread's Writer driven turn by turn on the test's own thread: the test plays
// the owner, a client thread and the store thread over real MessagePorts, with no worker,
// no journal file and no DuckDB.

/** Answers each 'apply' like the store thread: applied, or apply-failed for the seqs in `refuse`. */
const STORE_PLAYER = `
const { workerData } = require('node:worker_threads');
const { port, slots, refuse } = workerData;
port.on('message', (message) => {
  if (message.kind !== 'apply') return;
  port.postMessage(refuse.includes(message.seq)
    ? { kind: 'apply-failed', seq: message.seq, error: { code: 'ERR_CATALOG_STORAGE', message: 'CHECK constraint failed' } }
    : { kind: 'applied', seq: message.seq, rows: message.rows.length, ms: 1 });
  Atomics.add(slots, ${Slot.DOORBELL}, 1);
  Atomics.notify(slots, ${Slot.DOORBELL});
});
`;

interface Rig {
  readonly writer: Writer;
  readonly owner: MessagePort;
  readonly store: MessagePort;
  readonly parties: Parties<PortParty>;
  readonly slots: Int32Array;
  client(): MessagePort;
}

function rig(ackAfter: AckPoint = 'plan'): Rig {
  const slots = createCatalogSlots();
  const reply = createReplySlot();
  const owner = new MessageChannel();
  const store = new MessageChannel();
  const config: JournalThreadConfig = {
    path: ':memory:',
    readOnly: false,
    journal: false,
    ackAfter,
    maxLagRows: 10_000,
    maxLagMs: 2_000,
    compactAfterBytes: 4 * 2 ** 20,
    maxNameBytes: 1024,
    maxDefinitionBytes: 2 ** 20,
    slots,
    reply,
    port: owner.port2,
    storePort: store.port1,
    acceptDataLoss: false,
  };
  const parties = new Parties<PortParty>();
  const ownerParty = new PortParty(owner.port2, reply, true);
  const liveness = new Liveness(slots, () => parties.wakeAll());
  const link = new StoreLink(store.port1, slots, () => liveness.beat());
  const writer = new Writer(config, { index: new Map(), seq: 0, appliedSeq: 0, log: undefined, recovery: undefined }, link, liveness, parties);
  parties.add(ownerParty);
  Atomics.store(slots, Slot.STORE_STATE, WorkerState.RUNNING);
  return {
    writer,
    owner: owner.port1,
    store: store.port2,
    parties,
    slots,
    client() {
      const channel = new MessageChannel();
      parties.add(new PortParty(channel.port2, createReplySlot(), false));
      return channel.port1;
    },
  };
}

function received(port: MessagePort): WorkerToMain[] {
  const messages: WorkerToMain[] = [];
  for (let message = receiveMessageOnPort(port); message !== undefined; message = receiveMessageOnPort(port)) messages.push(message.message as WorkerToMain);
  return messages;
}

function replies(port: MessagePort): Reply[] {
  return received(port).flatMap((message) => (message.kind === 'reply' ? [message] : 'replies' in message && message.replies !== undefined ? [...message.replies] : []));
}

describe('Writer, driven without a thread', () => {
  it('plans a batch, publishes its changes to every party and answers each its own replies; a second write of a name starts the next batch', async () => {
    const { writer, owner, client } = rig();
    const other = client();
    owner.postMessage({ kind: 'bundle', requests: [
      { kind: 'write', id: 1, op: 'define', name: 'a', json: '1' },
      { kind: 'write', id: 2, op: 'define', name: 'a', json: '2' },
    ] });
    other.postMessage({ kind: 'write', id: 7, op: 'replace', name: 'b', json: '"x"' });
    expect(await writer.turn()).toBe(true);
    // Every write's version is its batch's seq, so the second write of 'a' goes in the next
    // batch (with the other party's write): two states of one name never share a version.
    const ownerMessages = received(owner);
    expect(ownerMessages).toHaveLength(2);
    expect(ownerMessages[0]).toMatchObject({ kind: 'changes', seq: 1, names: ['a'], jsons: ['1'], versions: [1] });
    expect(ownerMessages[1]).toMatchObject({ kind: 'changes', seq: 2, names: ['b'], jsons: ['"x"'], versions: [2] });
    const ownReplies = ownerMessages.flatMap((message) => (message as unknown as { replies: Reply[] }).replies);
    expect(ownReplies.map((reply) => [reply.id, reply.ok ? (reply as { version?: number }).version : reply.error.code])).toEqual([[1, 1], [2, 'ERR_CATALOG_EXISTS']]);
    expect(replies(other)).toEqual([{ kind: 'reply', id: 7, ok: true, version: 2 }]);
    expect(await writer.turn()).toBe(false);
  });

  it('answers a malformed client request with ERR_CATALOG_INVALID to that client alone, and keeps running', async () => {
    const { writer, owner, client } = rig();
    const bad = client();
    bad.postMessage({ kind: 'write', id: 1, op: 'bogus', name: 'x' });
    bad.postMessage({ kind: 'write', id: 2, op: 'define', name: '', json: '1' });
    bad.postMessage({ kind: 'close', id: 3 });
    bad.postMessage(null);
    await writer.turn();
    const answers = replies(bad);
    expect(answers.map((reply) => [reply.id, reply.ok ? 'ok' : reply.error.code])).toEqual([
      [1, 'ERR_CATALOG_INVALID'],
      [2, 'ERR_CATALOG_INVALID'],
      [3, 'ERR_CATALOG_INVALID'],
    ]);
    expect(received(owner)).toEqual([]);
    owner.postMessage({ kind: 'write', id: 1, op: 'define', name: 'fine', json: '1' });
    await writer.turn();
    expect(replies(owner)).toEqual([{ kind: 'reply', id: 1, ok: true, version: 1 }]);
  });

  it('answers sync after the changes it fences, and forgets a party that leaves before answering stats', async () => {
    const { writer, owner, client, parties, store } = rig();
    const other = client();
    other.postMessage({ kind: 'hello', id: 0 });
    await writer.turn();
    // The hello's rows come from the store thread (played here): DuckDB's table as of batch 0.
    expect(receiveMessageOnPort(store)?.message).toEqual({ kind: 'read-rows' });
    expect(received(other)).toEqual([]);
    store.postMessage({ kind: 'rows-now', rows: { names: [], jsons: [], versions: [] }, seq: 0 });
    await writer.turn();
    expect(received(other)).toMatchObject([{ kind: 'hello', seq: 0 }]);
    owner.postMessage({ kind: 'write', id: 1, op: 'define', name: 'k', json: '1' });
    other.postMessage({ kind: 'sync', id: 5 });
    await writer.turn();
    expect(received(other).map((message) => message.kind)).toEqual(['changes', 'reply']);
    expect(replies(owner)).toMatchObject([{ id: 1, ok: true }]);
    expect(parties.size).toBe(2);
    owner.postMessage({ kind: 'stats', id: 2 });
    other.postMessage({ kind: 'leave', id: 0 });
    await writer.turn();
    const [stats] = replies(owner);
    expect(stats).toMatchObject({ id: 2, ok: true, stats: { parties: 1 } });
    expect(parties.size).toBe(1);
  });

  it("a new party's hello is DuckDB's rows plus every batch DuckDB lacks, and no changes come before it", async () => {
    const { writer, owner, parties, store } = rig();
    owner.postMessage({ kind: 'write', id: 1, op: 'define', name: 'a', json: '1' });
    await writer.turn();
    owner.postMessage({ kind: 'write', id: 2, op: 'define', name: 'b', json: '2' });
    await writer.turn();
    // A port handed out by catalog.port(): it listens once it has its hello.
    const channel = new MessageChannel();
    parties.add(new PortParty(channel.port2, createReplySlot(), false, { listening: false }));
    const other = channel.port1;
    other.postMessage({ kind: 'hello', id: 0 });
    await writer.turn();
    expect(receiveMessageOnPort(store)).toBeDefined();
    // Written while DuckDB is read: part of the hello, never a change before it.
    owner.postMessage({ kind: 'write', id: 3, op: 'drop', name: 'a' });
    owner.postMessage({ kind: 'write', id: 4, op: 'replace', name: 'c', json: '"z"' });
    await writer.turn();
    expect(received(other)).toEqual([]);
    // DuckDB holds batch 1 only (a = 1): the hello brings it up to batch 3.
    store.postMessage({ kind: 'rows-now', rows: { names: ['a'], jsons: ['1'], versions: [1] }, seq: 1 });
    await writer.turn();
    const [hello] = received(other);
    expect(hello).toMatchObject({ kind: 'hello', seq: 3 });
    const rows = (hello as { rows: { names: string[]; jsons: string[]; versions: number[] } }).rows;
    // Each row's version is the seq of the batch that wrote it.
    expect(rows.names.map((name, i) => [name, rows.jsons[i], rows.versions[i]]).sort()).toEqual([['b', '2', 2], ['c', '"z"', 3]]);
    owner.postMessage({ kind: 'write', id: 5, op: 'define', name: 'd', json: '4' });
    await writer.turn();
    expect(received(other)).toMatchObject([{ kind: 'changes', seq: 4, names: ['d'] }]);
  });

  it('a port that never said hello receives no changes, only its own replies', async () => {
    const { writer, owner, parties } = rig();
    const channel = new MessageChannel();
    parties.add(new PortParty(channel.port2, createReplySlot(), false, { listening: false }));
    owner.postMessage({ kind: 'write', id: 1, op: 'define', name: 'k', json: '1' });
    await writer.turn();
    expect(received(channel.port1)).toEqual([]);
    channel.port1.postMessage({ kind: 'write', id: 9, op: 'define', name: 'k2', json: '2' });
    await writer.turn();
    // Its reply's version is its batch's seq (2): the owner's write was batch 1.
    expect(received(channel.port1)).toEqual([{ kind: 'replies', replies: [{ kind: 'reply', id: 9, ok: true, version: 2 }] }]);
  });

  it('counts a batch DuckDB refused and replayed op by op once: exact stats', async () => {
    const { writer, owner, store, slots } = rig('store');
    // The store thread, played by a small thread of its own (the Writer blocks while it
    // waits for DuckDB's answer): it refuses the 4-op batch (seq 1) as a whole, then, when
    // each op is replayed on its own (seqs 2..5), refuses only the third.
    const player = new Worker(STORE_PLAYER, { eval: true, workerData: { port: store, slots, refuse: [1, 4] }, transferList: [store] });
    await once(player, 'online');
    owner.postMessage({ kind: 'bundle', requests: ['a', 'b', 'c', 'd'].map((name, i) => ({ kind: 'write', id: i + 1, op: 'define', name, json: '1' })) });
    await writer.turn();
    const outcome = replies(owner).map((reply) => (reply.ok ? (reply as { version?: number }).version : reply.error.code));
    // Each replayed op's version is its own batch's seq; a refused batch's seq is not reused.
    expect(outcome).toEqual([2, 3, 'ERR_CATALOG_STORAGE', 5]);
    owner.postMessage({ kind: 'stats', id: 9 });
    await writer.turn();
    const [stats] = replies(owner);
    expect(stats).toMatchObject({ ok: true, stats: { ops: 4, refusedOps: 0, failedBatches: 2, largestBatch: 4, batches: 5 } });
    await player.terminate();
  });
});
