import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Resolves the benchmark's peers (better-sqlite3, lmdb) from bench/peer-deps, a package of
 * their own: they are native modules (better-sqlite3 compiles from source where no prebuilt
 * binary can be downloaded), and keeping them out of duckcat's dependencies keeps `npm ci`
 * free of compilers and install scripts. `npm run bench` installs them first
 * (bench/install-peers.mjs). Compiled to build/bench/, so the path goes up to the repository.
 */
const PEER_PACKAGE = fileURLToPath(new URL('../../bench/peer-deps/package.json', import.meta.url));

export const requirePeer = createRequire(PEER_PACKAGE);
