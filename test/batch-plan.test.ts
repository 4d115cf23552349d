import { describe, expect, it } from 'vitest';
import type { WriteRequest } from '../src/shared/protocol.js';
import { planBatch } from '../src/writer-worker/batch-plan.js';

let nextId = 1;
const define = (name: string, json = '1'): WriteRequest => ({ kind: 'write', id: nextId++, op: 'define', name, json });
const replace = (name: string, json = '2'): WriteRequest => ({ kind: 'write', id: nextId++, op: 'replace', name, json });
const drop = (name: string): WriteRequest => ({ kind: 'write', id: nextId++, op: 'drop', name });

describe('planBatch', () => {
  it('gives each op its own result as if run one after another', () => {
    const plan = planBatch(new Map([['a', 1]]), [define('a'), define('b'), drop('c'), replace('a', '"x"')], 7);
    expect(plan.replies.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual([
      'ERR_CATALOG_EXISTS',
      'ok',
      'ERR_CATALOG_NOT_FOUND',
      'ok',
    ]);
    expect(plan.inserts).toEqual([['b', '1', 7]]);
    expect(plan.updates).toEqual([['a', '"x"', 7]]);
    expect(plan.deletes).toEqual([]);
  });

  it('reduces several ops on one name to one statement', () => {
    const plan = planBatch(new Map([['a', 3]]), [drop('a'), define('a', '"new"'), replace('a', '"newer"')], 9);
    expect(plan.replies.every((r) => r.ok)).toBe(true);
    expect(plan.updates).toEqual([['a', '"newer"', 9]]);
    expect(plan.inserts).toEqual([]);
    expect(plan.deletes).toEqual([]);
  });

  it('writes nothing for a name defined and dropped in the same batch', () => {
    const plan = planBatch(new Map(), [define('t'), drop('t')], 2);
    expect(plan.replies.every((r) => r.ok)).toBe(true);
    expect([...plan.inserts, ...plan.updates, ...plan.deletes]).toEqual([]);
  });

  it('changes the index only when told the batch committed', () => {
    const index = new Map([['a', 1]]);
    const plan = planBatch(index, [drop('a'), define('b')], 5);
    expect(index).toEqual(new Map([['a', 1]]));
    expect(plan.changes).toEqual({ names: ['a', 'b'], jsons: [null, '1'], versions: [1, 5] });
    plan.commitTo(index);
    expect(index).toEqual(new Map([['b', 5]]));
  });

  it('never gives a name a version it had before, even after a drop and a new define', () => {
    const index = new Map([['a', 4]]);
    const drop1 = planBatch(index, [drop('a')], 5);
    drop1.commitTo(index);
    const again = planBatch(index, [define('a')], 6);
    expect(again.replies[0]).toMatchObject({ ok: true, version: 6 });
  });
});
