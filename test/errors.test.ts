import { Catalog } from 'duckcat';
import { describe, expect, it } from 'vitest';
import {
  CatalogClosedError,
  CatalogConflictError,
  CatalogCorruptError,
  CatalogError,
  CatalogExistsError,
  CatalogInvalidError,
  CatalogLockedError,
  CatalogNotFoundError,
  CatalogReadOnlyError,
  CatalogStorageError,
  CatalogTimeoutError,
  CatalogWriterExitedError,
  ErrorCode,
} from '../src/shared/errors.js';
import { fromWireError, toWireError } from '../src/shared/wire-error.js';
import { createCheckedTable } from './helpers/checked-table.js';
import { spawnFixture, waitForLine } from './helpers/child.js';
import { tempCatalogPath } from './helpers/temp-catalog.js';

type ErrorClass = abstract new (...args: never[]) => CatalogError;

// Every code that can cross a boundary, with its class: the one table this file holds the
// wire, the socket and the built package to.
const scenarios: Array<[string, () => CatalogError, string, ErrorClass]> = [
  ['CatalogExistsError', () => new CatalogExistsError('a'), ErrorCode.EXISTS, CatalogExistsError],
  ['CatalogNotFoundError', () => new CatalogNotFoundError('a'), ErrorCode.NOT_FOUND, CatalogNotFoundError],
  ['CatalogInvalidError', () => new CatalogInvalidError('name', 'must not be empty'), ErrorCode.INVALID, CatalogInvalidError],
  ['CatalogClosedError', () => new CatalogClosedError(), ErrorCode.CLOSED, CatalogClosedError],
  ['CatalogWriterExitedError', () => new CatalogWriterExitedError('gone'), ErrorCode.WRITER_EXITED, CatalogWriterExitedError],
  ['CatalogTimeoutError', () => new CatalogTimeoutError('slow'), ErrorCode.TIMEOUT, CatalogTimeoutError],
  ['CatalogLockedError', () => new CatalogLockedError('/x', 42), ErrorCode.LOCKED, CatalogLockedError],
  ['CatalogReadOnlyError', () => new CatalogReadOnlyError(), ErrorCode.READ_ONLY, CatalogReadOnlyError],
  ['CatalogStorageError', () => new CatalogStorageError('disk', { cause: new Error('EIO') }), ErrorCode.STORAGE, CatalogStorageError],
  ['CatalogCorruptError', () => new CatalogCorruptError('journal record 3 unreadable', { cause: new Error('bad checksum') }), ErrorCode.CORRUPT, CatalogCorruptError],
  ['CatalogConflictError', () => new CatalogConflictError('a', 1, 2), ErrorCode.CONFLICT, CatalogConflictError],
];

describe('CatalogError subclasses', () => {
  it('covers every error code', () => {
    expect(scenarios.map(([, , code]) => code).sort()).toEqual(Object.values(ErrorCode).sort());
  });

  for (const [name, make, code, Class] of scenarios) {
    it(`${name} has name, code, a message and is a CatalogError and an Error`, () => {
      const error = make();
      expect(error.name).toBe(name);
      expect(error.code).toBe(code);
      expect(error.message.length).toBeGreaterThan(0);
      expect(error).toBeInstanceOf(CatalogError);
      expect(error).toBeInstanceOf(Error);
    });

    it(`${name} survives the trip across the thread boundary with its class, name, code and message`, () => {
      const original = make();
      const rebuilt = fromWireError(structuredClone(toWireError(original)), '/x');
      expect(rebuilt).toBeInstanceOf(Class);
      expect(rebuilt.constructor).toBe(Class);
      expect(rebuilt.name).toBe(name);
      expect(rebuilt.code).toBe(code);
      expect(rebuilt.message).toBe(original.message);
      expect(rebuilt).toBeInstanceOf(CatalogError);
    });

    it(`${name} survives the trip over the socket (a JSON line) with its class, name, code and message`, () => {
      const original = make();
      const rebuilt = fromWireError(JSON.parse(JSON.stringify(toWireError(original))), '/x');
      expect(rebuilt).toBeInstanceOf(Class);
      expect(rebuilt.name).toBe(name);
      expect(rebuilt.code).toBe(code);
      expect(rebuilt.message).toBe(original.message);
    });
  }

  it('keeps the lock owner pid in the message and on the error', () => {
    const error = new CatalogLockedError('/data/c.duckdb', 4242);
    expect(error.pid).toBe(4242);
    expect(error.message).toContain('PID 4242');
    expect(fromWireError(toWireError(error), '/data/c.duckdb')).toMatchObject({ pid: 4242, code: ErrorCode.LOCKED });
  });

  it('keeps the original DuckDB error as cause of a storage error', () => {
    const rebuilt = fromWireError(toWireError(new Error('IO Error: disk full')));
    expect(rebuilt.code).toBe(ErrorCode.STORAGE);
    expect((rebuilt.cause as Error).message).toBe('IO Error: disk full');
  });

  it('names the refused field of an invalid-input error', () => {
    const rebuilt = fromWireError(toWireError(new CatalogInvalidError('options.timeoutMs', 'must be a positive integer')));
    expect(rebuilt).toMatchObject({ field: 'options.timeoutMs', message: 'invalid options.timeoutMs: must be a positive integer' });
  });

  it('recognises errors branded by another copy of the package', () => {
    const foreign = new CatalogClosedError();
    Object.setPrototypeOf(foreign, Error.prototype);
    expect(foreign).toBeInstanceOf(CatalogError);
    expect(new Error('plain')).not.toBeInstanceOf(CatalogError);
  });
});

/** The error a call threw, or a failure if it did not throw. */
async function thrown(call: () => unknown): Promise<CatalogError> {
  try {
    await call();
  } catch (error) {
    return error as CatalogError;
  }
  return expect.unreachable('the call did not throw');
}

describe('errors a RemoteCatalog gets from the owner over the socket', () => {
  // The built package's classes: the ones a user of Catalog.connect matches with instanceof.
  it('keep their class and name for every refusal the owner answers, sync and async', async () => {
    const duckcat = await import('duckcat');
    const path = tempCatalogPath();
    await createCheckedTable(path);
    // commit 'duckdb' so DuckDB's CHECK refusal reaches the caller; the owner's name limit
    // is tighter than the client's, so INVALID is decided by the owner, not locally.
    const owner = await Catalog.open(path, { commit: 'duckdb', maxNameBytes: 12 });
    const remote = await Catalog.connect(path);
    try {
      remote.defineSync('a', 1);
      const cases: Array<[string, () => unknown, ErrorClass, string]> = [
        ['EXISTS', () => remote.defineSync('a', 2), duckcat.CatalogExistsError, 'CatalogExistsError'],
        ['EXISTS async', () => remote.define('a', 2), duckcat.CatalogExistsError, 'CatalogExistsError'],
        ['NOT_FOUND', () => remote.dropSync('missing'), duckcat.CatalogNotFoundError, 'CatalogNotFoundError'],
        ['NOT_FOUND async', () => remote.drop('missing'), duckcat.CatalogNotFoundError, 'CatalogNotFoundError'],
        ['INVALID', () => remote.defineSync('longer-than-twelve', 1), duckcat.CatalogInvalidError, 'CatalogInvalidError'],
        ['STORAGE', () => remote.defineSync('ten-chars!', 1), duckcat.CatalogStorageError, 'CatalogStorageError'],
        ['STORAGE async', () => remote.define('ten-chars!', 1), duckcat.CatalogStorageError, 'CatalogStorageError'],
      ];
      for (const [label, call, Class, name] of cases) {
        const error = await thrown(call);
        expect(error, label).toBeInstanceOf(Class);
        expect(error.name, label).toBe(name);
        expect(error, label).toBeInstanceOf(duckcat.CatalogError);
      }
      expect(await thrown(() => remote.defineSync('longer-than-twelve', 1))).toMatchObject({ field: 'name' });
      expect((await thrown(() => remote.defineSync('ten-chars!', 1))).cause).toMatchObject({ message: expect.stringMatching(/CHECK constraint/) });
      expect(remote.entries()).toEqual([['a', 1]]);
    } finally {
      await remote.close();
      await owner.close();
    }
  });

  it('are WRITER_EXITED once the owning process died, and CLOSED once the client closed, with their classes', async () => {
    const duckcat = await import('duckcat');
    const path = tempCatalogPath();
    const owner = spawnFixture('own-catalog.mjs', [path]);
    await waitForLine(owner, /^owning/);
    const remote = await Catalog.connect(path);
    remote.defineSync('a', 1);
    owner.kill('SIGKILL');
    await new Promise((resolve) => owner.once('close', resolve));
    for (const call of [() => remote.defineSync('b', 1), () => remote.define('b', 1)]) {
      const error = await thrown(call);
      expect(error).toBeInstanceOf(duckcat.CatalogWriterExitedError);
      expect(error.name).toBe('CatalogWriterExitedError');
    }
    await remote.close();
    const error = await thrown(() => remote.defineSync('b', 1));
    expect(error).toBeInstanceOf(duckcat.CatalogClosedError);
    expect(error.name).toBe('CatalogClosedError');
  });
});
