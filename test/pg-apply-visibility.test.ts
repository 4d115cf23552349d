// An apply() is one batch on a PostgreSQL-backed catalog too, for every replica: another
// catalog on the same URL sees all of it at once (one change seq, never a part), as every
// handle of a file catalog does — also when the batch is larger than one page of the
// change feed's catch-up read.
import { Catalog, type CatalogChange } from 'duckcat';
import { afterAll, expect, it } from 'vitest';
import { describePg, pgDatabase } from './helpers/pg-test.js';

const OPS = 8000;

describePg('pg apply visibility', () => {
  const open: Catalog[] = [];
  afterAll(async () => {
    for (const catalog of open.splice(0)) await catalog.close();
  });

  it(`shows another catalog an apply of ${OPS} defines all at once`, async () => {
    const url = await pgDatabase('pg_apply');
    const writer = await Catalog.open(url);
    open.push(writer);
    const reader = await Catalog.open(url);
    open.push(reader);
    const names = Array.from({ length: OPS }, (_, i) => `n${i}`);
    const events: CatalogChange[] = [];
    /** At each change event, whether the reader's map held the batch's first and last name. */
    const views: Array<[boolean, boolean]> = [];
    reader.on('change', (change) => {
      events.push(change);
      views.push([reader.has(names[0]!), reader.has(names[OPS - 1]!)]);
    });
    await writer.apply(names.map((name, i) => ({ op: 'define' as const, name, definition: { i } })));
    await reader.sync();
    await new Promise((resolve) => setImmediate(resolve));
    expect(reader.size).toBe(OPS);
    expect(events).toHaveLength(OPS);
    expect(new Set(events.map((event) => event.seq)).size).toBe(1);
    expect(views.filter(([first, last]) => first !== last)).toHaveLength(0);
  });
});
