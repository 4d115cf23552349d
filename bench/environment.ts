import { readFileSync, statfsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, freemem, platform, release, totalmem } from 'node:os';
import { version as duckdbEngineVersion } from '@duckdb/node-api';
import type Database from 'better-sqlite3';
import { requirePeer } from './peer-require.js';

/** The conditions a result was measured under; a figure without them means little. */
export interface Environment {
  date: string;
  node: string;
  platform: string;
  cpuCount: number;
  cpuModel: string;
  totalMemMB: number;
  freeMemMB: number;
  tmpdir: string;
  /** fsync is free on tmpfs, so a result measured there says nothing about durability cost. */
  tmpFilesystem: string;
  versions: Record<string, string>;
}

const require = createRequire(import.meta.url);

// statfs magic numbers of the filesystems a benchmark is likely to land on.
const FILESYSTEMS: Readonly<Record<number, string>> = {
  0xef53: 'ext4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs',
  0x794c7630: 'overlayfs',
  0x2fc12fc1: 'zfs',
};

function filesystemOf(dir: string): string {
  const type = statfsSync(dir).type;
  return FILESYSTEMS[type] ?? `0x${type.toString(16)}`;
}

function sqliteVersion(): string {
  const Sqlite = requirePeer('better-sqlite3') as typeof Database;
  const db = new Sqlite(':memory:');
  try {
    return String(db.prepare('SELECT sqlite_version()').pluck().get());
  } finally {
    db.close();
  }
}

/** A dependency's version from its package.json, or "unknown" when it cannot be read. */
function packageVersion(specifier: string): string {
  try {
    // Some packages do not export ./package.json, so read the file next to the entry point.
    const entry = (specifier === '@duckdb/node-api' ? require : requirePeer).resolve(specifier);
    const marker = `node_modules/${specifier}/`;
    const root = entry.slice(0, entry.lastIndexOf(marker) + marker.length);
    const json: unknown = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
    if (typeof json === 'object' && json !== null && 'version' in json && typeof json.version === 'string') {
      return json.version;
    }
  } catch {
    // Reported as unknown below: a missing version must not stop the benchmark.
  }
  return 'unknown';
}

function duckcatVersion(): string {
  try {
    const json: unknown = require('duckcat/package.json');
    if (typeof json === 'object' && json !== null && 'version' in json && typeof json.version === 'string') {
      return json.version;
    }
  } catch {
    // As above: the report says unknown instead of failing.
  }
  return 'unknown';
}

export function describeEnvironment(tmpdir: string): Environment {
  const cpuList = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${platform()} ${release()} ${process.arch}`,
    cpuCount: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    totalMemMB: Math.round(totalmem() / 2 ** 20),
    freeMemMB: Math.round(freemem() / 2 ** 20),
    tmpdir,
    tmpFilesystem: filesystemOf(tmpdir),
    versions: {
      duckcat: duckcatVersion(),
      '@duckdb/node-api': packageVersion('@duckdb/node-api'),
      duckdb: duckdbEngineVersion(),
      'better-sqlite3': packageVersion('better-sqlite3'),
      sqlite: sqliteVersion(),
      lmdb: packageVersion('lmdb'),
    },
  };
}
