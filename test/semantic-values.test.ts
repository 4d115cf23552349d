/**
 * Issue 17 item 8: with `values: 'exact'`, DECIMAL and TIMESTAMP values come back exact.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog, validateSemanticView } from 'duckcat';
import { closeMemoryHost, openMemoryHost } from './helpers/memory-host.js';

describe("values: 'exact'", () => {
  let cat: Catalog;
  let host: DuckDBInstance;
  let connection: DuckDBConnection;

  beforeAll(async () => {
    ({ cat, host, connection } = await openMemoryHost());
    await connection.run(`
      CREATE TABLE payments (paid_at TIMESTAMP, amount DECIMAL(18, 2), big HUGEINT);
      INSERT INTO payments VALUES
        ('2024-01-01 00:00:00.000001', 1234567890123456.00, 170141183460469231731687303715884105727),
        ('2024-01-01 00:00:00.000002', 0.79, 0);`);
    cat.defineSync(
      'payments',
      validateSemanticView({
        base_table: 'payments',
        dimensions: [{ name: 'at', expr: 'paid_at' }],
        metrics: [
          { name: 'total', expr: 'amount', agg: 'sum' },
          { name: 'largest', expr: 'big', agg: 'max' },
        ],
      }),
    );
  });

  afterAll(() => closeMemoryHost({ cat, host, connection }));

  it('keeps a DECIMAL sum exact: 1234567890123456.79, where the JS number rounds it', async () => {
    const [js] = await cat.query(connection, 'payments', { metrics: ['total', 'largest'], bigint: 'bigint' });
    expect(js!.total).toBe(1234567890123456.8);
    const [exact] = await cat.query(connection, 'payments', { metrics: ['total', 'largest'], values: 'exact', bigint: 'bigint' });
    expect({ ...exact }).toEqual({ total: '1234567890123456.79', largest: 170141183460469231731687303715884105727n });
  });

  it('returns 64/128-bit integers as numbers by default, refuses one a number cannot hold, and gives text or bigint on request', async () => {
    await expect(cat.query(connection, 'payments', { metrics: ['largest'] })).rejects.toMatchObject({
      code: 'ERR_CATALOG_INVALID',
      field: 'bigint',
      message: expect.stringContaining('column "largest" holds 170141183460469231731687303715884105727'),
    });
    const [text] = await cat.query(connection, 'payments', { metrics: ['largest'], bigint: 'string' });
    expect(text!.largest).toBe('170141183460469231731687303715884105727');
    const rows = await cat.query(connection, 'payments', { metrics: ['total'] });
    expect(() => JSON.stringify(rows)).not.toThrow();
    await expect(cat.query(connection, 'payments', { metrics: ['total'], bigint: 'int64' as never })).rejects.toMatchObject({ code: 'ERR_CATALOG_INVALID', field: 'bigint' });
  });

  it('keeps TIMESTAMPs one microsecond apart distinct', async () => {
    const exact = await cat.query(connection, 'payments', { dimensions: ['at'], values: 'exact' });
    expect(exact.map((row) => row.at)).toEqual(['2024-01-01 00:00:00.000001', '2024-01-01 00:00:00.000002']);
  });

  it('refuses another value mode', async () => {
    await expect(cat.query(connection, 'payments', { metrics: ['total'], values: 'strings' as never })).rejects.toMatchObject({ code: 'ERR_CATALOG_INVALID', field: 'values' });
  });
});
