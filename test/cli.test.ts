import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { Catalog } from 'duckcat';
import { describe, expect, it } from 'vitest';
import { collect, waitForLine, type ChildResult } from './helpers/child.js';
import { copyDirectory, fileBytes, readRecords } from './helpers/journal-bytes.js';
import { tempCatalogPath, tempDir } from './helpers/temp-catalog.js';

// Each test runs several node processes (each opens DuckDB): generous on a loaded machine.
const SLOW = 120_000;

/** The built binary, run as `npx duckcat` runs it: a real process per command. */
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

function spawnCli(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
}

function cli(args: readonly string[], input = ''): Promise<ChildResult> {
  const child = spawnCli(args);
  child.stdin?.end(input);
  return collect(child, SLOW);
}

function json(result: ChildResult): unknown {
  return JSON.parse(result.stdout) as unknown;
}

function errorOf(result: ChildResult): { code: string; message: string; [key: string]: unknown } {
  return (JSON.parse(result.stderr) as { error: { code: string; message: string } }).error;
}

const VIEW = {
  kind: 'semantic_view',
  base_table: 'orders',
  dimensions: [{ name: 'region', expr: 'region' }],
  metrics: [{ name: 'revenue', expr: 'amount', agg: 'sum' }],
};

describe('duckcat CLI: usage', () => {
  it('prints help for the CLI and for every command, and the version', async () => {
    const main = await cli(['--help']);
    expect(main.code).toBe(0);
    const commands = ['ls', 'get', 'define', 'replace', 'drop', 'describe', 'export', 'import', 'stats', 'check', 'watch'];
    for (const command of commands) expect(main.stdout).toContain(`${command} <catalog>`);
    expect(main.stdout).toMatch(/ 16 {2}ERR_CATALOG_LOCKED/);
    const helps = await Promise.all(commands.map((command) => cli([command, '--help'])));
    helps.forEach((help, i) => {
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toContain(`Usage: duckcat ${commands[i]} <catalog>`);
    });
    const version = await cli(['--version']);
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect([version.code, version.stdout.trim()]).toEqual([0, manifest.version]);
  }, SLOW);

  it('exits 1 with the reason on stderr for an unknown command, an unknown option or a missing argument', async () => {
    const path = tempCatalogPath();
    const results = await Promise.all([cli(['frobnicate', path]), cli(['ls', path, '--bogus']), cli(['get', path]), cli(['ls'])]);
    for (const result of results) {
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^duckcat: USAGE: /);
    }
    const scripted = await cli(['get', path, '--json']);
    expect([scripted.code, errorOf(scripted).code]).toEqual([1, 'USAGE']);
  }, SLOW);
});

describe('duckcat CLI on a catalog no process owns', () => {
  it('defines from stdin and from a file, reads back, and maps each error code to its exit code', async () => {
    const path = tempCatalogPath();
    const file = join(dirname(path), 'view.json');
    writeFileSync(file, JSON.stringify(VIEW));
    expect((await cli(['define', path, 'a', '-'], '{"n": 1}')).code).toBe(0);
    const defined = await cli(['define', path, 'sales', file, '--json']);
    expect([defined.code, json(defined)]).toEqual([0, { op: 'define', name: 'sales' }]);
    expect(json(await cli(['get', path, 'a', '--json']))).toEqual({ n: 1 });
    expect(json(await cli(['ls', path, '--json']))).toEqual([
      { name: 'a', kind: 'object', bytes: 7 },
      { name: 'sales', kind: 'semantic_view', bytes: JSON.stringify(VIEW).length },
    ]);
    const human = await cli(['ls', path]);
    expect(human.stdout.split('\n')[0]).toMatch(/^NAME +KIND +BYTES$/);

    const exists = await cli(['define', path, 'a', '-', '--json'], '2');
    expect([exists.code, exists.stdout, errorOf(exists)]).toEqual([10, '', expect.objectContaining({ code: 'ERR_CATALOG_EXISTS', definitionName: 'a' })]);
    const missing = await cli(['drop', path, 'ghost', '--json']);
    expect([missing.code, errorOf(missing).code]).toEqual([11, 'ERR_CATALOG_NOT_FOUND']);
    const notJson = await cli(['define', path, 'b', '-', '--json'], '{oops');
    expect([notJson.code, errorOf(notJson).code]).toEqual([12, 'ERR_CATALOG_INVALID']);
    const notView = await cli(['describe', path, 'a']);
    expect([notView.code, notView.stderr]).toEqual([12, expect.stringContaining('is not a semantic view')]);
    // A read-only command never creates a catalog.
    const empty = tempDir();
    const noCatalog = await cli(['ls', join(empty, 'nothing.duckdb'), '--json']);
    expect([noCatalog.code, errorOf(noCatalog).code]).toEqual([11, 'ERR_CATALOG_NOT_FOUND']);
    expect(readdirSync(empty)).toEqual([]);

    expect((await cli(['replace', path, 'a', '-'], '{"n": 2}')).code).toBe(0);
    expect((await cli(['drop', path, 'sales'])).code).toBe(0);
    const cat = await Catalog.open(path);
    expect(cat.export()).toEqual({ a: { n: 2 } });
    await cat.close();
  }, SLOW);

  it('exports to a file that import reads back into another catalog', async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path);
    cat.defineSync('x', { deep: [1, { y: 'z' }] });
    cat.defineSync('sales', VIEW);
    await cat.close();
    const out = join(dirname(path), 'export.json');
    const exported = await cli(['export', path, '--out', out, '--json']);
    expect([exported.code, json(exported)]).toEqual([0, { out, count: 2 }]);
    const other = tempCatalogPath();
    const imported = await cli(['import', other, out, '--json']);
    expect([imported.code, json(imported)]).toEqual([0, { imported: 2, defined: 2, replaced: 0 }]);
    expect(json(await cli(['export', other, '--json']))).toEqual(JSON.parse(readFileSync(out, 'utf8')));
  }, SLOW);
});

describe('duckcat CLI on a catalog another process owns', () => {
  it('connects to the owner for reads and writes, which the owner sees at once', async () => {
    const path = tempCatalogPath();
    const owner = await Catalog.open(path);
    try {
      owner.defineSync('sales', VIEW);
      owner.defineSync('config', { retries: 3 });
      expect(json(await cli(['ls', path, '--json']))).toEqual([
        { name: 'config', kind: 'object', bytes: 13 },
        { name: 'sales', kind: 'semantic_view', bytes: JSON.stringify(VIEW).length },
      ]);
      const defined = await cli(['define', path, 'new', '-'], '[1, 2]');
      expect(defined.code, defined.stderr).toBe(0);
      expect(owner.get('new')).toEqual([1, 2]);
      const stats = json(await cli(['stats', path, '--json'])) as { access: string; definitions: number; ops: number };
      expect(stats).toMatchObject({ access: 'connected', definitions: 3 });
      expect(stats.ops).toBeGreaterThanOrEqual(3);
      // The same row SQL's describe_semantic_view gives.
      const host = await DuckDBInstance.create(':memory:');
      const connection = await host.connect();
      await owner.attach(connection);
      const sql = (await connection.runAndReadAll("SELECT * FROM describe_semantic_view('sales')")).getRowObjectsJS();
      connection.closeSync();
      host.closeSync();
      const described = await cli(['describe', path, 'sales', '--json']);
      expect([json(described)]).toEqual(sql);
      // check opens nothing read-write: DuckDB's file is the owner's, so only the journal is read.
      const check = await cli(['check', path, '--json']);
      expect(check.code, check.stderr).toBe(0);
      expect(json(check)).toMatchObject({ ok: true, duckdb: { state: 'held', pid: process.pid }, rowsEqual: null });
    } finally {
      await owner.close();
    }
  }, SLOW);

  it('imports all or nothing as one batch: conflicts, invalid entries and an owner refusal write nothing', async () => {
    const path = tempCatalogPath();
    // The owner's limit is smaller than the CLI's default: its refusal comes only when the batch arrives.
    const owner = await Catalog.open(path, { maxDefinitionBytes: 100 });
    try {
      owner.defineSync('kept', 'old');
      const dir = dirname(path);
      const write = (name: string, value: unknown) => {
        writeFileSync(join(dir, name), JSON.stringify(value));
        return join(dir, name);
      };
      const conflict = await cli(['import', path, write('conflict.json', { fresh: 1, kept: 'new' }), '--json']);
      expect([conflict.code, errorOf(conflict)]).toEqual([10, expect.objectContaining({ code: 'ERR_CATALOG_EXISTS', failed: [expect.objectContaining({ name: 'kept' })] })]);
      const invalid = await cli(['import', path, write('invalid.json', { fresh: 1, '': 2 }), '--json']);
      expect([invalid.code, errorOf(invalid).code]).toEqual([12, 'ERR_CATALOG_INVALID']);
      const notObject = await cli(['import', path, write('array.json', [1, 2]), '--json']);
      expect(notObject.code).toBe(12);
      expect(owner.export()).toEqual({ kept: 'old' });

      const refused = await cli(['import', path, write('refused.json', { one: 1, two: 2, kept: 'replaced', huge: 'x'.repeat(500) }), '--replace', '--json']);
      expect(refused.code, refused.stderr).toBe(12);
      expect(errorOf(refused)).toMatchObject({ code: 'ERR_CATALOG_INVALID', field: 'ops[3].definition', failed: [expect.objectContaining({ name: 'huge' })] });
      const seqBefore = (await owner.stats()).lag.journaledSeq;
      expect(owner.export()).toEqual({ kept: 'old' });

      const replaced = await cli(['import', path, write('good.json', { one: 1, kept: 'new' }), '--replace', '--json']);
      expect([replaced.code, json(replaced)]).toEqual([0, { imported: 2, defined: 1, replaced: 1 }]);
      expect(owner.export()).toEqual({ kept: 'new', one: 1 });
      // One import, one batch.
      expect((await owner.stats()).lag.journaledSeq).toBe(seqBefore + 1);
    } finally {
      await owner.close();
    }
  }, SLOW);

  it('watch prints each change made by any process, one JSON line each; exits 0 on SIGINT, 14 when the owner closes', async () => {
    const path = tempCatalogPath();
    const owner = await Catalog.open(path);
    try {
      owner.defineSync('before', 0);
      const watcher = spawnCli(['watch', path, '--json', '--interval', '50']);
      const lines: unknown[] = [];
      let buffer = '';
      watcher.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        buffer += chunk;
        const parts = buffer.split('\n');
        buffer = parts.pop() ?? '';
        for (const line of parts) lines.push(JSON.parse(line));
      });
      const seen = async (count: number) => {
        for (let i = 0; i < 2000 && lines.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
        expect(lines.length).toBeGreaterThanOrEqual(count);
      };
      const done = collect(watcher, SLOW);
      await seen(1);
      expect(lines[0]).toEqual({ ready: true, access: 'connected', definitions: 1 });
      owner.defineSync('w', { v: 1 });
      await seen(2);
      expect((await cli(['replace', path, 'w', '-'], '{"v": 2}')).code).toBe(0);
      await seen(3);
      await owner.drop('before');
      await seen(4);
      expect(lines).toEqual([
        lines[0],
        { op: 'define', name: 'w', definition: { v: 1 } },
        { op: 'replace', name: 'w', definition: { v: 2 } },
        { op: 'drop', name: 'before' },
      ]);
      watcher.kill('SIGINT');
      const result = await done;
      expect(result.code, result.stderr).toBe(0);
      // A watcher learns when the owner closes, and says so with its exit code.
      const second = spawnCli(['watch', path, '--json', '--interval', '50']);
      const secondDone = collect(second, SLOW);
      await waitForLine(second, /"ready":true/, SLOW);
      await owner.close();
      const ended = await secondDone;
      expect([ended.code, JSON.parse(ended.stderr)]).toEqual([14, { error: expect.objectContaining({ code: 'ERR_CATALOG_WRITER_EXITED' }) }]);
    } finally {
      await owner.close();
    }
  }, SLOW);
});

describe('duckcat check', () => {
  it('reports a sound catalog, and damage in a copy of its journal without changing any file', async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path);
    for (let i = 0; i < 6; i++) await cat.define(`d${i}`, { i });
    await cat.close();
    const sound = await cli(['check', path, '--json']);
    expect(sound.code, sound.stderr).toBe(0);
    expect(json(sound)).toMatchObject({ ok: true, problems: [], journal: { lastSeq: 6, batches: 6 }, duckdb: { state: 'readable', appliedSeq: 6, rows: 6 }, rowsEqual: true });

    const copy = join(tempDir(), 'copy');
    copyDirectory(dirname(path), copy);
    const copied = join(copy, 'catalog.duckdb');
    const { records } = readRecords(`${copied}.journal`);
    expect(records.length).toBeGreaterThanOrEqual(6);
    const victim = records[2]!;
    // Damage inside the third record's payload: later records stay intact, so it is damage, not a torn tail.
    const bytes = readFileSync(`${copied}.journal`);
    bytes[victim.payloadStart + 2] = bytes[victim.payloadStart + 2]! ^ 0xff;
    writeFileSync(`${copied}.journal`, bytes);
    const names = readdirSync(copy).sort();
    const digests = () => [...fileBytes(copied, names)].map(([name, bytes]) => [name, createHash('sha256').update(bytes).digest('hex')]);
    const before = digests();

    const damaged = await cli(['check', copied, '--json']);
    expect(damaged.code).toBe(2);
    const report = json(damaged) as { ok: boolean; problems: string[]; notes: string[]; journal: { damage: string[]; highestMissing: number } };
    expect(report.ok).toBe(false);
    expect(report.journal.damage).toEqual([expect.stringMatching(/catalog\.duckdb\.journal: unreadable bytes \d+–\d+/)]);
    expect(report.journal.highestMissing).toBe(3);
    expect(report.problems).toEqual([...report.journal.damage, 'journal lacks batches up to 3']);
    // DuckDB (closed cleanly at batch 6) still holds what the damaged record held.
    expect(report.notes).toEqual([expect.stringContaining('open would rebuild the journal from DuckDB')]);
    const human = await cli(['check', copied]);
    expect([human.code, human.stdout]).toEqual([2, expect.stringContaining('FOUND 2 PROBLEMS (nothing was changed)')]);
    // Nothing created, renamed or rewritten.
    expect(readdirSync(copy).sort()).toEqual(names);
    expect(digests()).toEqual(before);
  }, SLOW);
  it('reports a second row for a name, written into the table by hand (it has no key)', async () => {
    const path = tempCatalogPath();
    const cat = await Catalog.open(path);
    for (let i = 0; i < 3; i++) cat.defineSync(`d${i}`, { i });
    await cat.close();
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    await connection.run(`INSERT INTO semantic_layer._definitions SELECT * FROM semantic_layer._definitions WHERE name = 'd1'`);
    connection.closeSync();
    instance.closeSync();
    const report = await cli(['check', path, '--json']);
    expect(report.code).toBe(2);
    expect((json(report) as { problems: string[] }).problems).toEqual([expect.stringContaining('more than one row for 1 names (d1)')]);
  }, SLOW);
});
