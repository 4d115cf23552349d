import { describe, expect, it } from 'vitest';
import { CONNECT_OPTION_KEYS, DEFAULT_OPTIONS, resolveOptions } from '../src/shared/options.js';

describe('resolveOptions', () => {
  it('returns the defaults for undefined', () => {
    expect(resolveOptions(undefined)).toMatchObject(DEFAULT_OPTIONS);
  });

  it('overrides only what is given', () => {
    expect(resolveOptions({ timeoutMs: 500 })).toMatchObject({ ...DEFAULT_OPTIONS, timeoutMs: 500 });
  });

  it("acknowledges after the journal by default, and after DuckDB without a journal", () => {
    expect(resolveOptions({}).commit).toBe('journal');
    expect(resolveOptions({ journal: false }).commit).toBe('duckdb');
    expect(resolveOptions({ commit: 'duckdb' }).commit).toBe('duckdb');
  });

  it.each([
    [{ commit: 'wal' }, 'options.commit'],
    [{ commit: 'journal', journal: false }, 'options.commit'],
    [{ maxLagRows: 0 }, 'options.maxLagRows'],
    [{ maxLagMs: 2 ** 31 }, 'options.maxLagMs'],
    [{ timeoutMs: 2 ** 31 }, 'options.timeoutMs'],
  ])('refuses %j naming %s', (options, field) => {
    expect(() => resolveOptions(options)).toThrow(expect.objectContaining({ code: 'ERR_CATALOG_INVALID', field }));
  });

  it.each([
    [{ timeoutMs: 0 }, 'options.timeoutMs'],
    [{ timeoutMs: -1 }, 'options.timeoutMs'],
    [{ timeoutMs: 1.5 }, 'options.timeoutMs'],
    [{ hangTimeoutMs: '10' }, 'options.hangTimeoutMs'],
    [{ maxNameBytes: Number.NaN }, 'options.maxNameBytes'],
    [{ duckdbThreads: Infinity }, 'options.duckdbThreads'],
    [{ readOnly: 'yes' }, 'options.readOnly'],
    [{ bogus: true }, 'options.bogus'],
  ])('refuses %j naming %s', (options, field) => {
    expect(() => resolveOptions(options)).toThrow(expect.objectContaining({ code: 'ERR_CATALOG_INVALID', field }));
  });

  it('suggests the right spelling of a misspelled option', () => {
    expect(() => resolveOptions({ readonly: true })).toThrow('did you mean "readOnly"');
    expect(() => resolveOptions({ timeout: 5 })).toThrow('did you mean "timeoutMs"');
  });

  it('refuses a non-object', () => {
    expect(() => resolveOptions(5)).toThrow(expect.objectContaining({ code: 'ERR_CATALOG_INVALID', field: 'options' }));
    expect(() => resolveOptions([])).toThrow(expect.objectContaining({ code: 'ERR_CATALOG_INVALID' }));
  });
});

describe('Catalog.connect options', () => {
  it('takes its own options and refuses the owner\'s, naming them', () => {
    expect(resolveOptions({ timeoutMs: 5, openTimeoutMs: 7, readOnly: true }, CONNECT_OPTION_KEYS)).toMatchObject({ timeoutMs: 5, openTimeoutMs: 7, readOnly: true });
    for (const key of ['journal', 'commit', 'maxLagRows', 'duckdbThreads']) {
      expect(() => resolveOptions({ [key]: DEFAULT_OPTIONS[key as keyof typeof DEFAULT_OPTIONS] }, CONNECT_OPTION_KEYS)).toThrow(
        expect.objectContaining({ code: 'ERR_CATALOG_INVALID', field: `options.${key}`, message: expect.stringContaining('not an option here') }),
      );
    }
  });
});
