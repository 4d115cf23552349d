// A session PostgreSQL cut while it was idle (pg_terminate_backend; the server stays up) is
// only found dead by the next call that uses it. That call reconnects once within its own
// timeoutMs and succeeds: writes (sync, async, apply), sync() and the feed's log reads;
// nothing is reported, nothing is lost, and another catalog sees every write.
import { Catalog } from 'duckcat';
import { expect, it } from 'vitest';
import { closedAfterEach } from './helpers/closed-after-each.js';
import { adminQuery } from './helpers/pg-cluster.js';
import { readPgCatalog } from './helpers/pg-rows.js';
import { describePg, pgDatabase } from './helpers/pg-test.js';

const ROUNDS = 30;
const APP = 'duckcat_cut';

const open = closedAfterEach();

/** Cuts every session of the catalog opened with application_name APP, waiting (up to 5 s) until each has ended. */
async function cut(url: string): Promise<void> {
  await adminQuery(url, 'SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = $1', [APP]);
}

describePg('pg sessions cut while idle', () => {
  it('reconnects within the call for writes, apply and sync(), reporting nothing and losing nothing', async () => {
    const url = await pgDatabase('pg_cut');
    const cat = await Catalog.open(url, { pg: { application_name: APP }, timeoutMs: 5_000 });
    open.track(cat);
    const other = await Catalog.open(url);
    open.track(other);
    const failures: string[] = [];
    const attempt = async (what: string, call: () => unknown) => {
      try {
        await call();
      } catch (error) {
        failures.push(`${what}: ${(error as { code?: string }).code} ${(error as Error).message}`);
      }
    };
    for (let round = 0; round < ROUNDS; round++) {
      await cut(url);
      switch (round % 4) {
        case 0:
          await attempt('defineSync', () => cat.defineSync(`s${round}`, round));
          break;
        case 1:
          await attempt('define', () => cat.define(`a${round}`, round));
          break;
        case 2:
          await attempt('apply', () => cat.apply([{ op: 'define', name: `p${round}`, definition: round }, { op: 'define', name: `q${round}`, definition: round }]));
          break;
        default:
          other.defineSync(`o${round}`, round);
          await attempt('sync', () => cat.sync());
          if (!cat.has(`o${round}`)) failures.push(`sync: o${round} not visible after sync()`);
      }
    }
    expect(failures).toEqual([]);
    await other.sync();
    await cat.sync();
    const rows = await readPgCatalog(url, 'duckcat');
    for (const view of [cat, other]) expect(view.list().sort().map((name) => [name, view.get(name), view.version(name)])).toEqual(rows.entries);
  });
});
