// Property-based checks of input handling against a model Map, shared by
// test/fuzz.test.ts (a few hundred cases) and test/soak/soak.mjs (--fuzz N).
// Each check throws (fast-check reports the shrunk counterexample) when the catalog
// does something the model does not predict.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { Catalog, CatalogError } from 'duckcat';
import { LIMITS, anyDefinition, anyName, anySequence, expectedOutcome, show, validDefinition } from './arbitraries.mjs';

const CODE = /^ERR_CATALOG_[A-Z_]+$/;

/** Calls `op` on the catalog; an async call must never throw synchronously. */
function call(cat, op) {
  const { name } = op;
  const value = op.definition?.value;
  if (op.via === 'sync') {
    try {
      if (op.kind === 'define') cat.defineSync(name, value);
      else if (op.kind === 'replace') cat.replaceSync(name, value);
      else cat.dropSync(name);
      return Promise.resolve({ ok: true });
    } catch (error) {
      return Promise.resolve({ error });
    }
  }
  let promise;
  try {
    promise = op.kind === 'define' ? cat.define(name, value) : op.kind === 'replace' ? cat.replace(name, value) : cat.drop(name);
  } catch (error) {
    return Promise.resolve({ error, threwSynchronously: true });
  }
  return promise.then(() => ({ ok: true }), (error) => ({ error }));
}

function describeOp(op) {
  const definition = op.kind === 'drop' ? '' : ` (${op.definition?.kind ?? 'valid'} definition)`;
  return `${op.via} ${op.kind} ${show(op.name)}${definition}`;
}

/** Every refusal is a CatalogError with an ERR_CATALOG_* code, and exactly the predicted one. */
function checkOutcome(op, expected, outcome, stats) {
  const label = describeOp(op);
  assert.equal(outcome.threwSynchronously, undefined, `${label}: the async call threw synchronously`);
  if (outcome.error === undefined) {
    assert.equal(expected.code, undefined, `${label}: accepted, but the model expects ${expected.code}`);
    stats.accepted++;
    return;
  }
  const error = outcome.error;
  assert.ok(error instanceof CatalogError, `${label}: refused with a non-CatalogError: ${error?.stack ?? String(error)}`);
  assert.match(error.code, CODE, `${label}: code ${error.code}`);
  assert.equal(error.code, expected.code ?? 'success', `${label}: ${error.message}`);
  stats.refused[error.code] = (stats.refused[error.code] ?? 0) + 1;
}

function applyToModel(model, op, expected) {
  if (expected.code !== undefined || op.kind === 'get') return;
  if (op.kind === 'drop') model.delete(op.name);
  else model.set(op.name, expected.stored);
}

function checkRead(cat, model, name) {
  assert.deepEqual(cat.get(name), model.get(name), `get(${show(name)})`);
  assert.equal(cat.has(name), model.has(name), `has(${show(name)})`);
}

/** The catalog holds exactly the model: names, order, values. */
export function assertEqualsModel(cat, model, when) {
  const expected = [...model.keys()].sort().map((name) => [name, model.get(name)]);
  assert.equal(cat.size, model.size, `${when}: size`);
  assert.deepEqual(cat.list(), expected.map(([name]) => name), `${when}: list()`);
  assert.deepEqual(cat.entries(), expected, `${when}: entries()`);
}

async function reopenAndCompare(path, model) {
  const cat = await Catalog.open(path, LIMITS);
  try {
    assertEqualsModel(cat, model, 'after close and reopen');
  } finally {
    await cat.close();
  }
}

function newStats(property) {
  return { property, cases: 0, accepted: 0, refused: {} };
}

function removeCatalog(path) {
  for (const suffix of ['', '.wal', '.owner', '.journal']) rmSync(`${path}${suffix}`, { force: true, recursive: true });
}

/** Random names (empty, huge, unicode, NUL, lone surrogates, non-strings) through every write call. */
export async function fuzzNames({ runs, dir, seed }) {
  const stats = newStats('names');
  const path = join(dir, 'fuzz-names.duckdb');
  const model = new Map();
  const cat = await Catalog.open(path, LIMITS);
  try {
    const op = fc.record({
      kind: fc.constantFrom('define', 'replace', 'drop'),
      via: fc.constantFrom('sync', 'async'),
      name: anyName,
      definition: validDefinition.map((value) => ({ kind: 'valid', value })),
    });
    await fc.assert(
      fc.asyncProperty(op, async (op) => {
        stats.cases++;
        const expected = expectedOutcome(model, op);
        checkOutcome(op, expected, await call(cat, op), stats);
        applyToModel(model, op, expected);
        checkRead(cat, model, op.name);
      }),
      { numRuns: runs, ...(seed === undefined ? {} : { seed }) },
    );
    assertEqualsModel(cat, model, 'after the last case');
  } finally {
    await cat.close();
  }
  await reopenAndCompare(path, model);
  return stats;
}

/** Random definitions (cycles, BigInt, functions, undefined, Date, sparse arrays, NaN, too big...). */
export async function fuzzDefinitions({ runs, dir, seed }) {
  const stats = newStats('definitions');
  const path = join(dir, 'fuzz-definitions.duckdb');
  const model = new Map();
  const cat = await Catalog.open(path, LIMITS);
  try {
    const op = fc.record({
      kind: fc.constantFrom('define', 'replace', 'replace'),
      via: fc.constantFrom('sync', 'async'),
      name: fc.constantFrom('d1', 'd2', 'd3', 'd4'),
      definition: anyDefinition,
    });
    await fc.assert(
      fc.asyncProperty(op, async (op) => {
        stats.cases++;
        const expected = expectedOutcome(model, op);
        checkOutcome(op, expected, await call(cat, op), stats);
        applyToModel(model, op, expected);
        checkRead(cat, model, op.name);
        const stored = cat.get(op.name);
        if (typeof stored === 'object' && stored !== null) assert.ok(Object.isFrozen(stored), 'get() returns a frozen value');
        // The caller's object is not shared: changing it afterwards changes nothing stored.
        const value = op.definition.value;
        if (expected.code === undefined && typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
          if (Array.isArray(value)) value.push('mutated');
          else value.mutated = true;
          checkRead(cat, model, op.name);
        }
      }),
      { numRuns: runs, ...(seed === undefined ? {} : { seed }) },
    );
    assertEqualsModel(cat, model, 'after the last case');
  } finally {
    await cat.close();
  }
  await reopenAndCompare(path, model);
  return stats;
}

/** Random sequences of sync calls and concurrent async groups, each on a fresh file, then reopened. */
export async function fuzzSequences({ runs, dir, seed }) {
  const stats = newStats('sequences');
  let n = 0;
  await fc.assert(
    fc.asyncProperty(anySequence, async (sequence) => {
      stats.cases++;
      const path = join(dir, `fuzz-sequence-${n++}.duckdb`);
      const model = new Map();
      const cat = await Catalog.open(path, LIMITS);
      try {
        for (const group of sequence) {
          // Expected outcomes in issue order: the one writer commits in that order.
          const expectations = group.map((op) => {
            const expected = op.kind === 'get' ? {} : expectedOutcome(model, op);
            applyToModel(model, op, expected);
            return expected;
          });
          const outcomes = await Promise.all(group.map((op) => (op.kind === 'get' ? undefined : call(cat, op))));
          group.forEach((op, i) => {
            if (op.kind === 'get') checkRead(cat, model, op.name);
            else checkOutcome(op, expectations[i], outcomes[i], stats);
          });
          assertEqualsModel(cat, model, 'after a step');
        }
      } finally {
        await cat.close();
      }
      await reopenAndCompare(path, model);
      removeCatalog(path);
    }),
    { numRuns: runs, ...(seed === undefined ? {} : { seed }) },
  );
  return stats;
}
