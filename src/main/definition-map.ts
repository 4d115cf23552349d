import type { Columns } from '../shared/protocol.js';
import { parseFrozen, type ReadonlyJson } from './frozen-json.js';

/**
 * The authoritative in-memory copy of the table. Definitions are kept as their JSON text
 * and parsed (then frozen) on first read, so opening a large catalog costs no parsing.
 */
export class DefinitionMap {
  readonly #entries = new Map<string, { readonly json: string; value?: ReadonlyJson }>();
  #sortedNames: string[] | undefined;

  static fromColumns({ names, jsons }: Columns): DefinitionMap {
    const map = new DefinitionMap();
    for (let i = 0; i < names.length; i++) map.#entries.set(names[i]!, { json: jsons[i]! });
    return map;
  }

  get size(): number {
    return this.#entries.size;
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  get(name: string): ReadonlyJson | undefined {
    const entry = this.#entries.get(name);
    if (entry === undefined) return undefined;
    if (!('value' in entry)) entry.value = parseFrozen(entry.json);
    return entry.value;
  }

  set(name: string, json: string): void {
    if (!this.#entries.has(name)) this.#sortedNames = undefined;
    this.#entries.set(name, { json });
  }

  delete(name: string): void {
    if (this.#entries.delete(name)) this.#sortedNames = undefined;
  }

  /** Applies one batch of the change stream: a null json removes the name. */
  applyChanges(names: readonly string[], jsons: ReadonlyArray<string | null>): void {
    for (let i = 0; i < names.length; i++) {
      const json = jsons[i];
      if (json === null || json === undefined) this.delete(names[i]!);
      else this.set(names[i]!, json);
    }
  }

  /** Sorted by UTF-16 code unit, like Array.prototype.sort. Returns a fresh array. */
  names(): string[] {
    this.#sortedNames ??= [...this.#entries.keys()].sort();
    return [...this.#sortedNames];
  }

  entries(): Array<[string, ReadonlyJson]> {
    return this.names().map((name) => [name, this.get(name) as ReadonlyJson]);
  }
}
