// The short fingerprint of a stored definition that the crash writer reports in its
// acknowledgements and the checker recomputes from the reopened catalog.
import { createHash } from 'node:crypto';

/** @param {unknown} value a JSON value @returns {string} 16 hex characters */
export function valueHash(value) {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

/** A small seeded PRNG (mulberry32): the same seed gives the same stream of numbers in [0, 1). */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
