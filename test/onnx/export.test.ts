import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { deploy, manualSeed, models, nn, noGrad, onnx, randn, type Tensor } from '../../src/index.js';

const flat = (t: Tensor): Float64Array => Float64Array.from(t.storage.copyToHost());

/*
 * Every export runs in onnxruntime-node, at the batch size of `inputShape` and at another one (the batch
 * axis is dynamic), and must give our model's eval-mode outputs. The models are trained a few steps first
 * so that BN's running statistics and parameters are not their initial values.
 */

/** Give BN layers non-trivial running statistics and every parameter a random perturbation. */
function perturb(model: nn.Module, inputShape: readonly number[], dtype: 'float32' | 'float64' = 'float32'): void {
  noGrad(() => {
    model.train();
    for (let i = 0; i < 3; i++) model.forward(randn([8, ...inputShape.slice(1)], { dtype }).mul(2).add(0.5));
    for (const p of model.parameters()) {
      const d = p.storage.write(), r = randn([p.size]).toArray() as number[];
      for (let i = 0; i < d.length; i++) d[i] += 0.1 * r[i];
    }
  });
  model.eval();
}

async function runOrt(bytes: Uint8Array, x: Tensor): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', Float32Array.from(flat(x)), [...x.shape]) };
  const out = (await session.run(feeds))[session.outputNames[0]];
  return { data: out.data as Float32Array, dims: out.dims };
}

/** Export `model`, run it in onnxruntime at two batch sizes and compare with our eval-mode forward. */
async function check(model: nn.Module, inputShape: number[], { opset, tol = 2e-5 }: { opset?: number; tol?: number } = {}): Promise<Uint8Array> {
  const bytes = onnx.exportOnnx(model, { inputShape, ...(opset ? { opset } : {}) });
  for (const batch of [inputShape[0], inputShape[0] + 4]) {
    const x = randn([batch, ...inputShape.slice(1)]);
    const ours = noGrad(() => model.forward(x));
    const theirs = await runOrt(bytes, x);
    expect(theirs.dims).toEqual(ours.shape);
    const a = flat(ours);
    let worst = 0, scale = 0;
    for (let i = 0; i < a.length; i++) { worst = Math.max(worst, Math.abs(a[i] - theirs.data[i])); scale = Math.max(scale, Math.abs(a[i])); }
    expect(worst, `max |ours − onnxruntime| at batch ${batch}`).toBeLessThanOrEqual(tol * Math.max(1, scale));
  }
  return bytes;
}

describe('exportOnnx runs in onnxruntime with our outputs', () => {
  it('the paper MLP with BN (Gemm, BatchNormalization, Sigmoid)', async () => {
    manualSeed(1);
    const m = models.mlp({ norm: 'batch', hidden: [32, 16] });
    perturb(m, [1, 784]);
    await check(m, [1, 784]);
  });

  it('the small CNN (Unflatten → Reshape, Conv, BatchNormalization, Relu, MaxPool, GlobalAveragePool, Flatten, Gemm)', async () => {
    manualSeed(2);
    const m = models.cnn({ channels: [4, 8] });
    perturb(m, [2, 784]);
    await check(m, [2, 784]);
  });

  it('every supported layer, with strides, padding, dilation, groups and no-bias/no-affine variants', async () => {
    manualSeed(3);
    const m = new nn.Sequential(
      new nn.Conv2d(2, 6, [3, 2], { stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2 }),
      new nn.BatchNorm2d(6, { affine: false, eps: 1e-3 }),
      new nn.Tanh(),
      new nn.AvgPool2d(3, { stride: 1, padding: 1, countIncludePad: false }),
      new nn.AvgPool2d(2, { stride: 1, padding: 1 }),
      new nn.MaxPool2d([2, 3], { stride: 1, padding: 1 }),
      new nn.Sequential(new nn.Dropout(0.3), new nn.Identity(), new nn.AdaptiveAvgPool2d([7, 1])),
      new nn.Flatten(),
      new nn.Linear(42, 12, { bias: false }),
      new nn.BatchNorm1d(12),
      new nn.Sigmoid(),
      new nn.Unflatten(1, [3, 4]),
      new nn.BatchNorm1d(3),
      new nn.Linear(4, 5),
      new nn.LayerNorm(5, { eps: 1e-4 }),
      new nn.ReLU(),
      new nn.Flatten(),
      new nn.LayerNorm(15, { elementwiseAffine: false }),
    );
    perturb(m, [3, 2, 9, 8]);
    const bytes = await check(m, [3, 2, 9, 8]);
    const nodes = (onnx.decodeModel(bytes).graph?.node ?? []).map((n) => n.opType);
    expect(new Set(nodes)).toEqual(new Set(['Conv', 'BatchNormalization', 'Tanh', 'AveragePool', 'MaxPool', 'Dropout', 'Identity', 'Flatten', 'Gemm',
      'Sigmoid', 'Reshape', 'MatMul', 'Add', 'LayerNormalization', 'Relu']));
  });

  it('a model folded by deploy.foldBatchNorm exports without BatchNormalization and gives the unfolded outputs', async () => {
    manualSeed(8);
    const m = models.cnn({ channels: [4, 6] });
    perturb(m, [2, 784]);
    const { model: folded } = deploy.foldBatchNorm(m);
    const bytes = await check(folded, [2, 784]);
    expect((onnx.decodeModel(bytes).graph?.node ?? []).map((n) => n.opType)).not.toContain('BatchNormalization');
    const x = randn([3, 784]);
    const ref = flat(noGrad(() => m.forward(x))), theirs = await runOrt(bytes, x);
    ref.forEach((v, i) => expect(Math.abs(v - theirs.data[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(v))));
  });

  it('GroupNorm as GroupNormalization at opset 21 (the default for a model holding one)', async () => {
    manualSeed(4);
    const m = new nn.Sequential(new nn.Conv2d(3, 6, 3), new nn.GroupNorm(3, 6, { eps: 1e-4 }), new nn.ReLU(), new nn.GroupNorm(2, 6, { affine: false }));
    perturb(m, [2, 3, 6, 6]);
    const bytes = await check(m, [2, 3, 6, 6]);
    expect(Number(onnx.decodeModel(bytes).opsetImport![0].version)).toBe(21);
  });

  it('the same model at every opset from 13 to 21 (LayerNorm from 17)', async () => {
    manualSeed(5);
    const m = new nn.Sequential(new nn.Linear(6, 4), new nn.BatchNorm1d(4), new nn.ReLU(), new nn.Dropout());
    perturb(m, [1, 6]);
    for (let opset = 13; opset <= 21; opset++) await check(m, [1, 6], { opset });
    const ln = new nn.Sequential(new nn.Linear(6, 4), new nn.LayerNorm(4));
    expect(() => onnx.exportOnnx(ln, { inputShape: [1, 6], opset: 16 })).toThrow(/1: LayerNorm needs opset ≥ 17/);
  });

  it('a float64 model exports as float32 and matches to float32 precision', async () => {
    manualSeed(6);
    const m = models.mlp({ norm: 'batch', hidden: [8], inputs: 5, classes: 3, dtype: 'float64' });
    perturb(m, [1, 5], 'float64');
    const x = randn([4, 5], { dtype: 'float64' });
    const ours = flat(noGrad(() => m.forward(x)));
    const theirs = await runOrt(onnx.exportOnnx(m, { inputShape: [4, 5] }), x);
    ours.forEach((v, i) => expect(Math.abs(v - theirs.data[i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(v))));
  });

  it('refuses, listing every module it cannot export, and bad options', () => {
    class Custom extends nn.Module { forward(x: Tensor) { return x; } }
    const m = new nn.Sequential(new nn.Linear(4, 4), new Custom(), new nn.BatchNorm1d(4, { runningStats: 'none' }), new nn.Flatten(0, 1), new nn.GroupNorm(2, 4));
    let message = '';
    try { onnx.exportOnnx(m, { inputShape: [2, 4], opset: 17 }); } catch (e) { message = (e as Error).message; }
    expect(message).toMatch(/cannot export 4 modules/);
    expect(message).toMatch(/1: Custom has no ONNX form/);
    expect(message).toMatch(/2: BatchNorm1d has runningStats 'none'/);
    expect(message).toMatch(/3: Flatten merges or splits the batch axis/);
    expect(message).toMatch(/4: GroupNorm needs opset ≥ 21/);
    const net = new nn.Linear(4, 2);
    expect(() => onnx.exportOnnx(net, { inputShape: [2, 5] })).toThrow(/\(model\): Linear expects 4 features, the input has shape \[2, 5\]/);
    expect(() => onnx.exportOnnx(net, { inputShape: [] })).toThrow(/inputShape must list positive integers/);
    expect(() => onnx.exportOnnx(net, { inputShape: [1, 4], opset: 12 })).toThrow(/opset must be an integer from 13 to 21, got 12/);
    expect(() => onnx.exportOnnx(net, { inputShape: [1, 4], batch: 3 } as never)).toThrow(/unknown option batch/);
  });

  it('names initializers after the module paths and declares a symbolic batch axis', () => {
    const m = new nn.Sequential(new nn.Linear(3, 2), new nn.BatchNorm1d(2));
    const g = onnx.decodeModel(onnx.exportOnnx(m, { inputShape: [7, 3] })).graph!;
    expect(g.initializer!.map((t) => t.name)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var']);
    expect(g.input![0].type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['N', 3]);
    expect(g.output![0].type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['N', 2]);
    expect(m.training).toBe(true); // exporting leaves the mode alone
  });
});

