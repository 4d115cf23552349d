// Usage: socket-fuzz-client.mjs <path> <seed> <durationMs>
// Hostile clients of <path>.sock for test/fuzz/reliability.mjs's socket phase, in their own
// process: random bytes, random JSON, random request-shaped objects, an oversized line, a
// client that never reads and a slow reader, for `durationMs`. Prints one JSON summary line.
import { createConnection } from 'node:net';
import fc from 'fast-check';

const [path, seedText, durationText] = process.argv.slice(2);
const seed = Number(seedText);
const until = Date.now() + Number(durationText);
const stats = { connections: 0, lines: 0, bytes: 0, cutOff: 0, replies: 0, repliesOk: 0, oversized: 0, nonReaderSent: 0, slowReplies: 0, connectErrors: 0 };
const sample = (arb, n, offset) => fc.sample(arb, { numRuns: n, seed: seed + offset });
// Names the owner never uses (it writes `own-*`).
const nameArb = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('', '\u0000', '\ud800', 'x'.repeat(5000), '\uFEFFx', 'fz'), fc.integer(), fc.constant(null)).filter((n) => !(typeof n === 'string' && n.startsWith('own-')));
const requestArb = fc.record(
  {
    kind: fc.oneof(fc.constantFrom('write', 'bundle', 'close', 'subscribe', 'read'), fc.string()),
    id: fc.oneof(fc.nat(), fc.integer(), fc.string(), fc.constant(null), fc.double()),
    op: fc.oneof(fc.constantFrom('define', 'replace', 'drop'), fc.string()),
    name: nameArb,
    json: fc.oneof(fc.json(), fc.string(), fc.constant('{"a":1}'), fc.constant('[' .repeat(300))),
    requests: fc.array(fc.anything(), { maxLength: 3 }),
  },
  { requiredKeys: [] },
);

function connect() {
  return new Promise((resolve) => {
    const socket = createConnection(`${path}.sock`);
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      stats.connections++;
      resolve(socket);
    });
    socket.once('close', () => resolve(undefined));
  });
}

function counting(socket) {
  let buffer = '';
  socket.setEncoding('utf8').on('data', (chunk) => {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      stats.replies++;
      if (line.includes('"ok":true')) stats.repliesOk++;
    }
  });
  socket.once('close', () => stats.cutOff++);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function garbageLoop(kind, offset) {
  let round = 0;
  while (Date.now() < until) {
    const socket = await connect();
    if (socket === undefined) {
      stats.connectErrors++;
      await sleep(20);
      continue;
    }
    counting(socket);
    const lines =
      kind === 'bytes'
        ? sample(fc.uint8Array({ maxLength: 300 }), 20, offset + round).map((b) => Buffer.concat([Buffer.from(b), Buffer.from('\n')]))
        : kind === 'json'
          ? sample(fc.json(), 20, offset + round).map((j) => `${j}\n`)
          : sample(requestArb, 20, offset + round).map((r) => `${JSON.stringify(r)}\n`);
    for (const line of lines) {
      if (socket.destroyed) break;
      socket.write(line);
      stats.lines++;
      stats.bytes += line.length;
    }
    await sleep(30);
    socket.destroy();
    round++;
  }
}

async function oversized() {
  while (Date.now() < until) {
    const socket = await connect();
    if (socket === undefined) return;
    socket.on('data', () => undefined);
    const chunk = Buffer.alloc(1024 * 1024, 0x78);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    for (let i = 0; i < 40 && !socket.destroyed; i++) {
      if (!socket.write(chunk)) await Promise.race([new Promise((r) => socket.once('drain', r)), closed]);
    }
    await Promise.race([closed, sleep(2_000)]);
    if (socket.destroyed) stats.oversized++;
    socket.destroy();
    await sleep(200);
  }
}

async function nonReader() {
  const socket = await connect();
  if (socket === undefined) return;
  socket.pause();
  let id = 1;
  // Valid requests whose replies it never reads; bounded on this side by the socket's own buffer.
  while (Date.now() < until && !socket.destroyed) {
    if (socket.writableLength < 8 * 1024 * 1024) {
      for (let i = 0; i < 200; i++) socket.write(`${JSON.stringify({ kind: 'write', id: id++, op: id % 2 ? 'define' : 'drop', name: 'nr-x', json: '{"big":"' + 'b'.repeat(2000) + '"}' })}\n`);
      stats.nonReaderSent += 200;
    }
    await sleep(5);
  }
  socket.destroy();
}

async function slowReader() {
  const socket = await connect();
  if (socket === undefined) return;
  socket.pause();
  let id = 1;
  while (Date.now() < until && !socket.destroyed) {
    socket.write(`${JSON.stringify({ kind: 'write', id: id++, op: 'define', name: `slow-${id}`, json: '1' })}\n`);
    await sleep(10);
    const chunk = socket.read(256);
    if (chunk !== null) stats.slowReplies++;
  }
  socket.destroy();
}

await Promise.all([garbageLoop('bytes', 1), garbageLoop('json', 1_000_000), garbageLoop('requests', 2_000_000), oversized(), nonReader(), slowReader()]);
process.stdout.write(`${JSON.stringify(stats)}\n`);
process.exit(0);
