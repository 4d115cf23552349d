// Installs the benchmark's peers (bench/peer-deps) from their lockfile, once: again only
// when the lockfile changed since. Run by `npm run bench`; the library, its tests and its
// demo never need them.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('./peer-deps/', import.meta.url));
const lock = `${dir}package-lock.json`;
const installed = `${dir}node_modules/.package-lock.json`;
if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) process.exit(0);
console.log('bench: installing its peers (better-sqlite3, lmdb) into bench/peer-deps — once');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const result = spawnSync(npm, ['ci', '--no-audit', '--no-fund', '--prefix', dir], { stdio: 'inherit' });
process.exit(result.status ?? 1);
