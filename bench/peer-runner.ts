import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What a peer driver prints: per workload key, wall-clock and CPU ms per rep (ms per step for mlp.*). */
export interface PeerOutput {
  readonly peer: string;
  readonly info?: Record<string, unknown>;
  readonly results?: Record<string, { wall: number[]; cpu?: number[]; cold?: boolean }>;
  readonly skipped?: string;
}

/** The project root (the directory holding package.json), found upward from this file (src or dist). */
export function projectRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) {
    const up = dirname(d);
    if (up === d) throw new Error('bench: package.json not found above ' + fileURLToPath(import.meta.url));
    d = up;
  }
  return d;
}

export const peersDir = (): string => join(projectRoot(), 'bench', 'peers');

/**
 * Run one peer driver in its own process (so peers do not disturb each other or us) and parse the last
 * JSON line it prints. Any failure (missing interpreter, crash, timeout) becomes `skipped` with the reason.
 */
export function runPeer(name: string, cmd: string, args: readonly string[], timeoutMs: number, env: Record<string, string> = {}): PeerOutput {
  const r = spawnSync(cmd, args, { cwd: projectRoot(), encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20, env: { ...process.env, ...env } });
  if (r.error) {
    const e = r.error as NodeJS.ErrnoException;
    return { peer: name, skipped: e.code === 'ETIMEDOUT' ? `timed out after ${timeoutMs / 1e3} s` : `${cmd}: ${e.message}` };
  }
  const line = r.stdout.split('\n').reverse().find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) {
    const err = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
    return { peer: name, skipped: `exit ${r.status ?? r.signal}: ${err.slice(0, 300)}` };
  }
  try {
    return JSON.parse(line) as PeerOutput;
  } catch {
    return { peer: name, skipped: `unparsable output: ${line.slice(0, 200)}` };
  }
}
