import { describe, expect, it } from 'vitest';
import {
  CatalogClosedError,
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

const scenarios: Array<[string, () => CatalogError, string]> = [
  ['CatalogExistsError', () => new CatalogExistsError('a'), ErrorCode.EXISTS],
  ['CatalogNotFoundError', () => new CatalogNotFoundError('a'), ErrorCode.NOT_FOUND],
  ['CatalogInvalidError', () => new CatalogInvalidError('name', 'must not be empty'), ErrorCode.INVALID],
  ['CatalogClosedError', () => new CatalogClosedError(), ErrorCode.CLOSED],
  ['CatalogWriterExitedError', () => new CatalogWriterExitedError('gone'), ErrorCode.WRITER_EXITED],
  ['CatalogTimeoutError', () => new CatalogTimeoutError('slow'), ErrorCode.TIMEOUT],
  ['CatalogLockedError', () => new CatalogLockedError('/x', 42), ErrorCode.LOCKED],
  ['CatalogReadOnlyError', () => new CatalogReadOnlyError(), ErrorCode.READ_ONLY],
  ['CatalogStorageError', () => new CatalogStorageError('disk', { cause: new Error('EIO') }), ErrorCode.STORAGE],
];

describe('CatalogError subclasses', () => {
  for (const [name, make, code] of scenarios) {
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
      expect(rebuilt.code).toBe(code);
      expect(rebuilt.constructor).toBe(original.constructor);
      expect(rebuilt.name).toBe(name);
      expect(rebuilt.message).toBe(original.message);
      expect(rebuilt).toBeInstanceOf(CatalogError);
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
