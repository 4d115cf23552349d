import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { definitionFor, nameFor } from '../payload.js';
import type { SemanticView } from '../payload.js';
import type { WriteTarget } from '../write-target.js';

/**
 * The workaround duckcat replaces: the whole catalog as one JSON file, rewritten atomically
 * on every write (write a temp file, fsync it, rename over the old one, fsync the directory
 * so the rename itself survives power loss).
 *
 * The file holds `entries` definitions throughout: each op adds a new name and evicts the
 * oldest, so the cost measured is that of a catalog of exactly that size, not one that grows
 * during the run.
 */
export function jsonSidecar(entries: number): WriteTarget {
  let path = '';
  let dirFd: number | undefined;
  let catalog: Record<string, SemanticView> = {};
  // Names in insertion order; `head` is the oldest still present.
  let names: string[] = [];
  let head = 0;

  function rewrite(): void {
    if (dirFd === undefined) throw new Error('json-sidecar: write before setup');
    const tmp = `${path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(catalog));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    fsyncSync(dirFd);
  }

  return {
    label: `json-sidecar ${entries >= 1000 ? `${entries / 1000}k` : entries}`,
    durable: true,
    concurrency: 1,
    async setup(dir) {
      path = join(dir, 'catalog.json');
      dirFd = openSync(dir, 'r');
      catalog = {};
      names = [];
      head = 0;
      // Seed names are negative so they never collide with the ops' names.
      for (let i = 1; i <= entries; i++) {
        const name = nameFor(-i);
        catalog[name] = definitionFor(-i);
        names.push(name);
      }
      rewrite();
    },
    writeOne(i) {
      const name = nameFor(i);
      catalog[name] = definitionFor(i);
      names.push(name);
      const oldest = names[head++];
      if (oldest !== undefined) delete catalog[oldest];
      rewrite();
    },
    async teardown() {
      if (dirFd !== undefined) closeSync(dirFd);
      dirFd = undefined;
      catalog = {};
      names = [];
    },
  };
}
