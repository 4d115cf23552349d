import { describe, expect, it } from 'vitest';
import { parseSqlLogic } from './sqllogic/parser.js';
import { renderRows } from './sqllogic/render.js';
import { runSqlLogic } from './sqllogic/runner.js';

describe('the SQLLogicTest parser', () => {
  it('reads statements, queries and directives, skipping comments and blank lines', () => {
    const records = parseSqlLogic(
      ['# a comment', 'require semantic_views', '', 'statement ok', 'SELECT 1', '', 'statement error', 'SELECT x', '----', 'not found', '',
        'query TI rowsort', 'SELECT 1', '----', 'a\t1', '', 'load __TEST_DIR__/a.db', '', 'restart'].join('\n'),
    );
    expect(records).toEqual([
      { kind: 'require', line: 2, extension: 'semantic_views' },
      { kind: 'statement', line: 4, expect: 'ok', sql: 'SELECT 1' },
      { kind: 'statement', line: 7, expect: 'error', sql: 'SELECT x', error: 'not found' },
      { kind: 'query', line: 12, types: 'TI', sort: 'rowsort', sql: 'SELECT 1', expected: ['a\t1'] },
      { kind: 'load', line: 17, path: '__TEST_DIR__/a.db' },
      { kind: 'restart', line: 19 },
    ]);
  });

  it('refuses a record it does not support, naming the line', () => {
    expect(() => parseSqlLogic('\nquery X\nSELECT 1')).toThrow(/^line 2: unsupported SQLLogicTest record "query X"/);
    expect(() => parseSqlLogic('mode skip')).toThrow(/line 1/);
  });
});

describe('value rendering', () => {
  it('writes NULL, empty strings, booleans and numbers as SQLLogicTest text, sorting rows for rowsort', () => {
    expect(renderRows([['b', null, true, 2n], ['a', '', false, 1.5]], 'rowsort')).toEqual(['a\t(empty)\tfalse\t1.5', 'b\tNULL\ttrue\t2']);
  });
});

describe('runSqlLogic', () => {
  it('reports each failing record with its line and keeps going', async () => {
    const text = [
      'statement ok', 'CREATE TABLE t AS SELECT 1 AS a', '',
      'query I', 'SELECT a FROM t', '----', '2', '',
      'statement error', 'SELECT 1', '----', 'boom', '',
      'statement error', 'SELECT nope', '----', 'nope', '',
      'query II', 'SELECT a FROM t', '----', '1', '',
      'statement ok', 'SELECT nope', '',
    ].join('\n');
    const result = await runSqlLogic(text, 'inline.test');
    expect(result.records).toBe(6);
    expect(result.passed).toBe(2);
    expect(result.failures).toEqual([
      'inline.test:4: expected\n2\nbut got\n1',
      'inline.test:9: statement succeeded, expected an error containing "boom"',
      'inline.test:19: query returned 1 columns, expected 2',
      expect.stringMatching(/^inline.test:24: statement failed: .*nope/),
    ]);
  });

  it('keeps a file-backed host and its catalog across restart', async () => {
    const text = [
      'require semantic_views', '',
      'load __TEST_DIR__/host.db', '',
      'statement ok', 'CREATE TABLE t AS SELECT 1 AS a', '',
      'statement ok', `SELECT define_semantic_view('v', '{"base_table":"t","dimensions":[],"metrics":[{"name":"n","expr":"count(*)"}]}')`, '',
      'restart', '',
      'query I', "SELECT * FROM semantic_query('v', metrics := ['n'])", '----', '1', '',
      'query T', "SELECT name FROM list_semantic_views()", '----', 'v',
    ].join('\n');
    expect(await runSqlLogic(text)).toEqual({ records: 4, passed: 4, failures: [] });
  });
});
