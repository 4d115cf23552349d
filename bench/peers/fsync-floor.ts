import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { jsonFor } from '../payload.js';
import type { WriteTarget } from '../write-target.js';

/**
 * The floor under every durable store on this disk: append one ~300-byte record and
 * fdatasync it. No durable write path can return faster than one of these.
 */
export function fsyncFloor(): WriteTarget {
  let fd: number | undefined;
  return {
    label: 'fsync-floor',
    durable: true,
    concurrency: 1,
    async setup(dir) {
      fd = openSync(join(dir, 'append.log'), 'a');
    },
    writeOne(i) {
      if (fd === undefined) throw new Error('fsync-floor: writeOne before setup');
      writeSync(fd, `${jsonFor(i)}\n`);
      fdatasyncSync(fd);
    },
    async teardown() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
