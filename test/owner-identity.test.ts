import { Catalog } from 'duckcat';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempCatalogPath, tempDir } from './helpers/temp-catalog.js';

const hasProc = existsSync('/proc/self/stat');

describe('who owns a catalog file', () => {
  it.skipIf(!hasProc)('takes over the owner file of an earlier incarnation with the same pid (a restarted container PID 1)', async () => {
    const path = tempCatalogPath();
    writeFileSync(`${path}.owner`, `${process.pid} 1\n`);
    const cat = await Catalog.open(path);
    cat.defineSync('after-restart', 1);
    const [pid, start] = readFileSync(`${path}.owner`, 'utf8').trim().split(' ');
    expect(Number(pid)).toBe(process.pid);
    expect(start).not.toBe('1');
    await cat.close();
  });

  it('refuses a second open through a symlink to an open catalog file (one real file, one owner)', async () => {
    const path = tempCatalogPath();
    const link = join(tempDir(), 'alias.duckdb');
    const cat = await Catalog.open(path);
    symlinkSync(path, link);
    await expect(Catalog.open(link)).rejects.toMatchObject({ code: 'ERR_CATALOG_LOCKED', pid: process.pid });
    cat.defineSync('still-owned', 1);
    await cat.close();
    const viaLink = await Catalog.open(link);
    expect(viaLink.get('still-owned')).toBe(1);
    await viaLink.close();
  });

  it('never writes through an owner file planted as a symlink', async () => {
    const path = tempCatalogPath();
    const victim = join(tempDir(), 'victim.txt');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, `${path}.owner`);
    const cat = await Catalog.open(path);
    cat.defineSync('x', 1);
    await cat.close();
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it("never deletes a user's regular file named <file>.sock; the catalog then just serves no other process", async () => {
    const path = tempCatalogPath();
    writeFileSync(`${path}.sock`, 'mine\n');
    const cat = await Catalog.open(path);
    cat.defineSync('x', 1);
    await expect(Catalog.connect(path)).rejects.toMatchObject({ code: 'ERR_CATALOG_WRITER_EXITED' });
    await cat.close();
    expect(readFileSync(`${path}.sock`, 'utf8')).toBe('mine\n');
  });
});
