import { Catalog } from 'duckcat';
import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempCatalogPath } from './helpers/temp-catalog.js';

// Names that differ only in invisible or normalisable ways must stay distinct, byte for
// byte, whichever store a catalog is read back from.
const NAMES = ['\uFEFFx', 'x', '\u200By', 'y', 'caf\u00e9', 'cafe\u0301', 'Case', 'case', '\uFEFF', ' lead', 'trail '];
const COMPACT_AFTER = Symbol.for('duckcat.compactAfterBytes');

function removeJournal(path: string): void {
  for (const entry of readdirSync(dirname(path))) {
    if (entry.startsWith(`${basename(path)}.journal`) || entry.startsWith(`${basename(path)}.snapshot`)) rmSync(join(dirname(path), entry));
  }
}

async function expectNamesTwice(path: string): Promise<void> {
  for (let open = 0; open < 2; open++) {
    const cat = await Catalog.open(path);
    expect(cat.list()).toEqual([...NAMES].sort());
    for (const name of NAMES) expect(cat.get(name)).toEqual({ name });
    await cat.close();
  }
}

describe('names round-trip byte for byte through every store', () => {
  it('through the journal, through DuckDB alone, and through a snapshot written from DuckDB', async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path, { [COMPACT_AFTER]: 2048 } as object);
    for (const name of NAMES) cat.defineSync(name, { name });
    // Enough later writes that the log is sealed and snapshots are written from DuckDB.
    for (let i = 0; i < 60; i++) cat.replaceSync('filler', { i, pad: 'p'.repeat(100) });
    cat.dropSync('filler');
    await cat.close();
    await expectNamesTwice(path);

    // The DuckDB file gone: rebuilt from the journal's snapshot (written from DuckDB) and log.
    rmSync(path);
    await expectNamesTwice(path);

    // The journal gone: everything read back from DuckDB.
    removeJournal(path);
    await expectNamesTwice(path);
  });
});
