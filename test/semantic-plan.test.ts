/**
 * The planner and the tokenizer it reads SQL with, without DuckDB: which tables a query
 * needs, each metric's grain and strategy, and where each condition goes.
 */
import { describe, expect, it } from 'vitest';
import { validateSemanticView } from '../src/shared/semantic-view.js';
import { planSemanticView } from '../src/shared/semantic-view-plan.js';
import { checkQuery } from '../src/shared/semantic-view-sql.js';
import { bareWords, conjuncts, qualifiers, textOf, tokenize } from '../src/shared/sql-tokens.js';

const view = validateSemanticView({
  base_table: 'orders',
  alias: 'o',
  primary_key: 'id',
  joins: [
    { table: 'customers', alias: 'c', on: 'o.customer_id = c.id', primary_key: 'id' },
    { table: 'items', alias: 'i', on: 'i.order_id = o.id', primary_key: 'id' },
    { table: 'countries', alias: 'k', on: 'k.code = c.country', primary_key: 'code' },
  ],
  dimensions: [
    { name: 'region', expr: 'c.region' },
    { name: 'continent', expr: 'k.continent' },
    { name: 'sku', expr: 'i.sku' },
  ],
  metrics: [
    { name: 'revenue', expr: 'o.amount', agg: 'sum' },
    { name: 'credit', expr: 'c.credit', agg: 'sum' },
    { name: 'per_credit', expr: 'revenue / credit' },
  ],
});

const plan = (query: unknown) => planSemanticView('v', view, checkQuery(query));

describe('planSemanticView', () => {
  it('needs only the joins the members read, and the joins their on reads', () => {
    expect(plan({ metrics: ['revenue'] }).tables.map((t) => t.ref)).toEqual(['o']);
    expect(plan({ dimensions: ['continent'], metrics: ['revenue'] }).tables.map((t) => t.ref)).toEqual(['o', 'c', 'k']);
    expect(plan({ metrics: ['revenue'], where: "sku = 'a'" }).tables.map((t) => t.ref)).toEqual(['o', 'i']);
  });

  it('aggregates the base table directly through proven many-to-one joins, and by key otherwise', () => {
    expect(plan({ dimensions: ['region'], metrics: ['revenue'] }).groups.map((g) => [g.table.ref, g.strategy])).toEqual([['o', 'direct']]);
    expect(plan({ dimensions: ['sku'], metrics: ['revenue'] }).groups.map((g) => [g.table.ref, g.strategy])).toEqual([['o', 'keyed']]);
    expect(plan({ dimensions: ['region'], metrics: ['per_credit'] }).groups.map((g) => [g.table.ref, g.strategy])).toEqual([
      ['o', 'direct'],
      ['c', 'keyed'],
    ]);
  });

  it('splits where into row conditions and group conditions', () => {
    const p = plan({ dimensions: ['region'], metrics: ['revenue'], where: "region = 'EU' AND revenue > 10 AND o.amount BETWEEN 1 AND 5" });
    expect(p.rowConditions).toEqual(["(c.region) = 'EU'", 'o.amount BETWEEN 1 AND 5']);
    expect(p.groupConditions).toEqual([['(', { column: 'revenue' }, ')', ' ', '>', ' ', '10']]);
  });
});

describe('sql-tokens', () => {
  it('never looks inside strings or quoted identifiers', () => {
    const tokens = tokenize(`o.a || 'c.b AND x' || "k.z"`);
    expect(qualifiers(tokens)).toEqual(['o']);
    expect(bareWords(tokenize(`region || 'region' || "region" || upper(region) || o.region`)).length).toBe(2);
  });

  it('keeps AND inside parentheses, CASE and BETWEEN in one conjunct, and an OR condition whole', () => {
    const parts = (text: string) => conjuncts(tokenize(text)).map(textOf);
    expect(parts('a = 1 AND (b = 2 AND c = 3) AND CASE WHEN d AND e THEN 1 END = 1 AND f BETWEEN 1 AND 2')).toEqual([
      'a = 1',
      '(b = 2 AND c = 3)',
      'CASE WHEN d AND e THEN 1 END = 1',
      'f BETWEEN 1 AND 2',
    ]);
    expect(parts('a AND b OR c')).toEqual(['a AND b OR c']);
  });
});
