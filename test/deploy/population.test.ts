import { describe, expect, it } from 'vitest';
import { Tensor, cat, data, deploy, manualSeed, models, nn, noGrad, randn, tensor } from '../../src/index.js';
import { expectClose } from '../helpers/close.js';

/** Naive float64 reference: per-channel mean and variance of x [N, C, ...] over every axis but 1, in plain loops. */
function naiveStats(x: Tensor, unbiased = true): { mean: number[]; variance: number[] } {
  const [N, C] = x.shape, inner = x.size / (N * C), v = x.data;
  const mean: number[] = [], variance: number[] = [];
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let i = 0; i < inner; i++) s += v[(n * C + c) * inner + i];
    const mu = s / (N * inner);
    let q = 0;
    for (let n = 0; n < N; n++) for (let i = 0; i < inner; i++) q += (v[(n * C + c) * inner + i] - mu) ** 2;
    mean.push(mu);
    variance.push(q / (N * inner - (unbiased ? 1 : 0)));
  }
  return { mean, variance };
}

/** Each BN's input over the concatenated data, in eval mode with the statistics as they now are. */
function bnInputs(model: nn.Module, x: Tensor): Map<nn.BatchNorm, Tensor> {
  const out = new Map<nn.BatchNorm, Tensor>();
  const handles = model.modules().filter((m) => m instanceof nn.BatchNorm)
    .map((m) => m.registerForwardHook((mod, inputs) => { out.set(mod as nn.BatchNorm, inputs[0].clone()); }));
  const was = model.training;
  model.eval();
  noGrad(() => model.forward(x));
  model.train(was);
  handles.forEach((h) => h.remove());
  return out;
}

function snapshot(model: nn.Module): Record<string, number[]> {
  return Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, Array.from(t.data)]));
}

function withoutRunning(s: Record<string, number[]>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(s).filter(([k]) => !/running_(mean|var)$/.test(k)));
}

/** Batches of uneven sizes, 1 included. */
function unevenBatches(sizes: readonly number[], features: readonly number[], dtype: 'float32' | 'float64', offset = 0): Tensor[] {
  return sizes.map((n) => randn([n, ...features], { dtype }).mul(3).add(offset));
}

describe('deploy.recomputeBatchNormStats', () => {
  it('matches a naive float64 reference over the concatenated data (MLP, float64), layer after layer', () => {
    manualSeed(10);
    const dtype = 'float64';
    const net = new nn.Sequential(
      new nn.Linear(6, 5, { bias: false, dtype }), new nn.BatchNorm1d(5, { dtype }), new nn.Tanh(),
      new nn.Linear(5, 4, { dtype }), new nn.BatchNorm1d(4, { dtype }), new nn.ReLU(), new nn.Linear(4, 2, { dtype }));
    for (const m of net.modules()) if (m instanceof nn.BatchNorm) { nn.init.uniform(m.weight!, 0.5, 2); nn.init.uniform(m.bias!, -1, 1); }
    const batches = unevenBatches([1, 3, 7, 1, 2, 9], [6], dtype, 5);
    const before = snapshot(net);
    const r = deploy.recomputeBatchNormStats(net, batches);
    expect(r).toEqual({ layers: [{ path: '1', count: 23 }, { path: '4', count: 23 }], skipped: [], samples: 23, passes: 2 });
    // The first BN's input by hand: x·Wᵀ in plain float64 loops, independent of the library's ops.
    const all = cat(batches);
    const W = (net.at(0) as nn.Linear).weight.data;
    const h = new Float64Array(23 * 5);
    for (let n = 0; n < 23; n++) for (let o = 0; o < 5; o++) {
      let s = 0;
      for (let i = 0; i < 6; i++) s += all.data[n * 6 + i] * W[o * 6 + i];
      h[n * 5 + o] = s;
    }
    const ref0 = naiveStats(tensor(h, [23, 5], { dtype }));
    const bn0 = net.at(1) as nn.BatchNorm1d, bn1 = net.at(4) as nn.BatchNorm1d;
    expectClose(bn0.runningMean!, ref0.mean, { rtol: 1e-12, atol: 1e-12 }, 'BN 1 mean');
    expectClose(bn0.runningVar!, ref0.variance, { rtol: 1e-12, atol: 0 }, 'BN 1 variance');
    // The second BN's statistics describe its input with the first already updated.
    // No hook left behind.
    expect(Object.prototype.hasOwnProperty.call(bn0, 'forward')).toBe(false);
    const ref1 = naiveStats(bnInputs(net, all).get(bn1)!);
    expectClose(bn1.runningMean!, ref1.mean, { rtol: 1e-12, atol: 1e-12 }, 'BN 4 mean');
    expectClose(bn1.runningVar!, ref1.variance, { rtol: 1e-12, atol: 0 }, 'BN 4 variance');
    // Only the running statistics changed; modes and counters as they were.
    expect(withoutRunning(snapshot(net))).toEqual(withoutRunning(before));
    expect(net.modules().every((m) => m.training)).toBe(true);
    expect(bn0.numBatchesTracked!.item()).toBe(0);
  });

  it('gives per-channel statistics over N·H·W for the small CNN (float32, BatchNorm2d), biased on request', () => {
    manualSeed(11);
    const net = models.cnn({ image: [2, 8, 8], channels: [3, 4] });
    const batches = unevenBatches([1, 4, 2, 1], [128], 'float32');
    net.eval();
    net.at(2).train(); // mixed modes come back as they were
    const r = deploy.recomputeBatchNormStats(net, batches, { unbiased: false });
    expect(r.layers).toEqual([{ path: '2', count: 8 * 64 }, { path: '6', count: 8 * 16 }]);
    expect(net.training).toBe(false);
    expect(net.at(2).training).toBe(true);
    const inputs = bnInputs(net, cat(batches));
    for (const path of [2, 6]) {
      const bn = net.at(path) as nn.BatchNorm2d;
      const ref = naiveStats(inputs.get(bn)!.to('float64'), false);
      // The statistics are exact in float64, then stored as float32: one rounding (plus matmul order across batch sizes).
      expectClose(bn.runningMean!, ref.mean, { rtol: 1e-6, atol: 1e-6 }, `BN ${path} mean`);
      expectClose(bn.runningVar!, ref.variance, { rtol: 1e-6, atol: 0 }, `BN ${path} variance`);
    }
  });

  it('stays exact for data far from zero, one sample per batch (Chan merging)', () => {
    const dtype = 'float64';
    const bn = new nn.BatchNorm1d(2, { dtype });
    const net = new nn.Sequential(bn);
    const values = Array.from({ length: 40 }, (_, i) => [1e4 + Math.sin(i), -1e6 + (i % 7) * 0.5]);
    const batches = values.map((v) => tensor([v], undefined, { dtype }));
    deploy.recomputeBatchNormStats(net, batches);
    // Reference on data shifted by its first row (x − K is exact here), so the reference itself is accurate.
    const K = values[0];
    const ref = naiveStats(tensor(values.map((v) => v.map((u, c) => u - K[c])), undefined, { dtype }));
    expectClose(bn.runningMean!, ref.mean.map((m, c) => m + K[c]), { rtol: 1e-15, atol: 0 }, 'mean');
    expectClose(bn.runningVar!, ref.variance, { rtol: 1e-10, atol: 0 }, 'variance');
    // A constant channel has variance exactly 0.
    deploy.recomputeBatchNormStats(net, [tensor([[3, 1]], undefined, { dtype }), tensor([[3, 2], [3, 5]], undefined, { dtype })]);
    expect(bn.runningVar!.data[0]).toBe(0);
  });

  it('reads { x, y } batches from a DataLoader (each pass one epoch) and functions returning fresh iterables', () => {
    manualSeed(12);
    const set = data.syntheticDataset({ n: 50, features: 4, classes: 2 });
    const net = models.mlp({ inputs: 4, hidden: [5, 3], classes: 2, norm: 'batch' });
    const loader = new data.DataLoader(set, { batchSize: 7, seed: 1 });
    const r = deploy.recomputeBatchNormStats(net, loader);
    expect([r.samples, r.passes]).toEqual([50, 2]);
    const a = snapshot(net);
    function* gen() { for (let i = 0; i < 50; i += 10) yield { x: tensor(set.x.subarray(i * 4, (i + 10) * 4), [10, 4]) }; }
    const r2 = deploy.recomputeBatchNormStats(net, () => gen());
    expect(r2.samples).toBe(50);
    const b = snapshot(net);
    for (const k of Object.keys(a)) expectClose(b[k], a[k], { rtol: 1e-6, atol: 1e-6 }, k);
  });

  it('refuses bad input with a clear error and restores every running statistic', () => {
    manualSeed(13);
    const net = models.mlp({ inputs: 4, hidden: [5, 3], classes: 2, norm: 'batch' });
    const before = snapshot(net);
    function* gen() { yield randn([4, 4]); }
    expect(() => deploy.recomputeBatchNormStats(net, gen())).toThrow(/one-shot iterator.*2 BN layers need one pass each/);
    let calls = 0;
    const shrinking = () => (calls++ === 0 ? [randn([3, 4]), randn([2, 4])] : [randn([3, 4])]);
    expect(() => deploy.recomputeBatchNormStats(net, shrinking)).toThrow(/pass 2 over batches gave 3 samples, the first gave 5/);
    expect(() => deploy.recomputeBatchNormStats(net, [randn([1, 4])])).toThrow(/BN '1' saw 1 value per channel.*unbiased: false/);
    expect(() => deploy.recomputeBatchNormStats(net, [randn([2, 5])])).toThrow(/linear: input shape \[2, 5\]/);
    expect(() => deploy.recomputeBatchNormStats(net, [[1, 2]] as never)).toThrow(/batch 0 is neither a Tensor nor an object \{ x: Tensor \}/);
    expect(() => deploy.recomputeBatchNormStats(net, [])).toThrow(/yielded no data/);
    expect(() => deploy.recomputeBatchNormStats(net, [randn([2, 4])], { unbiased: 'yes' as never })).toThrow(/unbiased must be a boolean/);
    expect(snapshot(net)).toEqual(before);
    expect(net.training).toBe(true);
    // Batch size 1 throughout is fine once there are two values per channel, and biased statistics need only one.
    expect(deploy.recomputeBatchNormStats(net, [randn([1, 4]), randn([1, 4])]).passes).toBe(2);
    expect(deploy.recomputeBatchNormStats(net, [randn([1, 4])], { unbiased: false }).layers.length).toBe(2);
  });

  it("skips BNs with runningStats 'none' and those the forward never reaches", () => {
    const net = new nn.Sequential(new nn.Linear(3, 3), new nn.BatchNorm1d(3, { runningStats: 'none' }));
    class Partial extends nn.Module {
      used = new nn.BatchNorm1d(3);
      unused = new nn.BatchNorm1d(3);
      forward(x: Tensor): Tensor { return this.used.forward(x); }
    }
    expect(deploy.recomputeBatchNormStats(net, [randn([4, 3])]).skipped).toEqual([{ path: '1', reason: "runningStats is 'none': the layer keeps no running statistics" }]);
    const r = deploy.recomputeBatchNormStats(new Partial(), [randn([4, 3])]);
    expect(r.layers.map((l) => l.path)).toEqual(['used']);
    expect(r.skipped).toEqual([{ path: 'unused', reason: 'the forward never reached it' }]);
    expect(r.passes).toBe(2);
  });
});
