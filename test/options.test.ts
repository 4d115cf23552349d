import { describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS, resolveOptions } from '../src/shared/options.js';

describe('resolveOptions', () => {
  it('returns the defaults for undefined', () => {
    expect(resolveOptions(undefined)).toEqual(DEFAULT_OPTIONS);
  });

  it('overrides only what is given', () => {
    expect(resolveOptions({ timeoutMs: 500 })).toEqual({ ...DEFAULT_OPTIONS, timeoutMs: 500 });
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
