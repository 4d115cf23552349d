/**
 * Process B of the cross-process visibility measurement (bench/pg-visibility.ts): opens
 * the PostgreSQL-backed catalog at argv[2] and, for every change another process commits,
 * reports over IPC the moment its own `get` first returns the new definition — without
 * calling sync(), so what is measured is the change feed (LISTEN/NOTIFY + the change log).
 * Times are `process.hrtime.bigint()`: CLOCK_MONOTONIC, one clock for every process on
 * the machine, so they compare with process A's.
 */
const url = process.argv[2];
if (url === undefined || process.send === undefined) throw new Error('usage: fork pg-visibility-child.js <url> with an IPC channel');
const send = process.send.bind(process);
const { Catalog } = await import('duckcat');
const catalog = await Catalog.open(url);
// 'change' fires once this handle's map shows the change: the first moment `get` can see it.
catalog.on('change', (change) => {
  const at = process.hrtime.bigint();
  if (change.kind !== 'drop' && catalog.get(change.name) !== undefined) send({ seen: change.name, at: at.toString() });
});
process.on('message', (message) => {
  if (message === 'close') void catalog.close().then(() => process.exit(0));
});
send({ ready: true });
