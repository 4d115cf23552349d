/**
 * Owns a catalog somewhere other than the bench's main thread, so the bench can measure
 * `defineSync` from a client: in a worker thread (`--thread`, posts `catalog.port()` to its
 * parent) or in a child process (prints "ready" once `<file>.sock` serves).
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Catalog } from 'duckcat';

if (isMainThread) {
  const catalog = await Catalog.open(process.argv[2]!);
  process.stdout.write('ready\n');
  process.stdin.resume();
  process.stdin.on('end', () => void catalog.close());
} else {
  const catalog = await Catalog.open((workerData as { path: string }).path);
  const port = catalog.port();
  parentPort!.postMessage(port, [port]);
  parentPort!.once('message', () => void catalog.close().then(() => parentPort!.close()));
}
