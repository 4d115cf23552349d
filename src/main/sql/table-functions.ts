import type { DuckDBDataChunk, DuckDBTableFunction, DuckDBTableFunctionBindInfo, DuckDBType } from '@duckdb/node-api';
import type { CatalogAccess } from './catalog-access.js';
import { DESCRIBE_VIEW_COLUMNS, describeViewRow } from './describe-row.js';
import { EXPLAIN_COLUMNS, explainRows } from './explain-rows.js';
import type { NodeApi } from './node-api.js';
import { resolveRequest, SQL_OPTION_NAMES, sqlQueryOptions } from './semantic-request.js';
import { lookupSemanticView } from './semantic-view-lookup.js';
import { sqlErrorMessage } from './sql-error.js';
import { DESCRIBE_COLUMNS, LIST_COLUMNS, describeRows, listRows, type Cell, type ColumnSpec } from './view-rows.js';

// DuckDB's vector size: the most rows one output chunk holds.
const CHUNK_ROWS = 2048;

interface Snapshot {
  readonly rows: readonly Cell[][];
}

interface Cursor {
  next: number;
}

interface Spec {
  readonly name: string;
  readonly columns: readonly ColumnSpec[];
  readonly parameters: readonly DuckDBType[];
  readonly named?: Readonly<Record<string, DuckDBType>>;
  readonly rows: (info: DuckDBTableFunctionBindInfo) => Cell[][];
}

/**
 * list_semantic_views(), describe_semantic_view(name), describe_semantic_view_members(name)
 * and explain_semantic_view(name, dimensions := [...], metrics := [...]). All answer from
 * the main thread's map, snapshotted at bind time, and never run SQL inside a callback
 * (the host connection is busy running the very query that called us).
 */
export function createTableFunctions(api: NodeApi, catalog: CatalogAccess): DuckDBTableFunction[] {
  const types: Readonly<Record<ColumnSpec['type'], DuckDBType>> = {
    VARCHAR: api.VARCHAR,
    INTEGER: api.INTEGER,
    JSON: api.DuckDBVarCharType.create('JSON'),
  };
  const make = ({ name, columns, parameters, named, rows }: Spec) =>
    api.DuckDBTableFunction.create({
      name,
      parameterTypes: parameters,
      ...(named === undefined ? {} : { namedParameterTypes: named }),
      bindFunction: (info) => {
        try {
          const snapshot: Snapshot = { rows: rows(info) };
          for (const column of columns) info.addResultColumn(column.name, types[column.type]);
          info.setBindData(snapshot);
          info.setCardinality(snapshot.rows.length, true);
        } catch (error) {
          throw new Error(sqlErrorMessage(error));
        }
      },
      initFunction: (info) => {
        // One scanning thread: the callbacks all run on the JS thread anyway.
        info.setMaxThreads(1);
        info.setInitData({ next: 0 } satisfies Cursor);
      },
      mainFunction: (info, output) => {
        emit((info.bindData as Snapshot).rows, info.initData as Cursor, output, columns.length);
      },
    });
  const names = api.LIST(api.VARCHAR);
  const argument = (info: DuckDBTableFunctionBindInfo) => info.getParameter(0) as unknown;
  return [
    make({ name: 'list_semantic_views', columns: LIST_COLUMNS, parameters: [], rows: () => listRows(catalog.entries()) }),
    make({
      name: 'describe_semantic_view',
      columns: DESCRIBE_VIEW_COLUMNS,
      parameters: [api.VARCHAR],
      rows: (info) => {
        const name = argument(info);
        return [describeViewRow(name as string, lookupSemanticView(catalog, name))];
      },
    }),
    make({
      name: 'describe_semantic_view_members',
      columns: DESCRIBE_COLUMNS,
      parameters: [api.VARCHAR],
      rows: (info) => describeRows(lookupSemanticView(catalog, argument(info))),
    }),
    make({
      name: 'explain_semantic_view',
      columns: EXPLAIN_COLUMNS,
      parameters: [api.VARCHAR],
      // The options of semantic_query too, named (and so written quoted: "limit" := 10).
      named: { dimensions: names, metrics: names, where: api.VARCHAR, order: names, limit: api.BIGINT, offset: api.BIGINT },
      rows: (info) => {
        const options = sqlQueryOptions(SQL_OPTION_NAMES.map((option) => info.getNamedParameter(option) as unknown));
        return explainRows(resolveRequest(catalog, argument(info), info.getNamedParameter('dimensions'), info.getNamedParameter('metrics'), options));
      },
    }),
  ];
}

function emit(rows: readonly Cell[][], cursor: Cursor, output: DuckDBDataChunk, width: number): void {
  const count = Math.min(CHUNK_ROWS, rows.length - cursor.next);
  // Setting the row count sizes the vectors; zero ends the scan.
  output.rowCount = count;
  if (count === 0) return;
  for (let column = 0; column < width; column++) {
    const vector = output.getColumnVector(column);
    for (let i = 0; i < count; i++) vector.setItem(i, rows[cursor.next + i]![column] ?? null);
    vector.flush();
  }
  cursor.next += count;
}
