import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploy, io, manualSeed, models, noGrad, randn, tensor } from '../../src/index.js';
import { expectClose } from '../helpers/close.js';
import { ensureBuilt, lastJson, runCli, type CliRun } from './dist.js';

/* `normlab fold` and `normlab recompute-stats` (issue 11), run as a user runs them: files in, files out, --json. */

type Run = CliRun;

let work: string;

const normlab = (args: string[]): Promise<Run> => runCli(args, { cwd: work, timeoutMs: 90_000 });

const summaryOf = lastJson;

/** A state dict as a safetensors file, counters as int64 (as PyTorch writes them). */
const stateFile = (model: ReturnType<typeof models.cnn>): Uint8Array => io.saveSafetensors(model);

beforeAll(async () => {
  ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'normlab-deploy-cli-'));
}, 180_000);
afterAll(async () => { if (work) await rm(work, { recursive: true, force: true }); });

describe('normlab fold / recompute-stats', () => {
  it('fold: a safetensors state dict of the CNN in, the folded state dict out, same outputs', async () => {
    manualSeed(3);
    const net = models.cnn();
    noGrad(() => { for (let i = 0; i < 3; i++) net.forward(randn([16, 784]).add(0.3)); });
    net.eval();
    await writeFile(join(work, 'cnn.safetensors'), stateFile(net));
    const r = await normlab(['fold', 'cnn.safetensors', '--model', 'cnn', '--out', 'cnn-folded.safetensors', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = summaryOf(r);
    expect(s.folded).toEqual([{ layer: '1', bn: '2' }, { layer: '5', bn: '6' }]);
    expect(s.kept).toEqual([]);
    expect(s.maxRelDiff).toBeLessThan(1e-5);
    expect(s.testAccuracy.folded).toBe(s.testAccuracy.original);
    // The file loads into the folded structure of the same architecture and computes what the original does.
    const { tensors, metadata } = io.decodeSafetensors(await readFile(join(work, 'cnn-folded.safetensors')));
    expect(metadata.format).toBe('normlab-folded');
    const skeleton = deploy.foldBatchNorm(models.cnn().eval()).model;
    skeleton.loadStateDict(Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.data])));
    const x = randn([5, 784]);
    expectClose(noGrad(() => skeleton.forward(x)), noGrad(() => net.forward(x)), { rtol: 1e-5, atol: 1e-5 }, 'folded file');
  });

  it('fold: a state dict that does not match the flags is an error naming the entries', async () => {
    const r = await normlab(['fold', 'cnn.safetensors', '--model', 'mlp']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/does not match mlp 784-100-100-100-10 sigmoid with BN.*missing: 0.weight/);
  });

  it('recompute-stats and fold on a train checkpoint; the new checkpoint resumes', async () => {
    const t = await normlab(['train', '--width', '16', '--depth', '2', '--batch', '2', '--steps', '60', '--eval-every', '60', '--checkpoint-every', '60', '--out', 'run', '--json']);
    expect(t.code, t.stderr).toBe(0);
    const ckpt = join('run', 'checkpoint.safetensors');
    const r = await normlab(['recompute-stats', ckpt, '--batch', '777', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = summaryOf(r);
    expect(s.layers).toEqual([{ path: '1', count: 8000 }, { path: '4', count: 8000 }]);
    expect([s.samples, s.passes, s.step, s.unbiased]).toEqual([8000, 2, 60, true]);
    expect(s.out).toBe(join(work, 'run', 'checkpoint-population.safetensors'));
    // The new checkpoint holds the population statistics and everything else as it was.
    const model = models.mlp({ hidden: [16, 16], norm: 'batch' });
    io.decodeCheckpoint(await readFile(s.out), { model });
    const old = models.mlp({ hidden: [16, 16], norm: 'batch' });
    io.decodeCheckpoint(await readFile(join(work, ckpt)), { model: old });
    const fresh = models.mlp({ hidden: [16, 16], norm: 'batch' });
    fresh.loadStateDict(old.stateDict());
    const { data } = await import('../../src/index.js');
    const { train: trainSet } = data.splitDataset(await data.loadMnist(), { seed: 0 });
    deploy.recomputeBatchNormStats(fresh, [tensor(trainSet.x, [trainSet.count, trainSet.features])]);
    for (const [k, v] of Object.entries(model.stateDict()))
      if (/running_/.test(k)) expectClose(v, fresh.stateDict()[k], { rtol: 1e-5, atol: 1e-6 }, k);
      else expect(Array.from(v.data), k).toEqual(Array.from(old.stateDict()[k].data));
    const resumed = await normlab(['train', '--steps', '70', '--resume', s.out as string, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const f = await normlab(['fold', s.out as string, '--json']);
    expect(f.code, f.stderr).toBe(0);
    expect(summaryOf(f).folded).toEqual([{ layer: '0', bn: '1' }, { layer: '3', bn: '4' }]);
    const bad = await normlab(['fold', ckpt, '--model', 'cnn']);
    expect(bad.stderr).toMatch(/architecture differs from the flags: --model cnn \(the checkpoint has mlp\)/);
  }, 120_000);

  it('train --export writes model.onnx (onnxruntime gives the trained model\'s outputs) and the folded model', async () => {
    const out = join(work, 'exported');
    const r = await normlab(['train', '--steps', '30', '--eval-every', '30', '--export', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = summaryOf(r);
    expect(s.exported.foldedPairs).toBe(3);
    // The folded file is what `normlab export` reads; onnxruntime runs the ONNX file: both give the same logits.
    const folded = await normlab(['export', s.exported.folded, '--onnx', join(work, 'folded.onnx'), '--json']);
    expect(folded.code, folded.stderr).toBe(0);
    const ort = await import('onnxruntime-node');
    const x = Float32Array.from({ length: 4 * 784 }, (_, i) => ((i * 7919) % 256) / 255);
    const run = async (file: string) => {
      const session = await ort.InferenceSession.create(await readFile(file));
      const res = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [4, 784]) });
      return Array.from(res[session.outputNames[0]].data as Float32Array);
    };
    const a = await run(s.exported.onnx), b = await run(join(work, 'folded.onnx'));
    expect(a.length).toBe(40);
    a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThan(1e-4 * (1 + Math.abs(v))));
  }, 180_000);
});
