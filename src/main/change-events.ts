import { EventEmitter } from 'node:events';
import type { CatalogErrorCode } from '../shared/errors.js';
import type { ChangesMessage } from '../shared/protocol.js';
import type { DefinitionMap } from './definition-map.js';

/** One committed change to one name, as a handle's `'change'` event reports it. */
export interface CatalogChange {
  /** The definition's name. */
  readonly name: string;
  /** `define`: the name was absent from this handle's map; `replace`: present; `drop`: removed. */
  readonly kind: 'define' | 'replace' | 'drop';
  /** The name's version after the change (1 on define, +1 on each replace); for a drop, the version it removed. */
  readonly version: number;
  /** Sequence number of the batch that committed it: increases in commit order. */
  readonly seq: number;
}

/** The owner (or, for a client thread, the writer) went away; see the `'disconnect'` event. */
export interface CatalogDisconnect {
  /**
   * `ERR_CATALOG_CLOSED`: the owner closed the catalog cleanly. `ERR_CATALOG_WRITER_EXITED`:
   * the owner process (or the writer thread) ended without closing: a crash, a kill.
   */
  readonly code: Extract<CatalogErrorCode, 'ERR_CATALOG_CLOSED' | 'ERR_CATALOG_WRITER_EXITED'>;
  /** The owning process's pid, when this handle knows it (a {@link RemoteCatalog} does). */
  readonly pid?: number;
}

/** The events of every catalog handle, by name: `catalog.on(name, listener)`. */
export interface CatalogEvents {
  /** One committed change, after this handle's map shows it, in commit order. */
  change: [change: CatalogChange];
  /** The owner or writer went away; at most once per handle, never after this handle's own close(). */
  disconnect: [info: CatalogDisconnect];
  /** A `'change'` or `'disconnect'` listener threw (the map and the link are unaffected). */
  error: [error: unknown];
}

/**
 * Between a handle's link and its map: applies each batch of changes to the map at once
 * (wherever the link received it: the port's 'message' listener, a read's catch-up, a
 * sync write's wait) and queues one event per name, delivered in a microtask. So a listener
 * never runs inside a catalog call (a `defineSync` returns before its own event fires), and
 * always after the map shows the change; batches queue in the order they committed.
 */
export class ChangeFeed {
  readonly map: DefinitionMap;
  #queue: CatalogChange[] = [];
  #scheduled = false;
  #emitter: EventEmitter | undefined;

  constructor(map: DefinitionMap) {
    this.map = map;
  }

  /** Where events go from now on (set once the handle exists; nothing is queued until then). */
  attach(emitter: EventEmitter): void {
    this.#emitter = emitter;
  }

  /** The link's onChanges: the map first, then the events. */
  apply(changes: ChangesMessage): void {
    const listening = this.#emitter !== undefined && this.#emitter.listenerCount('change') > 0;
    if (listening) {
      for (let i = 0; i < changes.names.length; i++) {
        const name = changes.names[i]!;
        const kind = changes.jsons[i] === null ? 'drop' : this.map.has(name) ? 'replace' : 'define';
        this.#queue.push({ name, kind, version: changes.versions[i] ?? 0, seq: changes.seq });
      }
    }
    this.map.applyChanges(changes.names, changes.jsons, changes.versions);
    if (this.#queue.length > 0 && !this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.#deliver());
    }
  }

  /** Emits `event` with the same guard as changes (a throwing listener becomes an 'error' event). */
  emit<K extends keyof CatalogEvents>(event: K, ...args: CatalogEvents[K]): void {
    const emitter = this.#emitter;
    if (emitter === undefined) return;
    try {
      emitter.emit(event, ...args);
    } catch (error) {
      reportListenerError(emitter, error);
    }
  }

  #deliver(): void {
    this.#scheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    for (const change of queue) this.emit('change', change);
  }
}

/**
 * A listener's error must not reach the link (whose dispatch would be cut short) nor the
 * map: it becomes an 'error' event, or, with no 'error' listener, a process warning —
 * never an uncaught exception, which EventEmitter would raise for an unheard 'error'.
 */
function reportListenerError(emitter: EventEmitter, error: unknown): void {
  if (emitter.listenerCount('error') > 0) {
    try {
      emitter.emit('error', error);
      return;
    } catch (second) {
      error = second;
    }
  }
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(`a duckcat catalog event listener threw: ${message}`, { code: 'DUCKCAT_LISTENER_ERROR' });
}
