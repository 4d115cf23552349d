// planVersioned (src/writer-worker/pg-batch.ts): a PostgreSQL batch's writes get the seq of
// its last change as their version, which depends on how many changes the batch makes.
import { describe, expect, it } from 'vitest';
import type { WriteRequest } from '../src/shared/protocol.js';
import { planVersioned } from '../src/writer-worker/pg-batch.js';

let nextId = 1;
const define = (name: string): WriteRequest => ({ kind: 'write', id: nextId++, op: 'define', name, json: '1' });
const replace = (name: string, ifVersion?: number): WriteRequest => ({ kind: 'write', id: nextId++, op: 'replace', name, json: '2', ...(ifVersion === undefined ? {} : { ifVersion }) });
const drop = (name: string, ifVersion?: number): WriteRequest => ({ kind: 'write', id: nextId++, op: 'drop', name, ...(ifVersion === undefined ? {} : { ifVersion }) });

describe('planVersioned', () => {
  it('gives every write the last change seq of the batch: before + the net change count', () => {
    const plan = planVersioned(new Map([['old', 3]]), [define('a'), define('b'), replace('old'), drop('missing')], 10);
    expect(plan.changes.names).toEqual(['a', 'b', 'old']);
    expect(plan.changes.versions).toEqual([13, 13, 13]);
    expect(plan.replies).toMatchObject([{ ok: true, version: 13 }, { ok: true, version: 13 }, { ok: true, version: 13 }, { ok: false, error: { code: 'ERR_CATALOG_NOT_FOUND' } }]);
  });

  it('keeps a one-change batch at before + 1, and a drop names the version it removed', () => {
    expect(planVersioned(new Map(), [define('a')], 4).changes.versions).toEqual([5]);
    expect(planVersioned(new Map([['a', 2]]), [drop('a')], 4).changes.versions).toEqual([2]);
  });

  it('accepts an apply op guessing the batch\'s version when the guess is consistent', () => {
    // define x, define y, replace x guarded by the batch's version: two changes, version 12.
    const plan = planVersioned(new Map(), [define('x'), define('y'), replace('x', 12)], 10);
    expect(plan.replies.every((reply) => reply.ok)).toBe(true);
    expect(plan.changes.versions).toEqual([12, 12]);
  });

  it('refuses a guess that no version satisfies (accepting it would change the count it guessed)', () => {
    // define x, define y, drop x guarded by 12: accepted, x nets to nothing and the batch is
    // one change (version 11), so the guess is wrong; refused, it is two changes (12): refused.
    const plan = planVersioned(new Map(), [define('x'), define('y'), drop('x', 12)], 10);
    const refused = plan.replies.filter((reply) => !reply.ok);
    expect(refused.map((reply) => !reply.ok && reply.error.code)).toEqual(['ERR_CATALOG_CONFLICT']);
  });
});
