/**
 * Runnable examples in the docs. A fenced block whose info string is
 * "js example=<name>" is an example; a line "// <file>.mjs" (optionally followed by " — a
 * note") starts a companion file of the same block, and the block's first file (main.mjs
 * unless the block starts with such a line) is the one run. The text after "// → " on any
 * line is what the example prints, in order; stdout must equal it with runs of whitespace
 * collapsed (so util.inspect may wrap a long value over several lines). A ```js block
 * that is deliberately not run says so with "js no-run".
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface DocExample {
  /** Where it is: `README.md:248`. */
  readonly where: string;
  readonly name: string;
  /** File name → source; the first key is the entry. */
  readonly files: ReadonlyMap<string, string>;
  /** The printed lines the block promises (the text after each "// → "). */
  readonly expected: readonly string[];
}

export interface DocFence {
  readonly where: string;
  readonly info: string;
}

const FENCE = /^```(\S*)(.*)$/;
const EXAMPLE = /^js\s+example=([\w-]+)\s*$/;
const FILE_LINE = /^\/\/ ([\w-]+\.mjs)(?:\s+—.*)?$/;
const ARROW = '// → ';

/** Every ```js fence of a markdown file with its info string, to check that each one is marked. */
export function jsFences(file: string): DocFence[] {
  return fences(file)
    .filter((f) => f.language === 'js')
    .map((f) => ({ where: f.where, info: `${f.language}${f.rest}`.trim() }));
}

/** The examples of one markdown file, in order. */
export function docExamples(file: string): DocExample[] {
  const examples: DocExample[] = [];
  for (const fence of fences(file)) {
    const match = EXAMPLE.exec(`${fence.language}${fence.rest}`.trim());
    if (match === null) continue;
    examples.push({ where: fence.where, name: match[1]!, files: splitFiles(fence.body), expected: printedLines(fence.body) });
  }
  return examples;
}

interface Fence {
  readonly where: string;
  readonly language: string;
  readonly rest: string;
  readonly body: readonly string[];
}

function fences(file: string): Fence[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const found: Fence[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (open === null || open[1] === '' && open[2] === '') continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    found.push({ where: `${file}:${start + 1}`, language: open[1]!, rest: open[2]!, body });
  }
  return found;
}

function splitFiles(body: readonly string[]): Map<string, string> {
  const files = new Map<string, string[]>();
  let current = 'main.mjs';
  for (const line of body) {
    const file = FILE_LINE.exec(line);
    if (file !== null) current = file[1]!;
    if (!files.has(current)) files.set(current, []);
    files.get(current)!.push(line);
  }
  return new Map([...files].map(([name, source]) => [name, source.join('\n') + '\n']));
}

function printedLines(body: readonly string[]): string[] {
  return body.filter((line) => line.includes(ARROW)).map((line) => line.slice(line.indexOf(ARROW) + ARROW.length));
}

/** Collapses every run of whitespace, so line wrapping by util.inspect does not matter. */
export function normalize(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export interface ExampleRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs an example in a fresh temp directory whose node_modules holds `duckcat` (this
 * checkout, so the built dist/) and everything the checkout's node_modules holds, the way
 * an app that installed duckcat would see them. Kills it after `timeoutMs`.
 */
export async function runDocExample(example: DocExample, timeoutMs = 60_000, env: Readonly<Record<string, string>> = {}): Promise<ExampleRun> {
  const dir = mkdtempSync(join(tmpdir(), `duckcat-doc-${example.name}-`));
  try {
    linkModules(dir);
    for (const [name, source] of example.files) writeFileSync(join(dir, name), source);
    const entry = [...example.files.keys()][0]!;
    return await run(dir, entry, timeoutMs, env);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function linkModules(dir: string): void {
  const modules = join(dir, 'node_modules');
  mkdirSync(modules);
  const source = join(ROOT, 'node_modules');
  for (const entry of readdirSync(source)) {
    if (entry === 'duckcat' || entry.startsWith('.')) continue;
    symlinkSync(join(source, entry), join(modules, entry));
  }
  symlinkSync(ROOT, join(modules, 'duckcat'), 'dir');
}

function run(cwd: string, entry: string, timeoutMs: number, env: Readonly<Record<string, string>>): Promise<ExampleRun> {
  const child = spawn(process.execPath, [entry], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`example did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
