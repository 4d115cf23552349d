import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { Worker, type MessagePort } from 'node:worker_threads';
import type { CatalogClient, RemoteCatalog } from 'duckcat';
import { definitionFor, nameFor } from '../payload.js';
import type { WriteTarget } from '../write-target.js';

const OWNER = new URL('../owner-elsewhere.js', import.meta.url);

/** `defineSync` through a CatalogClient, the catalog being owned by another thread. */
export function duckcatClientThread(): WriteTarget {
  let owner: Worker | undefined;
  let client: CatalogClient | undefined;
  return {
    label: 'duckcat client thread defineSync',
    durable: true,
    concurrency: 1,
    async setup(dir) {
      const { CatalogClient: Client } = await import('duckcat');
      owner = new Worker(OWNER, { workerData: { path: join(dir, 'catalog.duckdb') } });
      const [port] = (await once(owner, 'message')) as [MessagePort];
      client = Client.fromPort(port);
    },
    writeOne(i) {
      client!.defineSync(nameFor(i), definitionFor(i));
    },
    async teardown() {
      client?.close();
      owner?.postMessage('close');
      if (owner !== undefined) await once(owner, 'exit');
      owner = undefined;
      client = undefined;
    },
  };
}

/** `defineSync` through `Catalog.connect`, the catalog being owned by a child process. */
export function duckcatClientProcess(): WriteTarget {
  let owner: ChildProcess | undefined;
  let remote: RemoteCatalog | undefined;
  return {
    label: 'duckcat client process defineSync',
    durable: true,
    concurrency: 1,
    async setup(dir) {
      const { Catalog } = await import('duckcat');
      const path = join(dir, 'catalog.duckdb');
      owner = spawn(process.execPath, [new URL(OWNER).pathname, path], { stdio: ['pipe', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        owner!.stdout!.once('data', () => resolve());
        owner!.once('exit', (code) => reject(new Error(`owner exited with ${String(code)}`)));
      });
      remote = await Catalog.connect(path);
    },
    writeOne(i) {
      remote!.defineSync(nameFor(i), definitionFor(i));
    },
    async teardown() {
      await remote?.close();
      if (owner !== undefined && owner.exitCode === null) {
        owner.stdin!.end();
        await once(owner, 'exit');
      }
      owner = undefined;
      remote = undefined;
    },
  };
}
