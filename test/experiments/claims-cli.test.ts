import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from '../cli/dist.js';

/*
 * `normlab claims` as a user runs it (the built CLI in a child process), in the tests' tiny configuration:
 * the --json contract (last stdout line), one verdict line per claim, the run folder's files, usage errors.
 */

interface Run { code: number | null; stdout: string; stderr: string }

let work: string;

function normlab(args: string[], timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: work, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`normlab ${args.join(' ')}: timed out`)); }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolvePromise({ code, stdout, stderr }); });
  });
}

beforeAll(async () => {
  ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'normlab-claims-'));
}, 300_000);

afterAll(async () => { await rm(work, { recursive: true, force: true }); });

describe('normlab claims', () => {
  it('--json prints { claims: [{ id, verdict, evidence }], report } last, ids in order, and writes the run folder', async () => {
    const r = await normlab(['claims', '--tiny', '--only', '7,3', '--seeds', '1', '--out', 'run', '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.length).toBe(1); // with --json, the human lines go to stderr
    const s = JSON.parse(lines[0]) as { claims: { id: number; verdict: string; evidence: string }[]; report: string };
    expect(Object.keys(s).sort()).toEqual(['claims', 'report']);
    expect(s.claims.map((c) => c.id)).toEqual([3, 7]);
    for (const c of s.claims) {
      expect(Object.keys(c).sort()).toEqual(['evidence', 'id', 'verdict']);
      expect(['reproduced', 'not reproduced', 'inconclusive']).toContain(c.verdict);
      expect(c.evidence).not.toMatch(/failed/);
    }
    expect(s.report).toBe(join(work, 'run', 'report.html'));
    // One verdict line per claim on stderr (stdout without --json).
    for (const c of s.claims) expect(r.stderr).toContain(`claim ${String(c.id).padStart(2)}  ${c.verdict}`);
    const html = await readFile(s.report, 'utf8');
    expect(html).toContain('<svg');
    for (const c of s.claims) expect(html).toContain(`id="claim${c.id}"`);
    expect(html).toContain('Rule (fixed before the run)');
    const md = await readFile(join(work, 'run', 'report.md'), 'utf8');
    expect(md).toMatch(/\| 3 \| .* \| \*\*(reproduced|not reproduced|inconclusive)\*\* \|/);
    expect(existsSync(join(work, 'run', 'charts', 'claim3-1.svg'))).toBe(true);
    const metrics = (await readFile(join(work, 'run', 'metrics.jsonl'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as { claim: number });
    expect(new Set(metrics.map((m) => m.claim))).toEqual(new Set([3, 7]));
    const config = JSON.parse(await readFile(join(work, 'run', 'config.json'), 'utf8')) as { claims: Record<string, { seeds: number }>; machine: { cores: number } };
    expect(Object.keys(config.claims)).toEqual(['3', '7']);
    expect(config.claims['3'].seeds).toBe(1);
    expect(config.machine.cores).toBeGreaterThan(0);
  });

  it('refuses an unknown claim number with a usage error', async () => {
    const r = await normlab(['claims', '--only', '3,11']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--only takes claim numbers 1–10/);
  });

  it('refuses --full with --tiny and a bad --seeds', async () => {
    expect((await normlab(['claims', '--tiny', '--full'])).code).toBe(2);
    const r = await normlab(['claims', '--seeds', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--seeds must be an integer ≥ 1/);
  });
});
