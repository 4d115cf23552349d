import { describe, expect, it } from 'vitest';
import { describeViewRow, sortedJson } from '../src/main/sql/describe-row.js';
import { didYouMean } from '../src/main/sql/semantic-request.js';
import { validateSemanticView } from '../src/shared/semantic-view.js';

describe('sortedJson', () => {
  it('sorts the keys of every object, nested ones too, and writes undefined as null', () => {
    expect(sortedJson([{ name: 'a', expr: 'x', inner: { z: 1, a: [{ b: 2, a: 1 }] } }])).toBe('[{"expr":"x","inner":{"a":[{"a":1,"b":2}],"z":1},"name":"a"}]');
    expect(sortedJson(undefined)).toBe('null');
    expect(sortedJson(["status = 'paid'"])).toBe(`["status = 'paid'"]`);
  });
});

describe('describeViewRow', () => {
  it("answers the seeds' six columns", () => {
    const view = validateSemanticView({ base_table: 'orders', dimensions: [{ name: 'region', expr: 'region' }], metrics: [], filters: ['a > 1'] });
    expect(describeViewRow('orders', view)).toEqual(['orders', 'orders', '[{"expr":"region","name":"region"}]', '[]', '["a > 1"]', 'null']);
  });
});

describe('didYouMean', () => {
  it.each([
    ['sale', ['sales', 'orders'], " Did you mean 'sales'?"],
    ['REVENU', ['revenue', 'orders'], " Did you mean 'revenue'?"],
    ['zzz', ['sales'], ''],
    ['x', [], ''],
  ])('%s among %j suggests %j', (wanted, candidates, hint) => {
    expect(didYouMean(wanted, candidates)).toBe(hint);
  });
});
