import { Catalog, CatalogLockedError } from 'duckcat';
import { readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LineChild } from './helpers/line-child.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

// A process that holds a catalog read-only serves nobody, and DuckDB keeps every writer
// out meanwhile: Catalog.connect must say so (who, and what to do), not that the owner
// exited. And a killed reader's marker must not outlive it.

/** test/fixtures/hold-catalog.mjs: "ready <pid>" once open; "close" on stdin closes it. */
class Holder extends LineChild {
  constructor(path: string, readOnly: boolean) {
    super('hold-catalog.mjs', [path, ...(readOnly ? ['--read-only'] : [])]);
    holders.push(this);
  }

  async ready(): Promise<number> {
    const line = await this.next();
    expect(line).toMatch(/^ready \d+$/);
    return Number(line.split(' ')[1]);
  }

  async close(): Promise<void> {
    await this.end('close\n');
  }
}

const holders: Holder[] = [];
afterEach(() => {
  for (const holder of holders.splice(0)) holder.child.kill('SIGKILL');
});

function markers(path: string): string[] {
  return readdirSync(dirname(path)).filter((entry) => entry.startsWith(`${basename(path)}.reader-`));
}

async function createCatalog(path: string): Promise<void> {
  const cat = await Catalog.open(path);
  cat.defineSync('shared', 1);
  await cat.close();
}

describe('a process holding the catalog read-only', () => {
  it('makes Catalog.connect throw ERR_CATALOG_LOCKED naming it as a read-only holder, and open works once it closes', async () => {
    const path = tempCatalogPath();
    await createCatalog(path);
    const reader = new Holder(path, true);
    const pid = await reader.ready();
    // The README's process-B pattern: open, and on ERR_CATALOG_LOCKED connect.
    await expect(Catalog.open(path)).rejects.toMatchObject({ code: 'ERR_CATALOG_LOCKED', pid });
    const error = await Catalog.connect(path).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(CatalogLockedError);
    expect(error).toMatchObject({ code: 'ERR_CATALOG_LOCKED', name: 'CatalogLockedError', pid, holder: { pid, readOnly: true } });
    expect((error as Error).message).toMatch(new RegExp(`read-only by process PID ${pid}`));
    expect((error as Error).message).toMatch(/readOnly: true/);
    // What it says to do works: read-only opens share the file...
    const alsoReading = await Catalog.open(path, { readOnly: true });
    expect(alsoReading.get('shared')).toBe(1);
    await alsoReading.close();
    // ...and once the holder closes, the file is free.
    await reader.close();
    expect(markers(path)).toEqual([]);
    const owner = await Catalog.open(path);
    owner.defineSync('after', 2);
    await owner.close();
  });

  it('names one of several read-only holders, each a live process', async () => {
    const path = tempCatalogPath();
    await createCatalog(path);
    const readers = [new Holder(path, true), new Holder(path, true)];
    const pids = await Promise.all(readers.map((reader) => reader.ready()));
    const error = await Catalog.connect(path).catch((failure: unknown) => failure);
    expect(error).toMatchObject({ code: 'ERR_CATALOG_LOCKED', holder: { readOnly: true } });
    expect(pids).toContain((error as CatalogLockedError).holder?.pid);
    await Promise.all(readers.map((reader) => reader.close()));
  });

  it('leaves a marker when killed with SIGKILL; the next open removes it, and connect then says nobody serves', async () => {
    const path = tempCatalogPath();
    await createCatalog(path);
    const reader = new Holder(path, true);
    const pid = await reader.ready();
    expect(markers(path)).toEqual([expect.stringMatching(new RegExp(`\\.reader-${pid}-\\d+$`))]);
    await reader.kill();
    expect(markers(path)).toHaveLength(1);
    // A dead reader blocks nothing: connect says no process serves (not LOCKED)...
    await expect(Catalog.connect(path)).rejects.toMatchObject({ code: 'ERR_CATALOG_WRITER_EXITED' });
    expect(markers(path)).toEqual([]);
    // ...and a read-write open in this process is not refused by it.
    const owner = await Catalog.open(path);
    expect(owner.get('shared')).toBe(1);
    await owner.close();
  });

  it('removes markers of dead processes on a read-write open, and keeps those of live ones', async () => {
    const path = tempCatalogPath();
    await createCatalog(path);
    const reader = new Holder(path, true);
    const pid = await reader.ready();
    const killed = new Holder(path, true);
    const killedPid = await killed.ready();
    await killed.kill();
    expect(markers(path)).toHaveLength(2);
    // The live reader still blocks the writer, and keeps its marker.
    await expect(Catalog.open(path)).rejects.toMatchObject({ code: 'ERR_CATALOG_LOCKED' });
    expect(markers(path)).toEqual([expect.stringMatching(new RegExp(`\\.reader-${pid}-\\d+$`))]);
    expect(markers(path).some((marker) => marker.includes(`-${killedPid}-`))).toBe(false);
    await reader.close();
    expect(markers(path)).toEqual([]);
  });

  it('does not mistake a marker of an earlier incarnation of this pid (another start time) for a reader here', async () => {
    const path = tempCatalogPath();
    await createCatalog(path);
    // Same pid, another start time: what a restarted container's PID 1 finds.
    const stale = `${path}.reader-${process.pid}-99`;
    writeFileSync(stale, `${process.pid} 1\n`);
    const owner = await Catalog.open(path);
    expect(markers(path)).toEqual([]);
    await owner.close();
    // A read-only open clears it too, and writes its own.
    writeFileSync(stale, `${process.pid} 1\n`);
    const reader = await Catalog.open(path, { readOnly: true });
    expect(markers(path)).toEqual([basename(`${path}.reader-${process.pid}-0`)]);
    await reader.close();
    expect(markers(path)).toEqual([]);
  });
});
