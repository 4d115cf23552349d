import { describe, expect, it } from 'vitest';
import { MAX_DEFINITION_DEPTH, serializeDefinition, validateName } from '../src/shared/validate-input.js';

const invalid = (field: string) => expect.objectContaining({ code: 'ERR_CATALOG_INVALID', field });

describe('validateName', () => {
  it('accepts ordinary and unicode names', () => {
    expect(() => validateName('orders_by_region', 1024)).not.toThrow();
    expect(() => validateName('ventas por región 📈', 1024)).not.toThrow();
  });

  it.each([
    ['an empty name', ''],
    ['a NUL character', 'a\u0000b'],
    ['an unpaired surrogate', 'a\ud800'],
    ['a number', 7],
    ['undefined', undefined],
  ])('refuses %s', (_label, name) => {
    expect(() => validateName(name, 1024)).toThrow(invalid('name'));
  });

  it('counts the limit in UTF-8 bytes', () => {
    expect(() => validateName('é'.repeat(512), 1024)).not.toThrow();
    expect(() => validateName('é'.repeat(513), 1024)).toThrow(/1026 UTF-8 bytes, the limit is 1024/);
  });
});

describe('serializeDefinition', () => {
  it('serializes JSON values exactly', () => {
    const value = { base: 'orders', dims: [{ name: 'region', expr: 'region' }], n: 1.5, ok: true, none: null };
    expect(JSON.parse(serializeDefinition(value, 1 << 20))).toEqual(value);
    expect(serializeDefinition('text', 100)).toBe('"text"');
  });

  it.each([
    ['undefined', undefined, 'definition'],
    ['a function', () => 1, 'definition'],
    ['a nested function', { a: { f() {} } }, 'definition.a.f'],
    ['a BigInt', { n: 1n }, 'definition.n'],
    ['NaN', [Number.NaN], 'definition[0]'],
    ['Infinity', { x: Infinity }, 'definition.x'],
    ['a Date', { at: new Date(0) }, 'definition.at'],
    ['a Map', new Map(), 'definition'],
    ['a symbol', Symbol('s'), 'definition'],
    ['a sparse array', [1, , 3], 'definition[1]'],
    ['an undefined property', { a: undefined }, 'definition.a'],
  ])('refuses %s, naming where', (_label, value, field) => {
    expect(() => serializeDefinition(value, 1 << 20)).toThrow(invalid(field));
  });

  it('refuses nesting deeper than MAX_DEFINITION_DEPTH with ERR_CATALOG_INVALID, not a stack overflow', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = [deep];
    expect(() => serializeDefinition(deep, 1 << 30)).toThrow(expect.objectContaining({ code: 'ERR_CATALOG_INVALID', field: 'definition' }));
    let fine: unknown = 1;
    for (let i = 0; i < MAX_DEFINITION_DEPTH; i++) fine = { a: fine };
    expect(serializeDefinition(fine, 1 << 30).length).toBeGreaterThan(MAX_DEFINITION_DEPTH * 6);
  });

  it('refuses cycles', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => serializeDefinition(cyclic, 1 << 20)).toThrow(/circular/);
  });

  it('accepts shared (non-cyclic) references', () => {
    const shared = { x: 1 };
    expect(serializeDefinition({ a: shared, b: shared }, 100)).toBe('{"a":{"x":1},"b":{"x":1}}');
  });

  it('refuses definitions over the size limit', () => {
    expect(() => serializeDefinition('x'.repeat(200), 100)).toThrow(/limit is 100/);
  });
});
