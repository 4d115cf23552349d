/**
 * A throwaway PostgreSQL cluster for tests and the bench: initdb into a fresh temp
 * directory, start on a free loopback port, stop (fast or hard), start again on the same
 * port and directory, remove. Imports nothing from vitest, so the compiled bench can use it.
 *
 * The server refuses to run as root, so as root every server binary runs through
 * `runuser -u postgres` in a directory chowned to that user; as any other user it runs
 * directly. Only the temp directory this module made is ever removed.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** Members of this group log in with a password (scram-sha-256); every other role is trusted. */
export const PASSWORD_GROUP = 'duckcat_password_users';

/** Where the server binaries are, or why there are none. */
export type PgBinaries = { readonly bindir: string } | { readonly missing: string };

/**
 * Finds `initdb`, `pg_ctl` and `postgres` through `pg_config --bindir` (Debian puts them
 * outside PATH), or through `$PG_BINDIR` when set.
 */
export function findPgBinaries(): PgBinaries {
  let bindir = process.env.PG_BINDIR;
  if (bindir === undefined) {
    try {
      bindir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return { missing: 'pg_config is not on PATH (install postgresql-15, or set PG_BINDIR)' };
    }
  }
  for (const tool of ['initdb', 'pg_ctl', 'postgres']) {
    if (!existsSync(join(bindir, tool))) return { missing: `${tool} not found in ${bindir} (pg_config --bindir); install the PostgreSQL server package` };
  }
  return { bindir };
}

/** A loopback port nobody listens on right now (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** What a test needs to reach a cluster another process started (JSON-safe). */
export interface PgClusterInfo {
  readonly dir: string;
  readonly port: number;
  readonly host: string;
  /** The superuser `postgres` on the `postgres` database. */
  readonly adminUrl: string;
}

/** One cluster: a data directory, a port, and the commands to drive its server. */
export class PgCluster implements PgClusterInfo {
  readonly dir: string;
  readonly port: number;
  readonly host = '127.0.0.1';
  readonly #bindir: string;
  readonly #asPostgres: boolean;

  private constructor(bindir: string, dir: string, port: number, asPostgres: boolean) {
    this.#bindir = bindir;
    this.dir = dir;
    this.port = port;
    this.#asPostgres = asPostgres;
  }

  /**
   * initdb + start on a free port. Removes its directory again if any step fails.
   * @throws when the binaries are missing (check {@link findPgBinaries} first to skip instead).
   */
  static async create(binaries: PgBinaries = findPgBinaries()): Promise<PgCluster> {
    if ('missing' in binaries) throw new Error(`PostgreSQL binaries missing: ${binaries.missing}`);
    const dir = mkdtempSync(join(tmpdir(), 'duckcat-pg-'));
    const asPostgres = process.getuid?.() === 0;
    try {
      if (asPostgres) {
        const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
        const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
        chownSync(dir, uid, gid);
      }
      const cluster = new PgCluster(binaries.bindir, dir, await freePort(), asPostgres);
      // --no-sync: a throwaway cluster need not survive a power cut during initdb; the
      // server itself runs with fsync=on, so the tests see PostgreSQL's real durability.
      await cluster.#run('initdb', ['-D', cluster.dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
      // First match wins: the password group's line goes before initdb's trust lines.
      const hba = join(cluster.dataDir, 'pg_hba.conf');
      const line = `host all +${PASSWORD_GROUP} 127.0.0.1/32 scram-sha-256\n`;
      writeFileSync(hba, line + readFileSync(hba, 'utf8'));
      await cluster.start();
      await cluster.admin(`CREATE ROLE ${PASSWORD_GROUP} NOLOGIN`);
      return cluster;
    } catch (error) {
      await stopQuietly(binaries.bindir, dir, asPostgres);
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  get logFile(): string {
    return join(this.dir, 'server.log');
  }

  get adminUrl(): string {
    return this.url('postgres');
  }

  /** A connection URL for `database` as `user` (the trusted superuser by default). */
  url(database: string, user = 'postgres', password?: string): string {
    const auth = password === undefined ? encodeURIComponent(user) : `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
    return `postgres://${auth}@${this.host}:${this.port}/${encodeURIComponent(database)}`;
  }

  info(): PgClusterInfo {
    return { dir: this.dir, port: this.port, host: this.host, adminUrl: this.adminUrl };
  }

  /** Starts the server (again) on the same port and directory; waits until it accepts connections. */
  async start(): Promise<void> {
    await this.#run('pg_ctl', [
      '-D', this.dataDir, '-l', this.logFile, '-w', '-t', '60',
      '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=${this.host} -c fsync=on`,
      'start',
    ]);
  }

  /** A clean shutdown (`-m fast`): sessions are ended, everything is checkpointed. */
  async stop(): Promise<void> {
    await this.#run('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
  }

  /** A crash (`-m immediate`): the postmaster and every backend quit at once, no checkpoint; the next start recovers from WAL. */
  async stopHard(): Promise<void> {
    await this.#run('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
  }

  /**
   * Freezes the server (SIGSTOP to the postmaster and each of its backends): connections
   * stay open and connects are accepted by the kernel, but nothing answers — a network
   * partition as the client sees it. {@link thaw} resumes it.
   */
  freeze(): void {
    for (const pid of this.#serverPids()) process.kill(pid, 'SIGSTOP');
  }

  /** Resumes a server {@link freeze} stopped. */
  thaw(): void {
    for (const pid of this.#serverPids()) process.kill(pid, 'SIGCONT');
  }

  /** The postmaster (from its pid file) and its children, by pid: only this cluster's processes. */
  #serverPids(): number[] {
    const postmaster = Number(readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n', 1)[0]);
    const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(postmaster)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((pid) => pid > 0);
    return [postmaster, ...children];
  }

  /** Stops the server if it runs and removes the cluster's directory (and nothing else). */
  async destroy(): Promise<void> {
    await stopQuietly(this.#bindir, this.dir, this.#asPostgres);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Runs one statement as the superuser on `database` (default `postgres`). */
  async admin(sql: string, database = 'postgres'): Promise<pg.QueryResult> {
    return adminQuery(this.url(database), sql);
  }

  /** Creates an empty database; returns its URL. */
  async createDatabase(name: string): Promise<string> {
    await this.admin(`CREATE DATABASE ${quoteIdent(name)}`);
    return this.url(name);
  }

  /** Creates a login role that must give `password` (scram-sha-256 over TCP); returns its URL to `database`. */
  async createPasswordRole(name: string, password: string, database: string): Promise<string> {
    await createPasswordRole(this.adminUrl, name, password);
    await this.admin(`GRANT ALL ON DATABASE ${quoteIdent(database)} TO ${quoteIdent(name)}`);
    return this.url(database, name, password);
  }

  #run(tool: string, args: readonly string[]): Promise<void> {
    return runTool(this.#bindir, this.#asPostgres, tool, args);
  }
}

/** `"name"`, with embedded quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** One statement on a short-lived connection. */
export async function adminQuery(url: string, sql: string, values?: readonly unknown[]): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await client.query(sql, values as unknown[] | undefined);
  } finally {
    await client.end();
  }
}

/** Creates `name` in the cluster's password group (see {@link PASSWORD_GROUP}). */
export async function createPasswordRole(adminUrl: string, name: string, password: string): Promise<void> {
  // PostgreSQL 15 hashes it with scram-sha-256 (password_encryption's default).
  const literal = `'${password.replaceAll("'", "''")}'`;
  await adminQuery(adminUrl, `CREATE ROLE ${quoteIdent(name)} LOGIN PASSWORD ${literal} IN ROLE ${PASSWORD_GROUP}`);
}

/** Creates a database on the cluster behind `adminUrl`; returns its URL (same user). */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  await adminQuery(adminUrl, `CREATE DATABASE ${quoteIdent(name)}`);
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

function runTool(bindir: string, asPostgres: boolean, tool: string, args: readonly string[]): Promise<void> {
  const binary = join(bindir, tool);
  const [file, argv] = asPostgres ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, [...args]];
  return new Promise((resolve, reject) => {
    // stdin ignored; pg_ctl's own output collected (the server's goes to the log file, so
    // no pipe outlives pg_ctl).
    execFile(file, argv, { encoding: 'utf8', timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${tool} ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`));
      else resolve();
    });
  });
}

async function stopQuietly(bindir: string, dir: string, asPostgres: boolean): Promise<void> {
  const data = join(dir, 'data');
  if (!existsSync(join(data, 'postmaster.pid'))) return;
  await runTool(bindir, asPostgres, 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
}
