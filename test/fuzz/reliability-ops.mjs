// The deterministic op stream shared by test/fuzz/reliability-child.mjs (which runs it) and
// test/fuzz/reliability.mjs (which models it): op k of seed s is always the same op, and
// valid against the state the ops before it left (define of an absent name, replace or
// drop of a present one), so every op that is acknowledged must succeed.
import { seededRandom } from '../crash/value-hash.mjs';

/**
 * Ops `first` .. `first + count - 1` of the stream of `seed`, over a pool of `pool` names.
 * Replays ops 0 .. first - 1 to know the state; cheap (no I/O).
 */
export function opStream(seed, first, count, pool = 200, pad = 64) {
  const random = seededRandom(seed ^ 0x0b5e55);
  const present = new Set();
  const out = [];
  for (let k = 0; k < first + count; k++) {
    const name = `n${Math.floor(random() * pool)}`;
    const r = random();
    let op;
    if (!present.has(name)) op = 'define';
    else op = r < 0.75 ? 'replace' : 'drop';
    if (op === 'drop') present.delete(name);
    else present.add(name);
    if (k >= first) out.push({ k, op, name, value: op === 'drop' ? null : { k, v: Math.floor(r * 1e9), pad: 'p'.repeat(pad) } });
  }
  return out;
}

/** name -> value after ops 0 .. count - 1 (all applied). */
export function modelAfter(seed, count, pool = 200, pad = 64) {
  const model = new Map();
  for (const op of opStream(seed, 0, count, pool, pad)) {
    if (op.op === 'drop') model.delete(op.name);
    else model.set(op.name, op.value);
  }
  return model;
}
