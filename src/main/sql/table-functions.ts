import type { DuckDBDataChunk, DuckDBTableFunction, DuckDBType } from '@duckdb/node-api';
import type { CatalogAccess } from './catalog-access.js';
import type { NodeApi } from './node-api.js';
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

/**
 * list_semantic_views() and describe_semantic_view(name). Both answer from the main
 * thread's map, snapshotted at bind time, and never run SQL inside a callback (the host
 * connection is busy running the very query that called us).
 */
export function createTableFunctions(api: NodeApi, catalog: CatalogAccess): DuckDBTableFunction[] {
  const types: Readonly<Record<ColumnSpec['type'], DuckDBType>> = {
    VARCHAR: api.VARCHAR,
    INTEGER: api.INTEGER,
    JSON: api.DuckDBVarCharType.create('JSON'),
  };
  const make = (name: string, columns: readonly ColumnSpec[], parameters: readonly DuckDBType[], rows: (parameter: unknown) => Cell[][]) =>
    api.DuckDBTableFunction.create({
      name,
      parameterTypes: parameters,
      bindFunction: (info) => {
        try {
          const snapshot: Snapshot = { rows: rows(parameters.length > 0 ? info.getParameter(0) : undefined) };
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
  return [
    make('list_semantic_views', LIST_COLUMNS, [], () => listRows(catalog.entries())),
    make('describe_semantic_view', DESCRIBE_COLUMNS, [api.VARCHAR], (name) => describeRows(lookupSemanticView(catalog, name))),
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
