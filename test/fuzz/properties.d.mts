// Types of properties.mjs for the TypeScript tests.
import type { Catalog } from 'duckcat';

export interface FuzzStats {
  readonly property: 'names' | 'definitions' | 'sequences';
  cases: number;
  accepted: number;
  refused: Record<string, number>;
}

export interface FuzzOptions {
  readonly runs: number;
  readonly dir: string;
  readonly seed?: number;
}

export function fuzzNames(options: FuzzOptions): Promise<FuzzStats>;
export function fuzzDefinitions(options: FuzzOptions): Promise<FuzzStats>;
export function fuzzSequences(options: FuzzOptions): Promise<FuzzStats>;
export function assertEqualsModel(cat: Catalog, model: ReadonlyMap<string, unknown>, when: string): void;
