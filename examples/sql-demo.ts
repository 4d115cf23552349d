/**
 * Semantic views in SQL, end to end: a host DuckDB database with orders, a file-backed
 * catalog attached to it, views defined, listed, described and queried from SQL.
 * Run: npm run build && npm run build:scripts && node build/examples/sql-demo.js
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { Catalog, catalogErrorFromSql } from 'duckcat';

const dir = mkdtempSync(join(tmpdir(), 'duckcat-sql-demo-'));
const catalog = await Catalog.open(join(dir, 'catalog.duckdb'));
const host = await DuckDBInstance.create(':memory:');
const connection = await host.connect();

async function show(title: string, sql: string, values?: string[]): Promise<void> {
  const reader = await connection.runAndReadAll(sql, values);
  console.log(`\n-- ${title}\n${sql}`);
  console.table(reader.getRowObjectsJson());
}

try {
  await connection.run(`
    CREATE TABLE customers AS SELECT * FROM (VALUES (1, 'EU'), (2, 'US'), (3, 'EU')) t(id, region);
    CREATE TABLE orders AS SELECT * FROM (VALUES
      (1, 1, 100, 'paid'), (2, 1, 50, 'paid'), (3, 2, 70, 'paid'),
      (4, 3, 30, 'cancelled'), (5, 3, 20, 'paid'), (6, 2, 80, 'paid')) t(id, customer_id, amount, status);`);

  // Registers define/replace/drop_semantic_view, list_semantic_views, describe_semantic_view,
  // explain_semantic_view and semantic_view_sql on the host's instance, and the semantic_query
  // macro on this connection. Writes go to the catalog's own file.
  await catalog.attach(connection);

  const sales = {
    base_table: 'orders',
    alias: 'o',
    joins: [{ table: 'customers', alias: 'c', on: 'o.customer_id = c.id', primary_key: 'id' }],
    dimensions: [{ name: 'region', expr: 'c.region' }],
    metrics: [
      { name: 'revenue', expr: 'o.amount', agg: 'sum' },
      { name: 'customers', expr: 'o.customer_id', agg: 'count_distinct' },
    ],
    filters: ["o.status = 'paid'"],
  };
  await show('define (durable when it returns)', 'SELECT define_semantic_view($1, $2) AS status', ['sales', JSON.stringify(sales)]);
  await show('list', 'SELECT name, base_table, dimension_count, metric_count FROM list_semantic_views()');
  await show('describe', "SELECT * FROM describe_semantic_view('sales')");
  await show('query', "SELECT * FROM semantic_query('sales', dimensions := ['region'], metrics := ['revenue', 'customers']) WHERE revenue > 100");
  await show('explain', "SELECT * FROM explain_semantic_view('sales', dimensions := ['region'], metrics := ['revenue'])");
  await show('expand and run in one statement', "SELECT * FROM query(semantic_view_sql('sales', ['region'], ['revenue', 'customers']))");

  console.log('\n-- the same from TypeScript: catalog.query(connection, "sales", ...)');
  console.table(await catalog.query(connection, 'sales', { dimensions: ['region'], metrics: ['revenue'], where: 'o.amount >= 50' }));

  await printError(connection, 'SELECT define_semantic_view($1, $2)', ['sales', JSON.stringify(sales)]);
  await printError(connection, "SELECT semantic_view_sql('sales', ['country'], [])");

  await show('replace', 'SELECT replace_semantic_view($1, $2) AS status', ['sales', JSON.stringify({ ...sales, filters: [] })]);
  await show('drop', "SELECT drop_semantic_view('sales') AS status");
} finally {
  connection.closeSync();
  host.closeSync();
  await catalog.close();
  rmSync(dir, { recursive: true, force: true });
}

async function printError(on: DuckDBConnection, sql: string, values?: string[]): Promise<void> {
  try {
    await on.run(sql, values);
  } catch (error) {
    // DuckDB puts its error class first; catalogErrorFromSql recovers the duckcat code.
    console.log(`\n-- ${sql}\n   ${(error as Error).message.split('\n')[0]}\n   code: ${catalogErrorFromSql(error)?.code}`);
  }
}
