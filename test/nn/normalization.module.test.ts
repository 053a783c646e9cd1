import { describe, expect, it } from 'vitest';
import { Rng, nn, noGrad, randn, tensor, type Tensor } from '../../src/index.js';
import { expectClose } from '../helpers/close.js';
import { graphOps } from '../helpers/gradcheck.js';

/* LayerNorm, GroupNorm, InstanceNorm1d/2d as modules: PyTorch state dicts, one fused op, modes, running statistics. */

const dtype = 'float64' as const;

function normal(rng: Rng, shape: number[], { scale = 1, offset = 0, requiresGrad = false } = {}): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return tensor(Float64Array.from({ length: n }, () => offset + scale * rng.normal()), shape, { dtype, requiresGrad });
}

const shapes = (m: nn.Module) => Object.fromEntries(Object.entries(m.stateDict()).map(([k, v]) => [k, v.shape]));

describe('state dicts and parameters as PyTorch names them', () => {
  it('LayerNorm: weight, bias of shape normalizedShape; none without elementwiseAffine', () => {
    expect(shapes(new nn.LayerNorm([3, 4]))).toEqual({ weight: [3, 4], bias: [3, 4] });
    expect(shapes(new nn.LayerNorm(5))).toEqual({ weight: [5], bias: [5] });
    expect(shapes(new nn.LayerNorm(5, { elementwiseAffine: false }))).toEqual({});
    const ln = new nn.LayerNorm(3);
    expect([...ln.weight!.data, ...ln.bias!.data]).toEqual([1, 1, 1, 0, 0, 0]);
    expect(ln.parameters().every((p) => p.requiresGrad && p.dtype === 'float32')).toBe(true);
  });

  it('GroupNorm: weight, bias [C]', () => {
    expect(shapes(new nn.GroupNorm(2, 6))).toEqual({ weight: [6], bias: [6] });
    expect(shapes(new nn.GroupNorm(2, 6, { affine: false }))).toEqual({});
  });

  it('InstanceNorm: nothing by default; weight, bias; running_mean, running_var, num_batches_tracked when tracking', () => {
    expect(shapes(new nn.InstanceNorm1d(3))).toEqual({});
    expect(Object.entries(shapes(new nn.InstanceNorm2d(3, { affine: true, trackRunningStats: true })))).toEqual([
      ['weight', [3]], ['bias', [3]], ['running_mean', [3]], ['running_var', [3]], ['num_batches_tracked', []]]);
    const m = new nn.InstanceNorm1d(2, { trackRunningStats: true });
    expect([...m.runningMean!.data, ...m.runningVar!.data]).toEqual([0, 0, 1, 1]);
    expect(m.integerBufferNames()).toEqual(new Set(['num_batches_tracked']));
    expect([m.eps, m.momentum, m.affine]).toEqual([1e-5, 0.9, false]);
  });

  it('a Sequential of the family round-trips its state dict; to(float64) converts everything', () => {
    const net = new nn.Sequential(new nn.GroupNorm(2, 4), new nn.InstanceNorm1d(4, { affine: true, trackRunningStats: true }), new nn.LayerNorm([4, 3]));
    expect(Object.keys(net.stateDict())).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked', '2.weight', '2.bias']);
    net.forward(randn([2, 4, 3]));
    const copy = new nn.Sequential(new nn.GroupNorm(2, 4), new nn.InstanceNorm1d(4, { affine: true, trackRunningStats: true }), new nn.LayerNorm([4, 3]));
    copy.loadStateDict(net.stateDict());
    const x = randn([3, 4, 3]);
    net.eval(); copy.eval();
    expect([...copy.forward(x).data]).toEqual([...net.forward(x).data]);
    net.to('float64');
    expect(net.parameters().every((p) => p.dtype === 'float64')).toBe(true);
    expect(net.forward(x.to('float64')).dtype).toBe('float64');
  });

  it('toString names the configuration', () => {
    expect(String(new nn.LayerNorm([3, 4]))).toBe('LayerNorm([3, 4], eps=0.00001, elementwiseAffine=true)');
    expect(String(new nn.GroupNorm(2, 6, { affine: false }))).toBe('GroupNorm(2, 6, eps=0.00001, affine=false)');
    expect(String(new nn.InstanceNorm2d(3))).toBe('InstanceNorm2d(3, eps=0.00001, momentum=0.9, affine=false, trackRunningStats=false)');
  });
});

describe('one fused op per forward', () => {
  it('the graph of each module (and functional form) holds the norm op only', () => {
    const x = randn([2, 4, 3, 3], { requiresGrad: true });
    const F = nn.functional;
    for (const y of [
      new nn.LayerNorm([4, 3, 3]).forward(x), new nn.LayerNorm(3).forward(x), new nn.GroupNorm(2, 4).forward(x),
      new nn.InstanceNorm2d(4, { affine: true }).forward(x), new nn.InstanceNorm2d(4, { trackRunningStats: true }).eval().forward(x),
      F.layerNorm(x, [3, 3]), F.groupNorm(x, 4), F.instanceNorm(x),
    ]) expect(graphOps(y)).toEqual(new Set(['norm']));
    // an unbatched input is a batch of one, as in PyTorch: views around the one norm op
    expect(graphOps(new nn.InstanceNorm1d(4).forward(randn([4, 5], { requiresGrad: true })))).toEqual(new Set(['reshape', 'norm']));
  });
});

describe('LayerNorm and GroupNorm: per-sample statistics, no state', () => {
  it('training and eval give the same output; a batch of one and an input of exactly normalizedShape work', () => {
    const rng = new Rng(1);
    const ln = new nn.LayerNorm([3, 4], { dtype }), gn = new nn.GroupNorm(3, 6, { dtype });
    const x = normal(rng, [2, 6, 3, 4]);
    for (const m of [ln, gn]) {
      const a = [...m.train().forward(x).data], b = [...m.eval().forward(x).data];
      expect(a).toEqual(b);
    }
    const one = normal(rng, [3, 4]);
    const y = ln.forward(one);
    expect(y.shape).toEqual([3, 4]);
    expect(Math.abs(y.sum().item())).toBeLessThan(1e-12);
  });

  it('each sample (LayerNorm) / each (sample, group) (GroupNorm) has mean 0 and biased variance σ²/(σ² + ε) without affine', () => {
    const rng = new Rng(2);
    const x = normal(rng, [3, 6, 5], { scale: 4, offset: 100 });
    const check = (y: Tensor, blocks: number, label: string) => {
      const m = y.size / blocks;
      for (let k = 0; k < blocks; k++) {
        const xs = [...x.data.slice(k * m, (k + 1) * m)], ys = [...y.data.slice(k * m, (k + 1) * m)];
        const mu = xs.reduce((a, b) => a + b, 0) / m, v = xs.reduce((a, b) => a + (b - mu) ** 2, 0) / m;
        const ym = ys.reduce((a, b) => a + b, 0) / m, yv = ys.reduce((a, b) => a + (b - ym) ** 2, 0) / m;
        expect(Math.abs(ym), `${label} block ${k} mean`).toBeLessThan(1e-13);
        expect(yv, `${label} block ${k} variance`).toBeCloseTo(v / (v + 1e-5), 13);
      }
    };
    check(new nn.LayerNorm([6, 5], { dtype, elementwiseAffine: false }).forward(x), 3, 'LayerNorm');
    check(new nn.GroupNorm(3, 6, { dtype, affine: false }).forward(x), 9, 'GroupNorm(3)');
  });

  it('invariant to a per-sample shift; γ, β applied per element (LayerNorm) / per channel (GroupNorm)', () => {
    const rng = new Rng(3);
    const x = normal(rng, [2, 4, 3]);
    const shifted = tensor([...x.data].map((v, i) => v + (i < 12 ? 1000 : -50)), [2, 4, 3], { dtype });
    const gn = new nn.GroupNorm(2, 4, { dtype });
    noGrad(() => { gn.weight!.data.set([1, 2, 3, 4]); gn.bias!.data.set([0, 1, 0, -1]); });
    expectClose(gn.forward(shifted), gn.forward(x), { rtol: 0, atol: 1e-10 }, 'shift');
    const plain = new nn.GroupNorm(2, 4, { dtype, affine: false }).forward(x);
    expectClose(gn.forward(x), [...plain.data].map((v, i) => v * [1, 2, 3, 4][Math.floor(i / 3) % 4] + [0, 1, 0, -1][Math.floor(i / 3) % 4]), { rtol: 1e-14, atol: 1e-14 }, 'affine');
  });
});

describe('InstanceNorm running statistics (PyTorch semantics)', () => {
  /** Per-(sample, channel) mean and unbiased variance over the spatial axes, two-pass, plain loops. */
  function instanceStats(x: Tensor): { mean: number[][]; unbiased: number[][] } {
    const [N, C] = x.shape, S = x.size / (N * C);
    const mean: number[][] = [], unbiased: number[][] = [];
    for (let n = 0; n < N; n++) {
      mean.push([]); unbiased.push([]);
      for (let c = 0; c < C; c++) {
        const v = [...x.data.slice((n * C + c) * S, (n * C + c + 1) * S)];
        const mu = v.reduce((a, b) => a + b, 0) / S;
        mean[n].push(mu); unbiased[n].push(v.reduce((a, b) => a + (b - mu) ** 2, 0) / (S - 1));
      }
    }
    return { mean, unbiased };
  }

  it('training: running ← running·momentum + mean over the batch of the instance statistics·(1 − momentum); num_batches_tracked stays 0', () => {
    const rng = new Rng(4);
    const m = new nn.InstanceNorm2d(3, { dtype, trackRunningStats: true, momentum: 0.7 });
    let rm = [0, 0, 0], rv = [1, 1, 1];
    for (const N of [4, 2, 3]) {
      const x = normal(rng, [N, 3, 2, 3], { scale: 2, offset: 1 });
      m.forward(x);
      const { mean, unbiased } = instanceStats(x);
      rm = rm.map((r, c) => 0.7 * r + 0.3 * mean.reduce((a, row) => a + row[c], 0) / N);
      rv = rv.map((r, c) => 0.7 * r + 0.3 * unbiased.reduce((a, row) => a + row[c], 0) / N);
      expectClose(m.runningMean!, rm, { rtol: 1e-13, atol: 1e-14 }, 'running_mean');
      expectClose(m.runningVar!, rv, { rtol: 1e-13, atol: 1e-14 }, 'running_var');
    }
    expect(m.numBatchesTracked!.item()).toBe(0);
  });

  it('eval: each channel normalized with its running statistics, dx = dy·γ/√(running var + ε); nothing updated', () => {
    const rng = new Rng(5);
    const m = new nn.InstanceNorm1d(2, { dtype, trackRunningStats: true, affine: true });
    m.loadStateDict({ weight: [1.5, -0.5], bias: [0.25, 2], running_mean: [1, -2], running_var: [4, 0.25], num_batches_tracked: 0 });
    m.eval();
    const x = normal(rng, [3, 2, 4], { requiresGrad: true }), dy = normal(rng, [3, 2, 4]);
    const y = m.forward(x);
    y.backward(dy);
    const c = (i: number) => Math.floor(i / 4) % 2;
    const inv = (i: number) => 1 / Math.sqrt([4, 0.25][c(i)] + 1e-5);
    expectClose(y, [...x.data].map((v, i) => (v - [1, -2][c(i)]) * inv(i) * [1.5, -0.5][c(i)] + [0.25, 2][c(i)]), { rtol: 1e-14, atol: 1e-14 }, 'y');
    expectClose(x.grad!, [...dy.data].map((g, i) => g * [1.5, -0.5][c(i)] * inv(i)), { rtol: 1e-14, atol: 1e-14 }, 'dx');
    expect([...m.runningMean!.data, ...m.runningVar!.data]).toEqual([1, -2, 4, 0.25]);
  });

  it('without trackRunningStats, eval uses the instance statistics (as PyTorch)', () => {
    const rng = new Rng(6);
    const m = new nn.InstanceNorm1d(2, { dtype });
    const x = normal(rng, [2, 2, 5], { offset: 3 });
    expect([...m.eval().forward(x).data]).toEqual([...m.train().forward(x).data]);
  });

  it('an unbatched input [C, *] is a batch of one: same output, gradient and running statistics', () => {
    const rng = new Rng(7);
    const a = new nn.InstanceNorm2d(3, { dtype, affine: true, trackRunningStats: true });
    const b = new nn.InstanceNorm2d(3, { dtype, affine: true, trackRunningStats: true });
    const x = normal(rng, [3, 2, 4]), dy = normal(rng, [3, 2, 4]);
    const xa = tensor(x.data.slice(), [3, 2, 4], { dtype, requiresGrad: true }), xb = tensor(x.data.slice(), [1, 3, 2, 4], { dtype, requiresGrad: true });
    const ya = a.forward(xa), yb = b.forward(xb);
    expect(ya.shape).toEqual([3, 2, 4]);
    ya.backward(dy); yb.backward(dy.reshape([1, 3, 2, 4]));
    expect([...ya.data]).toEqual([...yb.data]);
    expect([...xa.grad!.data]).toEqual([...xb.grad!.data]);
    expect([...a.weight!.grad!.data]).toEqual([...b.weight!.grad!.data]);
    expect([...a.runningVar!.data]).toEqual([...b.runningVar!.data]);
  });
});
