// One process (or thread) of the Jepsen-style run (test/soak/jepsen.mjs starts them):
//
//   node jepsen-node.mjs owner  <path> <seed> <gen>   owns the catalog; one actor on its main
//                                                      thread and two CatalogClient threads
//   node jepsen-node.mjs remote <path> <seed> <n>      one actor over Catalog.connect, which
//                                                      reconnects whenever its owner is gone
//
// Every actor does a seeded mix of get / list / sync+get / define / replace / drop on the
// contended names, and logs each operation to stdout as JSON lines, written synchronously
// and whole (so a SIGKILL loses at most the line being written):
//   {"h":handle,"i":n,"f":op,"k":name,"v":value,"t0":ms}   a write was invoked
//   {"h":handle,"i":n,"t1":ms,"ok":true} | {..."err":code}  that write returned
//   {"h":handle,"i":n,"f":"get"|"sget","k":name,"r":value|null,"t0":ms,"t1":ms}   a read
//   {"h":handle,"i":n,"f":"list","r":[names],"t0":ms,"t1":ms}
//   {"h":handle,"i":n,"f":"sync","err":code,"t0":ms,"t1":ms}   a failed sync() before a read
// Times are CLOCK_MONOTONIC in ms (process.hrtime), comparable across processes. Values are
// unique per write: `${handle}#${n}`, stored as the definition {"w": value}.
// stdin commands (one per line): `stop` (finish the current operation and stop; answers
// {"stopped":pid}), `dump` (sync every handle and print {"dump":handle,"entries":{name:value}}),
// `exit` (close and exit).
import { createInterface } from 'node:readline';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Catalog, CatalogClient } from 'duckcat';
import { writeLine } from '../fixtures/pipe-write.mjs';
import { NAMES } from './jepsen-check.mjs';
import { seededRandom } from '../crash/value-hash.mjs';


const now = () => Number(process.hrtime.bigint()) / 1e6;
const emit = (event) => writeLine(JSON.stringify(event));
const valueOf = (definition) => (definition === undefined ? null : definition.w);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));


/**
 * Runs operations on `handle` until `state.stop`, or until one fails with an error that
 * leaves the handle unusable (its writer is gone or it was poisoned): returns that error.
 */
async function act(handle, id, random, state) {
  let n = 0;
  while (!state.stop) {
    const i = n++;
    const k = NAMES[Math.floor(random() * NAMES.length)];
    const x = random();
    const blocking = random() < 0.5;
    if (x < 0.28) {
      const t0 = now();
      const r = valueOf(handle.get(k));
      emit({ h: id, i, f: 'get', k, r, t0, t1: now() });
    } else if (x < 0.36) {
      const t0 = now();
      const r = handle.list();
      emit({ h: id, i, f: 'list', r, t0, t1: now() });
    } else if (x < 0.48) {
      const t0 = now();
      try {
        await handle.sync();
      } catch (error) {
        emit({ h: id, i, f: 'sync', err: error.code ?? 'UNEXPECTED', t0, t1: now() });
        if (fatal(error)) return error;
        continue;
      }
      const r = valueOf(handle.get(k));
      emit({ h: id, i, f: 'sget', k, r, t0, t1: now() });
    } else {
      const f = x < 0.62 ? 'define' : x < 0.86 ? 'replace' : 'drop';
      const v = `${id}#${i}`;
      emit({ h: id, i, f, k, v, t0: now() });
      try {
        if (f === 'drop') await (blocking ? handle.dropSync(k) : handle.drop(k));
        else if (f === 'define') await (blocking ? handle.defineSync(k, { w: v }) : handle.define(k, { w: v }));
        else await (blocking ? handle.replaceSync(k, { w: v }) : handle.replace(k, { w: v }));
        emit({ h: id, i, t1: now(), ok: true });
      } catch (error) {
        emit({ h: id, i, t1: now(), err: error.code ?? 'UNEXPECTED', m: String(error.message).slice(0, 200) });
        if (fatal(error)) return error;
      }
    }
    // Let commands (stdin, thread messages) in now and then.
    if (n % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return undefined;
}

/** Errors after which a handle cannot go on (EXISTS, NOT_FOUND and the like leave it usable). */
function fatal(error) {
  return ['ERR_CATALOG_TIMEOUT', 'ERR_CATALOG_WRITER_EXITED', 'ERR_CATALOG_CLOSED'].includes(error?.code) || error?.code === undefined;
}

function dumpOf(handle) {
  return Object.fromEntries(handle.entries().map(([name, definition]) => [name, valueOf(definition)]));
}

/** A CatalogClient thread of the owner process. */
async function threadActor() {
  const { port, id, seed } = workerData;
  const client = CatalogClient.forThread(port);
  const state = { stop: false };
  let stopped;
  const done = new Promise((resolve) => (stopped = resolve));
  parentPort.on('message', async (command) => {
    if (command === 'stop') state.stop = true;
    if (command === 'dump') {
      await done;
      try {
        await client.sync();
        parentPort.postMessage({ dump: id, entries: dumpOf(client) });
      } catch (error) {
        parentPort.postMessage({ dump: id, err: error.code });
      }
    }
  });
  const error = await act(client, id, seededRandom(seed), state);
  if (error !== undefined) emit({ h: id, gone: error.code });
  stopped();
  // Told once its last operation has returned: no handle dumps while another still writes.
  if (state.stop) parentPort.postMessage({ stopped: id });
  else parentPort.on('message', (command) => command === 'stop' && parentPort.postMessage({ stopped: id }));
}

async function owner(path, seed, gen) {
  let cat;
  // The killed owner's lock may take a moment to be seen as stale.
  for (let attempt = 0; cat === undefined; attempt++) {
    try {
      cat = await Catalog.open(path);
    } catch (error) {
      if (attempt > 100) throw error;
      await sleep(100);
    }
  }
  emit({ ready: process.pid, gen, t: now() });
  const threads = [1, 2].map((t) => {
    const port = cat.port();
    return new Worker(new URL(import.meta.url), { workerData: { port, id: `o${gen}t${t}`, seed: seed * 1000 + gen * 10 + t }, transferList: [port] });
  });
  const state = { stop: false };
  const id = `o${gen}m`;
  const main = act(cat, id, seededRandom(seed * 1000 + gen * 10), state).then((error) => {
    if (error !== undefined) emit({ h: id, gone: error.code });
  });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'stop') {
      state.stop = true;
      const stopped = threads.map((thread) => new Promise((resolve) => thread.on('message', (message) => message.stopped !== undefined && resolve())));
      for (const thread of threads) thread.postMessage('stop');
      await main;
      await Promise.all(stopped);
      emit({ stopped: process.pid });
    } else if (line === 'dump') {
      const dumps = threads.map((thread) => new Promise((resolve) => thread.once('message', resolve)));
      for (const thread of threads) thread.postMessage('dump');
      for (const dump of await Promise.all(dumps)) emit(dump);
      await cat.sync();
      emit({ dump: id, entries: dumpOf(cat), owner: true });
    }
  }
}

async function remote(path, seed, n) {
  const state = { stop: false };
  let handle;
  let connections = 0;
  const connect = async (deadline) => {
    while (now() < deadline) {
      try {
        return await Catalog.connect(path);
      } catch {
        await sleep(50);
      }
    }
    return undefined;
  };
  const loop = (async () => {
    const random = seededRandom(seed * 1000 + 500 + n);
    while (!state.stop) {
      handle = await connect(Number.POSITIVE_INFINITY);
      const id = `r${n}c${connections++}`;
      emit({ h: id, connected: process.pid, t: now() });
      const error = await act(handle, id, random, state);
      if (error !== undefined) emit({ h: id, gone: error.code, t: now() });
      if (!state.stop) await handle.close().catch(() => undefined);
    }
    return `r${n}c${connections - 1}`;
  })();
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'stop') {
      state.stop = true;
      await loop;
      emit({ stopped: process.pid });
    } else if (line === 'dump') {
      const id = await loop;
      try {
        if (!handle.connected) {
          await handle.close().catch(() => undefined);
          handle = await connect(now() + 20_000);
        }
        await handle.sync();
        emit({ dump: id, entries: dumpOf(handle) });
      } catch (error) {
        emit({ dump: id, err: error?.code ?? String(error) });
      }
    } else if (line === 'exit') {
      await handle?.close().catch(() => undefined);
      process.exit(0);
    }
  }
}

if (!isMainThread) {
  await threadActor();
} else {
  const [role, path, seed, index] = process.argv.slice(2);
  if (role === 'owner') await owner(path, Number(seed), Number(index));
  else await remote(path, Number(seed), Number(index));
}
