import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from '../cli/dist.js';

/* `normlab train --workers N` (the built CLI): data-parallel training with SyncBatchNorm matches one worker. */

const run = promisify(execFile);
let work: string;

beforeAll(async () => {
  ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'normlab-workers-'));
}, 300_000);
afterAll(async () => { await rm(work, { recursive: true, force: true }); });

async function train(args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [CLI, 'train', ...args, '--json'], { cwd: work, timeout: 240_000, env: { ...process.env, NO_COLOR: '1' } });
  return JSON.parse(stdout.trimEnd().split('\n').at(-1)!) as Record<string, unknown>;
}

describe('normlab train --workers', () => {
  it('trains to the same accuracy and losses as one worker, and reports the throughput of both', async () => {
    const flags = ['--steps', '60', '--eval-every', '30', '--batch', '60'];
    const one = await train([...flags, '--out', join(work, 'w1')]);
    const two = await train([...flags, '--workers', '2', '--out', join(work, 'w2')]);
    expect(two.steps).toBe(60);
    // the same mathematics (SyncBN over the global batch, averaged gradients); float32 rounding differs slightly
    expect(Math.abs((two.testAccuracy as number) - (one.testAccuracy as number))).toBeLessThanOrEqual(0.005);
    expect(Math.abs((two.testLoss as number) - (one.testLoss as number))).toBeLessThan(1e-3);
    const w = two.workers as Record<string, number>;
    expect(w.count).toBe(2);
    expect(w.kernelThreadsPerWorker).toBeGreaterThanOrEqual(1);
    for (const k of ['samplesPerSecond', 'oneWorkerSamplesPerSecond', 'speedup']) expect(w[k]).toBeGreaterThan(0);
    expect((two.config as Record<string, unknown>).workers).toBe(2);
    const metrics = (await readFile(join(work, 'w2', 'metrics.jsonl'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    const ref = (await readFile(join(work, 'w1', 'metrics.jsonl'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(metrics.map((m) => m.step)).toEqual(ref.map((m) => m.step));
    metrics.forEach((m, i) => { if (m.trainLoss !== undefined) expect(Math.abs(m.trainLoss - ref[i].trainLoss)).toBeLessThan(1e-3); });
  }, 300_000);

  it('refuses --checkpoint-every with workers', async () => {
    const err = await run(process.execPath, [CLI, 'train', '--workers', '2', '--steps', '5', '--checkpoint-every', '5', '--out', join(work, 'w3')], { cwd: work }).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(1);
    expect((err as { stderr: string }).stderr).toMatch(/--workers: --resume, --checkpoint-every and --export need --workers 1/);
  }, 60_000);
});
