import { debuglog } from 'node:util';

/**
 * `NODE_DEBUG=duckcat node app.mjs` prints what the catalog decides and does to stderr:
 * open and recovery decisions, each batch (size, seq, time), backpressure, DuckDB applies,
 * socket clients coming and going. Off by default, and then nearly free (one boolean per
 * call site); works in every thread, each line tagged with the thread's pid.
 */
export const debug = debuglog('duckcat');
