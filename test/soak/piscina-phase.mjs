// Issue 12 item 2, soak phase: a piscina pool with default options (atomics: 'sync') runs
// many tasks against a catalog of `entries` definitions, each task with a fresh port, in
// the README's pattern (CatalogClient.forThread) and in the per-task pattern (fromPort +
// close). Writer parties and RSS must stay flat.
import { Catalog } from 'duckcat';
import { join } from 'node:path';
import { Piscina } from 'piscina';

const TASK = new URL('../fixtures/pool-task-per-thread.mjs', import.meta.url).href;

export async function piscinaPhase({ tasks, entries, dir, log }) {
  const results = {};
  for (const mode of ['per-thread', 'per-task']) {
    const cat = await Catalog.open(join(dir, `piscina-${mode}.duckdb`));
    for (let i = 0; i < entries; i += 1000) await Promise.all(Array.from({ length: Math.min(1000, entries - i) }, (_, j) => cat.define(`seed${i + j}`, { i: i + j, text: 'x'.repeat(300) })));
    const pool = new Piscina({ filename: TASK });
    const parties = [];
    let rssAfterWarmup = 0;
    const started = performance.now();
    for (let done = 0; done < tasks; done += 100) {
      await Promise.all(Array.from({ length: Math.min(100, tasks - done) }, (_, i) => {
        const port = cat.port();
        return pool.run({ port, name: `task${done + i}`, mode }, { transferList: [port] });
      }));
      parties.push((await cat.stats()).parties);
      if (done === 100) rssAfterWarmup = process.memoryUsage().rss;
      log?.(`${mode}: ${done + 100} tasks, parties ${parties.at(-1)}`);
    }
    const rssEnd = process.memoryUsage().rss;
    await pool.destroy();
    await cat.close();
    results[mode] = {
      tasks,
      ms: Math.round(performance.now() - started),
      partiesMax: Math.max(...parties),
      partiesEnd: parties.at(-1),
      rssAfterWarmupMb: Math.round(rssAfterWarmup / 2 ** 20),
      rssEndMb: Math.round(rssEnd / 2 ** 20),
    };
  }
  const failures = [];
  if (results['per-task'].partiesMax !== 1) failures.push(`per-task parties reached ${results['per-task'].partiesMax}`);
  if (results['per-thread'].partiesMax > 1 + 16) failures.push(`per-thread parties reached ${results['per-thread'].partiesMax}`);
  for (const [mode, r] of Object.entries(results)) if (r.rssEndMb - r.rssAfterWarmupMb > 200) failures.push(`${mode}: RSS grew ${r.rssEndMb - r.rssAfterWarmupMb} MB`);
  const summary = { phase: 'piscina', entries, ...results, failures };
  console.log(`piscina: ${JSON.stringify(summary)}`);
  return summary;
}
