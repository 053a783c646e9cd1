/** The built package under dist/, rebuilt (tsc) when missing or older than any TypeScript source. */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(ROOT, 'dist/cli/main.js');

function newestSource(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestSource(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/** Build dist/ with `tsc -p tsconfig.json` unless it is complete and newer than src/, cli/ and experiments/. */
export function ensureBuilt(): void {
  const outputs = ['dist/cli/main.js', 'dist/cli/program.js', 'dist/cli/paper-worker.js', 'dist/src/index.js', 'dist/src/io/files.js'].map((f) => join(ROOT, f));
  const newest = Math.max(...['src', 'cli', 'experiments'].map((d) => newestSource(join(ROOT, d))));
  if (outputs.every(existsSync) && Math.min(...outputs.map((f) => statSync(f).mtimeMs)) >= newest) return;
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'pipe' });
  } catch (e) {
    // tsc emits even with type errors elsewhere in the tree; fail only if the outputs are missing
    if (!outputs.every(existsSync)) throw new Error(`building dist/ failed:\n${(e as { stdout?: Buffer }).stdout?.toString() ?? e}`);
  }
}

/** What a run of the built CLI printed, its exit code and how long it took. */
export interface CliRun { code: number | null; stdout: string; stderr: string; ms: number }

/** Run the built CLI as a user would (a child process, NO_COLOR); a run past `timeoutMs` is killed and rejects. */
export function runCli(args: string[], { cwd, timeoutMs = 60_000, env = {} }: { cwd: string; timeoutMs?: number; env?: Record<string, string | undefined> }): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`normlab ${args.join(' ')}: timed out`)); }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolvePromise({ code, stdout, stderr, ms: performance.now() - t0 }); });
  });
}

/** The last stdout line, parsed (the --json contract). */
export function lastJson(r: CliRun): Record<string, any> {
  return JSON.parse(r.stdout.trimEnd().split('\n').at(-1)!) as Record<string, any>;
}

