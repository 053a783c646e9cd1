import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt, ROOT } from './dist.js';

/*
 * The built command line (`node dist/cli/main.js`), run as a user runs it: exit codes, usage messages,
 * --json summaries, run folders, checkpoints and exact resume, the paper report. Small step counts.
 */

interface Run { code: number | null; stdout: string; stderr: string; ms: number }

let work: string;

function normlab(args: string[], { cwd = work, timeoutMs = 60_000 } = {}): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`normlab ${args.join(' ')}: timed out`)); }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolvePromise({ code, stdout, stderr, ms: performance.now() - t0 }); });
  });
}

/** The last stdout line, parsed (the --json contract). */
function summaryOf(r: Run): Record<string, unknown> {
  const lines = r.stdout.trimEnd().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
}

async function jsonLines(path: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(path, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

const SMALL = ['--width', '16', '--depth', '2'];

beforeAll(async () => {
  ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'normlab-cli-'));
}, 180_000);
afterAll(async () => { if (work) await rm(work, { recursive: true, force: true }); });

describe('normlab: help, usage errors and exit codes', () => {
  it('--help, no arguments, train --help, --version: exit 0', async () => {
    const [help, none, trainHelp, version] = await Promise.all([normlab(['--help']), normlab([]), normlab(['train', '--help']), normlab(['--version'])]);
    for (const r of [help, none]) {
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage: normlab/);
      expect(r.stdout).toMatch(/paper \[options\]/);
      expect(r.stdout).toMatch(/train \[options\]/);
    }
    expect(trainHelp.code).toBe(0);
    expect(trainHelp.stdout).toMatch(/--checkpoint-every <n>/);
    expect(trainHelp.stdout).toMatch(/--resume <file>/);
    expect(version).toMatchObject({ code: 0 });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('an unknown flag or command: exit 2, the message names it and shows the usage', async () => {
    const [flag, top, command] = await Promise.all([normlab(['train', '--bogus-flag', '1']), normlab(['--frobnicate']), normlab(['frobnicate'])]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/unknown option '--bogus-flag'/);
    expect(flag.stderr).toMatch(/Usage: normlab train \[options\]/);
    expect(top.code).toBe(2);
    expect(top.stderr).toMatch(/unknown option '--frobnicate'/);
    expect(command.code).toBe(2);
    expect(command.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(flag.stdout + top.stdout + command.stdout).toBe('');
  });

  it('invalid values: exit 2 and the message names the flag and the value', async () => {
    const cases: [string[], RegExp][] = [
      [['train', '--steps', 'abc'], /--steps must be an integer ≥ 1, got 'abc'/],
      [['train', '--steps', '0'], /--steps must be an integer ≥ 1, got '0'/],
      [['train', '--steps', '2.5'], /--steps must be an integer ≥ 1, got '2.5'/],
      [['train', '--lr', '-1'], /--lr must be a positive number, got '-1'/],
      [['train', '--lr', ''], /--lr must be a positive number, got ''/],
      [['train', '--optimizer', 'foo'], /argument 'foo' is invalid. Allowed choices are sgd, adam, adamw/],
      [['train', '--momentum', '1'], /--momentum must be in \[0, 1\), got '1'/],
      [['train', '--seed', '-3'], /--seed must be an integer ≥ 0, got '-3'/],
      [['paper', '--eval-every', 'x'], /--eval-every must be an integer ≥ 1, got 'x'/],
      [['paper', '--init-std', '0'], /--init-std must be a positive number, got '0'/],
    ];
    const runs = await Promise.all(cases.map(([args]) => normlab(args)));
    runs.forEach((r, i) => {
      expect(r.code, cases[i][0].join(' ')).toBe(2);
      expect(r.stderr, cases[i][0].join(' ')).toMatch(cases[i][1]);
      expect(r.stderr, cases[i][0].join(' ')).toMatch(/Usage: normlab (train|paper)/);
    });
  });
});

describe('normlab train', () => {
  it('--json: the last stdout line is the summary; the run folder holds metrics.jsonl and summary.json', async () => {
    const out = join(work, 'train-json');
    const r = await normlab(['train', '--steps', '30', '--eval-every', '10', ...SMALL, '--json', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1); // with --json, everything else goes to stderr
    const s = summaryOf(r);
    expect(s).toMatchObject({ command: 'train', steps: 30, out, checkpoint: null });
    expect(s.testAccuracy).toBeGreaterThanOrEqual(0);
    expect(s.testAccuracy).toBeLessThanOrEqual(1);
    expect(Number.isFinite(s.testLoss)).toBe(true);
    expect(JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'))).toEqual(s);
    const metrics = await jsonLines(join(out, 'metrics.jsonl'));
    const evals = metrics.filter((m) => 'testAccuracy' in m);
    expect(evals.map((m) => m.step)).toEqual([10, 20, 30]);
    expect(evals[2].testAccuracy).toBe(s.testAccuracy);
    expect(metrics.filter((m) => 'trainLoss' in m).map((m) => m.step)).toEqual([10, 20, 30]);
    expect((await readdir(out)).sort()).toEqual(['metrics.jsonl', 'summary.json']);
  });

  it('--checkpoint-every, then --resume with more --steps: continues at the saved step and ends bit for bit where an uninterrupted run ends', async () => {
    const flags = ['--eval-every', '10', ...SMALL, '--optimizer', 'adam', '--lr', '0.01', '--batch', '32', '--checkpoint-every', '10', '--json'];
    const [whole, first] = await Promise.all([
      normlab(['train', '--steps', '40', ...flags, '--out', join(work, 'whole')]),
      normlab(['train', '--steps', '20', ...flags, '--out', join(work, 'first')]),
    ]);
    expect(whole.code, whole.stderr).toBe(0);
    expect(first.code, first.stderr).toBe(0);
    const ckpt = join(work, 'first', 'checkpoint.safetensors');
    expect(summaryOf(first)).toMatchObject({ steps: 20, checkpoint: ckpt });
    const rest = await normlab(['train', '--steps', '40', ...flags, '--resume', ckpt, '--out', join(work, 'rest')]);
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stderr).toMatch(/resumed from .* at step 20/);
    const a = summaryOf(whole), b = summaryOf(rest);
    expect(b.steps).toBe(40);
    expect(b.testAccuracy).toBe(a.testAccuracy);
    expect(b.testLoss).toBe(a.testLoss);
    // the resumed run logged only its own steps, with the same values
    const wm = await jsonLines(join(work, 'whole', 'metrics.jsonl')), rm2 = await jsonLines(join(work, 'rest', 'metrics.jsonl'));
    expect(rm2).toEqual(wm.filter((m) => (m.step as number) > 20));
    // and the final checkpoints are the same bytes (model, optimizer, loader, RNG, step, flags)
    const [ca, cb] = await Promise.all([readFile(join(work, 'whole', 'checkpoint.safetensors')), readFile(join(work, 'rest', 'checkpoint.safetensors'))]);
    expect(Buffer.compare(ca, cb)).toBe(0);
  });

  it('--resume with different flags, a missing file or a corrupted checkpoint: a clear error and exit code 1', async () => {
    const flags = ['--eval-every', '10', ...SMALL, '--checkpoint-every', '5'];
    const made = await normlab(['train', '--steps', '5', ...flags, '--out', join(work, 'made')]);
    expect(made.code, made.stderr).toBe(0);
    const ckpt = join(work, 'made', 'checkpoint.safetensors');
    const bytes = await readFile(ckpt);
    bytes[bytes.length - 3] ^= 0x01;
    await writeFile(join(work, 'corrupt.safetensors'), bytes);
    const [lr, width, missing, corrupt] = await Promise.all([
      normlab(['train', '--steps', '10', ...flags, '--lr', '0.2', '--resume', ckpt, '--out', join(work, 'x1')]),
      normlab(['train', '--steps', '10', ...flags, '--width', '17', '--no-bn', '--resume', ckpt, '--out', join(work, 'x2')]),
      normlab(['train', '--steps', '10', ...flags, '--resume', join(work, 'nope.safetensors'), '--out', join(work, 'x3')]),
      normlab(['train', '--steps', '10', ...flags, '--resume', join(work, 'corrupt.safetensors'), '--out', join(work, 'x4')]),
    ]);
    expect(lr.code).toBe(1);
    expect(lr.stderr).toMatch(/^normlab: --resume: the checkpoint was written with different flags: --lr 0\.1 in the checkpoint, 0\.2 now$/m);
    expect(width.code).toBe(1);
    expect(width.stderr).toMatch(/--bn true in the checkpoint, false now; --width 16 in the checkpoint, 17 now/);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--resume: no checkpoint at '.*nope\.safetensors'/);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toMatch(/normlab: checkpoint: file is corrupted \(CRC-32/);
    for (const r of [lr, width, missing, corrupt]) expect(r.stdout).toBe('');
    // refused before anything was loaded or created
    expect(existsSync(join(work, 'x1'))).toBe(false);
    expect(existsSync(join(work, 'x2'))).toBe(false);
  });
});

describe('normlab paper', () => {
  it('--steps 40 --eval-every 20 --json --no-workers: a JSON summary for both arms and an HTML report with SVG charts', async () => {
    const out = join(work, 'paper');
    const r = await normlab(['paper', '--steps', '40', '--eval-every', '20', '--json', '--out', out, '--no-workers']);
    expect(r.code, r.stderr).toBe(0);
    const s = summaryOf(r) as { steps: number; parallel: boolean; report: string; arms: Record<string, { testAccuracy: number }> };
    expect(s.steps).toBe(40);
    expect(s.parallel).toBe(false);
    for (const arm of ['bn', 'plain']) {
      expect(s.arms[arm].testAccuracy, arm).toBeGreaterThanOrEqual(0);
      expect(s.arms[arm].testAccuracy, arm).toBeLessThanOrEqual(1);
    }
    expect(s.report).toBe(join(out, 'report.html'));
    expect(existsSync(s.report)).toBe(true);
    const html = await readFile(s.report, 'utf8');
    expect(html.match(/<svg/g)?.length).toBe(3); // accuracy, without BN, with BN
    expect(html).toMatch(/<\/html>/);
    expect(JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'))).toEqual(s);
    const evals = (await jsonLines(join(out, 'metrics.jsonl'))).filter((m) => 'testAccuracy' in m);
    expect(evals.map((m) => `${m.arm}@${m.step}`).sort()).toEqual(['bn@0', 'bn@20', 'bn@40', 'plain@0', 'plain@20', 'plain@40']);
    expect(evals.find((m) => m.arm === 'bn' && m.step === 40)!.testAccuracy).toBe(s.arms.bn.testAccuracy);
  });
});

describe('writeFileAtomic under a real crash (SIGKILL mid-write, built dist)', () => {
  it('the target is always one whole version, never a truncated one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'normlab-crash-'));
    const target = join(dir, 'state.bin');
    const size = 2 << 20;
    await writeFile(target, Buffer.alloc(size, 0x61));
    // a writer that alternates two 2 MB versions as fast as it can, until killed
    const script = `import(${JSON.stringify(join(ROOT, 'dist/src/io/files.js'))}).then(async ({ writeFileAtomic }) => {
      const v = [new Uint8Array(${size}).fill(0x61), new Uint8Array(${size}).fill(0x62)];
      for (let i = 0; ; i++) { await writeFileAtomic(${JSON.stringify(target)}, v[i % 2]); if (i === 0) process.stdout.write('ready\\n'); }
    });`;
    try {
      for (const delay of [0, 13, 41]) {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script]);
        await new Promise<void>((res, rej) => { child.stdout.once('data', () => res()); child.once('exit', () => rej(new Error('writer exited early'))); });
        await new Promise((res) => setTimeout(res, delay));
        child.kill('SIGKILL');
        await new Promise((res) => child.once('close', res));
        const got = await readFile(target);
        expect(got.length, `kill after ${delay} ms`).toBe(size);
        expect(got.every((b) => b === got[0]) && (got[0] === 0x61 || got[0] === 0x62), `kill after ${delay} ms`).toBe(true);
      }
      // what a crash may leave: only temporary files beside the target, named so as not to be mistaken for it
      for (const f of await readdir(dir)) if (f !== 'state.bin') expect(f).toMatch(/^\.state\.bin\.\d+\.[a-z0-9]+\.tmp$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
