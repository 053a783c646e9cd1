import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt, lastJson, ROOT, runCli, type CliRun } from './dist.js';

/*
 * The built command line (`node dist/cli/main.js`), run as a user runs it: exit codes, usage messages,
 * --json summaries, run folders, checkpoints and exact resume, the paper report. Small step counts.
 */

type Run = CliRun;

let work: string;

const normlab = (args: string[], { cwd = work, timeoutMs = 60_000, env = {} as Record<string, string | undefined> } = {}): Promise<Run> => runCli(args, { cwd, timeoutMs, env });

/** The last stdout line, parsed (the --json contract). */
const summaryOf = (r: Run): Record<string, unknown> => lastJson(r);

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
    expect(version.stdout.trim()).toBe(JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('help shows every default exactly once, as commander prints it', async () => {
    const [train, paper] = await Promise.all([normlab(['train', '--help']), normlab(['paper', '--help'])]);
    // one entry per option: the flag at two spaces' indent, then its description over continuation lines
    const entries = (r: Run) => r.stdout.split('Options:\n')[1].split(/\n(?= {2}-)/).map((e) => e.replace(/\s+/g, ' ').trim());
    for (const r of [train, paper]) {
      expect(r.code).toBe(0);
      expect(entries(r).length).toBeGreaterThan(8);
      for (const e of entries(r)) expect(e.match(/default/g)?.length ?? 0, e).toBeLessThanOrEqual(1);
    }
    const entry = (r: Run, flag: string) => entries(r).find((e) => e.startsWith(`${flag} `)) ?? '';
    // every flag with a default says it (the paper's come from experiments/paper-config.ts)
    for (const [flag, text] of [['--steps', '(default: 6000)'], ['--eval-every', '(default: 100; 1000 with --full)'], ['--lr', '(default: 0.5)'], ['--init-std', '(default: 0.05)'], ['--seed', '(default: 1)']])
      expect(entry(paper, flag), flag).toContain(text);
    for (const [flag, text] of [['--model', 'default: "mlp"'], ['--depth', '(default: 3)'], ['--bn', '(default: true)'], ['--lr', '(default: 0.1)'], ['--weight-decay', '(default: 0; 0.01 with adamw)'], ['--steps', '(default: 2000)'], ['--eval-every', '(default: 500)'], ['--checkpoint-every', '(default: none)'], ['--out', '(default: runs/train-<time>)']])
      expect(entry(train, flag), flag).toContain(text);
  });

  it('conflicting flags: exit 2, the message names both, nothing runs', async () => {
    const cases: [string[], RegExp][] = [
      [['paper', '--full', '--steps', '100'], /option '--full' cannot be used with option '--steps <n>'/],
      [['train', '--optimizer', 'adam', '--momentum', '0.9'], /option '--momentum' is for --optimizer sgd; adam has no momentum/],
      [['train', '--optimizer', 'adamw', '--momentum', '0'], /option '--momentum' is for --optimizer sgd; adamw has no momentum/],
      [['train', '--model', 'cnn', '--depth', '2', '--width', '8'], /'--depth', '--width' are options of --model mlp, not cnn/],
      [['train', '--model', 'cnn', '--init-std', '0.1'], /'--init-std' is an option of --model mlp, not cnn/],
      [['train', '--resume', 'x.safetensors', '--out', 'elsewhere'], /option '--resume <file>' cannot be used with option '--out <dir>'/],
    ];
    const runs = await Promise.all(cases.map(([args]) => normlab(args)));
    runs.forEach((r, i) => {
      const what = cases[i][0].join(' ');
      expect(r.code, what).toBe(2);
      expect(r.stderr, what).toMatch(cases[i][1]);
      expect(r.stderr, what).toMatch(/Usage: normlab (train|paper)/);
      expect(r.stdout, what).toBe('');
    });
    // the same flags one at a time are fine: --momentum with sgd, --full alone parses (checked without running: --help wins)
    expect((await normlab(['paper', '--full', '--help'])).code).toBe(0);
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
    expect(s).toMatchObject({ command: 'train', steps: 30, out, checkpoint: null, report: join(out, 'report.html'), resumedFrom: null });
    // the full configuration: every flag, defaults resolved, unset ones null
    expect(s.config).toEqual({
      model: 'mlp', activation: 'sigmoid', depth: 2, width: 16, bn: true, initStd: null, optimizer: 'sgd', lr: 0.1, momentum: 0, weightDecay: 0,
      clipValue: null, clipNorm: null, globalClipNorm: null, batch: 60, steps: 30, evalEvery: 10, checkpointEvery: null, seed: 0,
    });
    expect((s.segments as { from: number; to: number }[]).map((g) => [g.from, g.to])).toEqual([[0, 30]]);
    expect(s.testAccuracy).toBeGreaterThanOrEqual(0);
    expect(s.testAccuracy).toBeLessThanOrEqual(1);
    expect(Number.isFinite(s.testLoss)).toBe(true);
    expect(JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'))).toEqual(s);
    const metrics = await jsonLines(join(out, 'metrics.jsonl'));
    const evals = metrics.filter((m) => 'testAccuracy' in m);
    expect(evals.map((m) => m.step)).toEqual([10, 20, 30]);
    expect(evals[2].testAccuracy).toBe(s.testAccuracy);
    expect(metrics.filter((m) => 'trainLoss' in m).map((m) => m.step)).toEqual([10, 20, 30]);
    expect((await readdir(out)).sort()).toEqual(['metrics.jsonl', 'report.html', 'summary.json']);
    // the report: loss and accuracy curves drawn by vega (SVG), the configuration and the final numbers
    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(html.match(/<svg/g)?.length).toBe(2);
    expect(html).toMatch(/>Loss</);
    expect(html).toMatch(/>Test accuracy</);
    expect(html).toContain(`Test accuracy ${(100 * (s.testAccuracy as number)).toFixed(2)}%`);
    expect(html).toContain('<code>--width</code></td><td>16</td>');
    expect(html).toMatch(/<\/html>\n$/);
    // off a terminal the progress lines carry loss, rate and ETA, and none is printed twice
    const progress = r.stderr.split('\n').filter((l) => l.startsWith('[train]'));
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(new Set(progress).size).toBe(progress.length);
    expect(new Set(progress.map((l) => l.split(' ')[1])).size).toBe(progress.length); // one line per step count
    expect(progress[0]).toMatch(/^\[train\] \d+\/30 steps, loss \d+\.\d{4}, \d+ steps\/s, ETA \d+s/);
    expect(progress[progress.length - 1]).toMatch(/^\[train\] 30\/30 steps, loss \d+\.\d{4}, \d+ steps\/s, done, test acc \d+\.\d\d%$/);
  });

  it('--weight-decay defaults to the optimizer\'s own (AdamW 0.01); --momentum with sgd is recorded', async () => {
    const [adamw, sgd] = await Promise.all([
      normlab(['train', '--steps', '2', '--eval-every', '2', ...SMALL, '--optimizer', 'adamw', '--lr', '0.001', '--json', '--out', join(work, 'wd-adamw')]),
      normlab(['train', '--steps', '2', '--eval-every', '2', ...SMALL, '--momentum', '0.9', '--json', '--out', join(work, 'wd-sgd')]),
    ]);
    expect(adamw.code, adamw.stderr).toBe(0);
    expect(sgd.code, sgd.stderr).toBe(0);
    expect(summaryOf(adamw).config).toMatchObject({ optimizer: 'adamw', weightDecay: 0.01, momentum: 0 });
    expect(summaryOf(sgd).config).toMatchObject({ optimizer: 'sgd', weightDecay: 0, momentum: 0.9 });
  });

  it("--resume <checkpoint> alone: the run's own flags, in its own folder, appending to its metrics; bit for bit an uninterrupted run", async () => {
    const flags = ['--eval-every', '10', ...SMALL, '--optimizer', 'adam', '--lr', '0.01', '--batch', '32', '--checkpoint-every', '10', '--json'];
    const [whole, first] = await Promise.all([
      normlab(['train', '--steps', '40', ...flags, '--out', join(work, 'whole')]),
      normlab(['train', '--steps', '20', ...flags, '--out', join(work, 'first')]),
    ]);
    expect(whole.code, whole.stderr).toBe(0);
    expect(first.code, first.stderr).toBe(0);
    const ckpt = join(work, 'first', 'checkpoint.safetensors');
    expect(summaryOf(first)).toMatchObject({ steps: 20, checkpoint: ckpt });
    await writeFile(join(work, 'first', 'at-20.safetensors'), await readFile(ckpt)); // for the second resume below
    // only --steps given: width, depth, optimizer, lr, batch, intervals and seed come from the checkpoint
    const rest = await normlab(['train', '--resume', ckpt, '--steps', '40', '--json']);
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stderr).toMatch(/resumed from .* at step 20 with the run's flags, overriding --steps 40\n/);
    const a = summaryOf(whole), b = summaryOf(rest);
    expect(b).toMatchObject({ steps: 40, out: join(work, 'first'), checkpoint: ckpt, resumedFrom: { checkpoint: ckpt, step: 20 } });
    expect(b.config).toEqual(a.config);
    expect(b.testAccuracy).toBe(a.testAccuracy);
    expect(b.testLoss).toBe(a.testLoss);
    expect((b.segments as { from: number; to: number }[]).map((g) => [g.from, g.to])).toEqual([[0, 20], [20, 40]]);
    // the run folder's metrics now hold both parts: exactly the uninterrupted run's lines
    const wm = await jsonLines(join(work, 'whole', 'metrics.jsonl'));
    expect(await jsonLines(join(work, 'first', 'metrics.jsonl'))).toEqual(wm);
    // and the final checkpoint is the same bytes (model, optimizer, loader, RNG, step, flags — the interval included)
    const [ca, cb] = await Promise.all([readFile(join(work, 'whole', 'checkpoint.safetensors')), readFile(ckpt)]);
    expect(Buffer.compare(ca, cb)).toBe(0);
    const html = await readFile(join(work, 'first', 'report.html'), 'utf8');
    expect(html).toContain('<td>0 → 20</td>');
    expect(html).toContain('<td>20 → 40</td>');

    // resuming from an earlier checkpoint of the same folder drops the lines logged after it, then logs them again
    const again = await normlab(['train', '--resume', join(work, 'first', 'at-20.safetensors'), '--steps', '40', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(summaryOf(again)).toMatchObject({ steps: 40, testAccuracy: a.testAccuracy });
    expect(await jsonLines(join(work, 'first', 'metrics.jsonl'))).toEqual(wm);
  });

  it('a run killed (SIGKILL) after a checkpoint, resumed with --resume alone, ends as an uninterrupted run: metrics, checkpoint, summary', async () => {
    const flags = ['train', '--steps', '200', '--eval-every', '50', ...SMALL, '--checkpoint-every', '20', '--json'];
    const whole = await normlab([...flags, '--out', join(work, 'crash-whole')]);
    expect(whole.code, whole.stderr).toBe(0);
    const dir = join(work, 'crash'), ckpt = join(dir, 'checkpoint.safetensors');
    const child = spawn(process.execPath, [CLI, ...flags, '--out', dir], { cwd: work });
    child.stderr.resume();
    child.stdout.resume();
    const closed = new Promise((res) => child.once('close', res));
    // kill as soon as the first checkpoint is on disk (the run goes on to later steps unless killed at once)
    for (let i = 0; i < 2000 && !existsSync(ckpt); i++) await new Promise((res) => setTimeout(res, 5));
    child.kill('SIGKILL');
    await closed;
    expect(existsSync(ckpt)).toBe(true);
    expect(existsSync(join(dir, 'summary.json'))).toBe(false); // it did not finish
    const rest = await normlab(['train', '--resume', ckpt, '--json']);
    expect(rest.code, rest.stderr).toBe(0);
    const at = Number(/at step (\d+) with the run's flags\n/.exec(rest.stderr)?.[1]);
    expect(at % 20).toBe(0);
    expect(at).toBeLessThan(200);
    const a = summaryOf(whole), b = summaryOf(rest);
    expect(b).toMatchObject({ steps: 200, testAccuracy: a.testAccuracy, testLoss: a.testLoss, config: a.config });
    expect(await jsonLines(join(dir, 'metrics.jsonl'))).toEqual(await jsonLines(join(work, 'crash-whole', 'metrics.jsonl')));
    expect(Buffer.compare(await readFile(ckpt), await readFile(join(work, 'crash-whole', 'checkpoint.safetensors')))).toBe(0);
  });

  it('--resume overrides only the flags given: a new lr, eval and checkpoint interval; the rest from the checkpoint', async () => {
    const made = await normlab(['train', '--steps', '10', '--eval-every', '5', ...SMALL, '--checkpoint-every', '5', '--json', '--out', join(work, 'over')]);
    expect(made.code, made.stderr).toBe(0);
    const ckpt = join(work, 'over', 'checkpoint.safetensors');
    const r = await normlab(['train', '--resume', ckpt, '--steps', '16', '--lr', '0.05', '--eval-every', '3', '--checkpoint-every', '4', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(r).config).toEqual({ ...(summaryOf(made).config as object), steps: 16, lr: 0.05, evalEvery: 3, checkpointEvery: 4 });
    const evals = (await jsonLines(join(work, 'over', 'metrics.jsonl'))).filter((m) => 'testAccuracy' in m).map((m) => m.step);
    expect(evals).toEqual([5, 10, 12, 15, 16]);
  });

  it('--resume with a flag that fixes the network, optimizer, batch or seed, a missing file, a run already at its --steps or a corrupted checkpoint: a clear error, exit 1, nothing written', async () => {
    const flags = ['--eval-every', '10', ...SMALL, '--checkpoint-every', '5'];
    const made = await normlab(['train', '--steps', '5', ...flags, '--out', join(work, 'made')]);
    expect(made.code, made.stderr).toBe(0);
    const ckpt = join(work, 'made', 'checkpoint.safetensors');
    const bytes = await readFile(ckpt);
    bytes[bytes.length - 3] ^= 0x01;
    await writeFile(join(work, 'made', 'corrupt.safetensors'), bytes);
    const before = await Promise.all(['metrics.jsonl', 'summary.json', 'report.html', 'checkpoint.safetensors'].map((f) => readFile(join(work, 'made', f))));
    const [width, optimizer, seed, missing, done, corrupt] = await Promise.all([
      normlab(['train', '--steps', '10', '--width', '17', '--no-bn', '--resume', ckpt]),
      normlab(['train', '--steps', '10', '--optimizer', 'adam', '--resume', ckpt]),
      normlab(['train', '--steps', '10', '--seed', '3', '--batch', '60', '--resume', ckpt]),
      normlab(['train', '--steps', '10', '--resume', join(work, 'nope.safetensors')]),
      normlab(['train', '--resume', ckpt]),
      normlab(['train', '--steps', '10', '--resume', join(work, 'made', 'corrupt.safetensors')]),
    ]);
    expect(width.code).toBe(1);
    expect(width.stderr).toMatch(/^normlab: --resume: --width is 16 in the checkpoint, 17 given; --bn is true in the checkpoint, false given: a resumed run keeps its network, optimizer, batch size and seed$/m);
    expect(optimizer.code).toBe(1);
    expect(optimizer.stderr).toMatch(/--optimizer is "sgd" in the checkpoint, "adam" given/);
    expect(seed.code).toBe(1);
    expect(seed.stderr).toMatch(/--seed is 0 in the checkpoint, 3 given/);
    expect(seed.stderr).not.toMatch(/--batch/); // given, but the same value
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--resume: no checkpoint at '.*nope\.safetensors'/);
    expect(done.code).toBe(1);
    expect(done.stderr).toMatch(/--resume: the checkpoint is at step 5 and the run's --steps is 5: give a larger --steps to train further/);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toMatch(/normlab: checkpoint: file is corrupted \(CRC-32/);
    for (const r of [width, optimizer, seed, missing, done, corrupt]) expect(r.stdout).toBe('');
    // the run folder is as it was
    const after = await Promise.all(['metrics.jsonl', 'summary.json', 'report.html', 'checkpoint.safetensors'].map((f) => readFile(join(work, 'made', f))));
    after.forEach((b, i) => expect(Buffer.compare(b, before[i]), String(i)).toBe(0));
    expect((await readdir(join(work, 'made'))).sort()).toEqual(['checkpoint.safetensors', 'corrupt.safetensors', 'metrics.jsonl', 'report.html', 'summary.json']);
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
    // progress off a terminal: per arm, one line per tenth and one final line with the last evaluation, none twice
    for (const arm of ['with BN', 'without BN']) {
      const lines = r.stderr.split('\n').filter((l) => l.startsWith(`[${arm}]`));
      expect(new Set(lines.map((l) => l.split(' ').find((w) => /^\d+\/40$/.test(w)))).size, arm).toBe(lines.length);
      expect(lines[lines.length - 1], arm).toMatch(/ 40\/40 steps, loss \d+\.\d{4}, \d+ steps\/s, done, test acc \d+\.\d\d%$/);
    }
  });

  it('the two arms in worker threads, each with its share of the cores: the same numbers as one after the other', async () => {
    const args = ['paper', '--steps', '30', '--eval-every', '15', '--json'];
    const env = { NORMLAB_NUM_THREADS: undefined };
    const [workers, serial] = await Promise.all([
      normlab([...args, '--out', join(work, 'paper-w')], { env }),
      normlab([...args, '--out', join(work, 'paper-s'), '--no-workers'], { env }),
    ]);
    expect(workers.code, workers.stderr).toBe(0);
    expect(serial.code, serial.stderr).toBe(0);
    const w = summaryOf(workers) as { parallel: boolean; threadsPerArm: number; arms: Record<string, { final: Record<string, number> }> };
    const s = summaryOf(serial) as typeof w;
    const cores = availableParallelism();
    expect(w.parallel).toBe(cores >= 2);
    // where the time went: each arm's evaluations and its training steps alone, the machine's cores and load
    expect(w).toMatchObject({ cores });
    expect((w as unknown as { loadAverage: number[] }).loadAverage).toHaveLength(2);
    for (const arm of ['bn', 'plain']) {
      const a = (w.arms as unknown as Record<string, { seconds: number; evalSeconds: number; stepsPerSecond: number; trainStepsPerSecond: number }>)[arm];
      expect(a.evalSeconds, arm).toBeGreaterThan(0);
      expect(a.evalSeconds, arm).toBeLessThan(a.seconds);
      expect(a.trainStepsPerSecond, arm).toBeGreaterThan(a.stepsPerSecond);
    }
    expect(workers.stderr).toMatch(/speed: both arms at once, \d+ kernel threads? each on \d+ cores \(load average [\d.]+ → [\d.]+\); with BN: evaluation \d+% of the time, training \d+ steps\/s/);
    if (cores >= 2) expect(w.threadsPerArm).toBe(Math.max(1, Math.floor(cores / 2)));
    for (const arm of ['bn', 'plain']) {
      const { seconds: _a, ...fw } = w.arms[arm].final, { seconds: _b, ...fs } = s.arms[arm].final;
      expect(fw, arm).toEqual(fs); // results do not depend on the thread count (fixed partitions)
    }
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
