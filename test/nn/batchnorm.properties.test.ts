import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { Rng, nn, tensor, type DType, type Tensor } from '../../src/index.js';
import { resetWarnings } from '../../src/warn.js';
import { expectClose } from '../helpers/close.js';
import { refLayout, refStats } from '../helpers/reference.js';

/* Tier (c): statistical and property tests of BatchNorm (DESIGN.md, Semantics). */

/** Values of shape [N, C, *] with channel c drawn from N(offset[c], scale[c]²). */
function batch(rng: Rng, shape: number[], offset = 0, scale = 1): number[] {
  const { N, C, S } = refLayout(shape);
  const x = new Array<number>(N * C * S);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let s = 0; s < S; s++)
    x[(n * C + c) * S + s] = offset * (c + 1) + scale * (c + 1) * rng.normal();
  return x;
}

const t64 = (x: number[], shape: number[], requiresGrad = false) => tensor(x, shape, { dtype: 'float64', requiresGrad });
const copy = (t: Tensor | null) => (t ? Array.from(t.data) : null);

describe('training-mode output', () => {
  it('has per-channel mean 0 and biased variance σ²/(σ² + ε) (γ = 1, β = 0), ranks 2, 3, 4', () => {
    const rng = new Rng(1);
    for (const shape of [[16, 3], [5, 4, 7], [3, 2, 5, 3]]) {
      for (const dtype of ['float64', 'float32'] as DType[]) {
        const x = batch(rng, shape, 2, 0.5);
        const bn = shape.length === 4 ? new nn.BatchNorm2d(shape[1], { dtype }) : new nn.BatchNorm1d(shape[1], { dtype });
        const xt = tensor(x, shape, { dtype });
        const y = bn.forward(xt);
        const sy = refStats(y.data, shape), sx = refStats(xt.data, shape);
        const tol = dtype === 'float64' ? 1e-12 : 1e-6;
        expectClose(sy.mean, sy.mean.map(() => 0), { rtol: 0, atol: tol }, `${dtype} ${shape} mean`);
        expectClose(sy.variance, sx.variance.map((v) => v / (v + 1e-5)), { rtol: tol, atol: 0 }, `${dtype} ${shape} variance`);
      }
    }
  });

  it('is invariant to scaling the input by a > 0 (with ε scaled by a²) and to per-channel shifts; dx scales by 1/a', () => {
    const rng = new Rng(2);
    const shape = [6, 3, 4], a = 7.3, eps = 1e-3;
    const x = batch(rng, shape, 0.5, 1), dy = batch(rng, shape);
    const run = (xs: number[], e: number) => {
      const bn = new nn.BatchNorm1d(3, { dtype: 'float64', eps: e });
      bn.weight!.data.set([0.5, -1.2, 2]); bn.bias!.data.set([0.1, 0.2, -0.3]);
      const xt = t64(xs, shape, true), y = bn.forward(xt);
      y.backward(t64(dy, shape));
      return { y: Array.from(y.data), dx: Array.from(xt.grad!.data), dg: Array.from(bn.weight!.grad!.data) };
    };
    const base = run(x, eps);
    const scaled = run(x.map((v) => a * v), eps * a * a);
    expectClose(scaled.y, base.y, { rtol: 1e-12, atol: 1e-12 }, 'y(a·x; a²ε)');
    expectClose(scaled.dx.map((v) => v * a), base.dx, { rtol: 1e-11, atol: 1e-12 }, 'a·dx(a·x)');
    expectClose(scaled.dg, base.dg, { rtol: 1e-11, atol: 1e-12 }, 'dγ(a·x)');
    // with ε fixed, y(a·x) uses ε/a² in place of ε: |Δy| ≤ |γ|·|x̂|·ε/(2σ²), |x̂| ≤ √(m − 1)
    const fixed = run(x.map((v) => a * v), eps);
    const minVar = Math.min(...refStats(x, shape).variance);
    expectClose(fixed.y, base.y, { rtol: 0, atol: 2 * Math.sqrt(23) * eps / (2 * minVar) }, 'y(a·x; ε)');
    const shift = [100, -3.5, 0.25];
    const shifted = run(x.map((v, i) => v + shift[Math.floor(i / 4) % 3]), eps);
    expectClose(shifted.y, base.y, { rtol: 1e-11, atol: 1e-11 }, 'y(x + c)');
    expectClose(shifted.dx, base.dx, { rtol: 1e-9, atol: 1e-11 }, 'dx(x + c)');
  });
});

describe('running statistics', () => {
  it("'ema' after k steps is m^k·init + Σ (1 − m)·m^(k−i)·batch_i (unbiased and biased variance)", () => {
    const rng = new Rng(3);
    for (const unbiasedRunningVar of [true, false]) {
      const m = 0.8, shape = [5, 2, 3], k = 6;
      const bn = new nn.BatchNorm1d(2, { dtype: 'float64', momentum: m, unbiasedRunningVar });
      const stats: ReturnType<typeof refStats>[] = [];
      for (let i = 0; i < k; i++) {
        const x = batch(rng, shape, i - 2, 1 + i / 3);
        stats.push(refStats(x, shape));
        bn.forward(t64(x, shape));
      }
      const mean = [0, 1].map((c) => stats.reduce((s, st, i) => s + (1 - m) * m ** (k - 1 - i) * st.mean[c], 0));
      const corr = unbiasedRunningVar ? 15 / 14 : 1;
      const variance = [0, 1].map((c) => m ** k + stats.reduce((s, st, i) => s + (1 - m) * m ** (k - 1 - i) * st.variance[c] * corr, 0));
      expectClose(bn.runningMean!, mean, { rtol: 1e-12, atol: 1e-14 }, 'running_mean');
      expectClose(bn.runningVar!, variance, { rtol: 1e-12, atol: 1e-14 }, `running_var (unbiased ${unbiasedRunningVar})`);
      expect(bn.numBatchesTracked!.item()).toBe(k);
    }
  });

  it("'cumulative' equals the plain (unweighted) average of the batch statistics, batches of different sizes", () => {
    const rng = new Rng(4);
    const bn = new nn.BatchNorm2d(3, { dtype: 'float64', runningStats: 'cumulative' });
    const means: number[][] = [], vars: number[][] = [];
    [2, 5, 1, 3].forEach((N, i) => {
      const shape = [N, 3, 2, 3];
      const x = batch(rng, shape, i, 1 + i);
      const st = refStats(x, shape);
      means.push(st.mean); vars.push(st.variance.map((v) => v * st.m / (st.m - 1)));
      bn.forward(t64(x, shape));
      const avg = (a: number[][]) => [0, 1, 2].map((c) => a.reduce((s, r) => s + r[c], 0) / a.length);
      expectClose(bn.runningMean!, avg(means), { rtol: 1e-12, atol: 1e-14 }, `running_mean after ${i + 1}`);
      expectClose(bn.runningVar!, avg(vars), { rtol: 1e-12, atol: 1e-14 }, `running_var after ${i + 1}`);
    });
  });

  it('eval normalizes with the running statistics, not the batch ones, and each sample independently', () => {
    const rng = new Rng(5);
    const shape = [8, 3, 5];
    const bn = new nn.BatchNorm1d(3, { dtype: 'float64', momentum: 0.5 });
    bn.weight!.data.set([1.5, 0.5, -1]); bn.bias!.data.set([0, 1, 2]);
    for (let i = 0; i < 4; i++) bn.forward(t64(batch(rng, shape, 1, 2), shape));
    bn.eval();
    const x = batch(rng, shape, 3, 0.5);
    const y = bn.forward(t64(x, shape));
    const rm = copy(bn.runningMean)!, rv = copy(bn.runningVar)!, g = copy(bn.weight)!, b = copy(bn.bias)!;
    expectClose(y, x.map((v, i) => { const c = Math.floor(i / 5) % 3; return (v - rm[c]) / Math.sqrt(rv[c] + 1e-5) * g[c] + b[c]; }), { rtol: 1e-12, atol: 1e-12 }, 'eval y');
    // the batch's own statistics would give output mean β; these data are offset, so the eval mean is far from it
    const sy = refStats(y.data, shape);
    expect(Math.abs(sy.mean[0] - b[0])).toBeGreaterThan(0.5);
    const one = bn.forward(t64(x.slice(15, 30), [1, 3, 5]));
    expectClose(one, Array.from(y.data).slice(15, 30), { rtol: 0, atol: 0 }, 'sample 1 alone');
    expect(bn.numBatchesTracked!.item()).toBe(4);
  });

  it("'none' keeps no buffers and uses batch statistics in eval too", () => {
    const rng = new Rng(6);
    const shape = [4, 2, 3];
    const bn = new nn.BatchNorm1d(2, { dtype: 'float64', runningStats: 'none' });
    expect([bn.runningMean, bn.runningVar, bn.numBatchesTracked]).toEqual([null, null, null]);
    expect(Object.keys(bn.stateDict())).toEqual(['weight', 'bias']);
    const x = t64(batch(rng, shape, 2, 3), shape);
    const yTrain = Array.from(bn.forward(x).data);
    bn.eval();
    expectClose(bn.forward(x), yTrain, { rtol: 0, atol: 0 }, 'eval = train');
    expectClose(refStats(yTrain, shape).mean, [0, 0], { rtol: 0, atol: 1e-12 }, 'batch-normalized');
  });

  it('freezeStats: running statistics and the counter stay, the output is the eval one, γ and β still get gradients', () => {
    const rng = new Rng(7);
    const shape = [6, 2, 2, 2];
    const bn = new nn.BatchNorm2d(2, { dtype: 'float64' });
    bn.forward(t64(batch(rng, shape, 1, 2), shape));
    bn.weight!.data.set([2, -0.5]); bn.bias!.data.set([0.3, 0.7]);
    const rm = copy(bn.runningMean)!, rv = copy(bn.runningVar)!;
    const x = batch(rng, shape, -1, 0.5), dy = batch(rng, shape);
    const run = () => {
      bn.zeroGrad();
      const xt = t64(x, shape, true), y = bn.forward(xt);
      y.backward(t64(dy, shape));
      return { y: Array.from(y.data), dx: Array.from(xt.grad!.data), dg: Array.from(bn.weight!.grad!.data), db: Array.from(bn.bias!.grad!.data) };
    };
    expect(bn.freezeStats()).toBe(bn);
    expect(bn.statsFrozen).toBe(true);
    expect(bn.training).toBe(true);
    const frozen = run();
    expect(copy(bn.runningMean)).toEqual(rm);
    expect(copy(bn.runningVar)).toEqual(rv);
    expect(bn.numBatchesTracked!.item()).toBe(1);
    bn.eval();
    const evaluated = run();
    for (const k of ['y', 'dx', 'dg', 'db'] as const) expectClose(frozen[k], evaluated[k], { rtol: 0, atol: 0 }, `frozen ${k} = eval ${k}`);
    // dx = dy·γ·invstd_running; dβ = Σdy
    expectClose(frozen.dx, dy.map((v, i) => { const c = Math.floor(i / 4) % 2; return v * [2, -0.5][c] / Math.sqrt(rv[c] + 1e-5); }), { rtol: 1e-12, atol: 1e-14 }, 'dx');
    expectClose(frozen.db, [0, 1].map((c) => dy.filter((_, i) => Math.floor(i / 4) % 2 === c).reduce((s, v) => s + v, 0)), { rtol: 1e-12, atol: 1e-14 }, 'dβ');
    bn.train();
    bn.freezeStats(false);
    run();
    expect(bn.numBatchesTracked!.item()).toBe(2);
    expect(copy(bn.runningMean)).not.toEqual(rm);
  });

  it('num_batches_tracked counts training forwards only (not eval, not frozen), stays float64', () => {
    const rng = new Rng(8);
    const bn = new nn.BatchNorm1d(2);
    const x = () => tensor(batch(rng, [3, 2], 0, 1), [3, 2]);
    expect(bn.numBatchesTracked!.item()).toBe(0);
    for (let i = 0; i < 3; i++) bn.forward(x());
    expect(bn.numBatchesTracked!.item()).toBe(3);
    bn.eval(); bn.forward(x());
    expect(bn.numBatchesTracked!.item()).toBe(3);
    bn.train(); bn.freezeStats(); bn.forward(x());
    expect(bn.numBatchesTracked!.item()).toBe(3);
    bn.freezeStats(false); bn.forward(x());
    expect(bn.numBatchesTracked!.item()).toBe(4);
    expect(bn.numBatchesTracked!.dtype).toBe('float64');
    expect(bn.numBatchesTracked!.shape).toEqual([]);
  });
});

describe('numerics', () => {
  it('a constant channel has batch variance exactly 0 and output exactly β (float32 and float64, near and far from 0)', () => {
    const rng = new Rng(9);
    for (const dtype of ['float32', 'float64'] as DType[]) {
      for (const value of [0.1, 1e4 + 0.3, -7]) {
        for (const unbiasedRunningVar of [true, false]) {
          const shape = [5, 3, 7];
          const x = batch(rng, shape, 1, 1).map((v, i) => (Math.floor(i / 7) % 3 === 1 ? value : v));
          // 'cumulative' stores the first batch's statistics exactly (weight 1 on the batch)
          const bn = new nn.BatchNorm1d(3, { dtype, runningStats: 'cumulative', unbiasedRunningVar });
          bn.bias!.data.set([0.5, -0.25, 2]);
          const xt = tensor(x, shape, { dtype, requiresGrad: true });
          const y = bn.forward(xt);
          const label = `${dtype} ${value} unbiased ${unbiasedRunningVar}`;
          expect(bn.runningVar!.data[1], label).toBe(0);
          expect(bn.runningMean!.data[1], label).toBe(xt.data[7]);
          for (let n = 0; n < 5; n++) for (let s = 0; s < 7; s++) expect(y.data[(n * 3 + 1) * 7 + s], label).toBe(-0.25);
          y.backward(tensor(batch(rng, shape), shape, { dtype }));
          expect(Array.from(xt.grad!.data).every(Number.isFinite), `${label} dx finite`).toBe(true);
        }
      }
    }
  });

  it('data offset by 1e4 keeps float32 precision (the float64 result of the same data without the offset is the reference)', () => {
    const rng = new Rng(10);
    const shape = [64, 3, 2], offset = 1e4;
    const x32 = Float32Array.from(batch(rng, shape, 0, 1), (v) => offset + v);
    const centered = Array.from(x32, (v) => v - offset); // exact in float64
    const bn32 = new nn.BatchNorm1d(3, { runningStats: 'cumulative', unbiasedRunningVar: false });
    const bn64 = new nn.BatchNorm1d(3, { runningStats: 'cumulative', unbiasedRunningVar: false, dtype: 'float64' });
    const y = bn32.forward(tensor(x32, shape));
    const yRef = bn64.forward(t64(centered, shape));
    // the variance keeps full float32 precision (E[x²] − E[x]² in float32 would be off by units here)
    expectClose(bn32.runningVar!, bn64.runningVar!, { rtol: 1e-6, atol: 0 }, 'variance');
    // the mean is stored in float32, so it carries ulp(1e4)/2 = 2^-11; the output inherits that times invstd
    const half = 2 ** -11;
    expectClose(Array.from(bn32.runningMean!.data, (v) => v - offset), bn64.runningMean!, { rtol: 0, atol: half }, 'mean − 1e4');
    const invstd = Math.max(...Array.from(bn64.runningVar!.data, (v) => 1 / Math.sqrt(v + 1e-5)));
    expectClose(y, yRef, { rtol: 1e-6, atol: half * invstd * 1.01 }, 'y');
  });

  it('float64 keeps its precision at offset 1e8', () => {
    const rng = new Rng(11);
    const shape = [50, 2], offset = 1e8;
    const x = batch(rng, shape, 0, 1).map((v) => offset + v);
    const bn = new nn.BatchNorm1d(2, { dtype: 'float64', runningStats: 'cumulative', unbiasedRunningVar: false });
    const ref = new nn.BatchNorm1d(2, { dtype: 'float64', runningStats: 'cumulative', unbiasedRunningVar: false });
    const y = bn.forward(t64(x, shape)), yRef = ref.forward(t64(x.map((v) => v - offset), shape));
    expectClose(bn.runningVar!, ref.runningVar!, { rtol: 1e-12, atol: 0 }, 'variance');
    expectClose(y, yRef, { rtol: 0, atol: 1e-8 }, 'y');
  });

  it('NaN in one channel propagates to that channel only (output, running stats, dγ), as in PyTorch; dβ stays finite', () => {
    const rng = new Rng(12);
    const shape = [6, 3, 4];
    const clean = batch(rng, shape, 0, 1), dy = batch(rng, shape);
    const dirty = [...clean];
    dirty[(2 * 3 + 1) * 4 + 3] = NaN;
    const run = (x: number[]) => {
      const bn = new nn.BatchNorm1d(3);
      const xt = tensor(x, shape, { requiresGrad: true }), y = bn.forward(xt);
      y.backward(tensor(dy, shape));
      return { bn, y, dx: xt.grad! };
    };
    const a = run(clean), b = run(dirty);
    const inCh1 = (i: number) => Math.floor(i / 4) % 3 === 1;
    for (let i = 0; i < b.y.size; i++) {
      if (inCh1(i)) { expect(b.y.data[i]).toBeNaN(); expect(b.dx.data[i]).toBeNaN(); }
      else { expect(b.y.data[i]).toBe(a.y.data[i]); expect(b.dx.data[i]).toBe(a.dx.data[i]); }
    }
    for (const name of ['runningMean', 'runningVar'] as const) {
      expect(b.bn[name]!.data[1]).toBeNaN();
      expect([b.bn[name]!.data[0], b.bn[name]!.data[2]]).toEqual([a.bn[name]!.data[0], a.bn[name]!.data[2]]);
    }
    expect(b.bn.weight!.grad!.data[1]).toBeNaN();
    expect(Array.from(b.bn.bias!.grad!.data)).toEqual(Array.from(a.bn.bias!.grad!.data));
    expect(b.bn.numBatchesTracked!.item()).toBe(1);
    b.bn.eval();
    const e = b.bn.forward(tensor(batch(rng, [2, 3, 4]), [2, 3, 4]));
    for (let i = 0; i < e.size; i++) expect(Number.isNaN(e.data[i])).toBe(inCh1(i));
  });
});

describe('momentum warning', () => {
  let warn: MockInstance;
  beforeEach(() => { resetWarnings(); warn = vi.spyOn(console, 'warn').mockImplementation(() => {}); });
  afterEach(() => { warn.mockRestore(); resetWarnings(); });

  it('warns once when momentum < 0.5 (constructor or setter), naming the value and the PyTorch convention', () => {
    new nn.BatchNorm1d(3, { momentum: 0.1 });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/0\.1/);
    expect(String(warn.mock.calls[0][0])).toMatch(/PyTorch/);
    new nn.BatchNorm2d(3, { momentum: 0.2 }).momentum = 0.01;
    expect(warn).toHaveBeenCalledTimes(1);
    resetWarnings();
    const bn = new nn.BatchNorm1d(3);
    expect(warn).toHaveBeenCalledTimes(1);
    bn.momentum = 0.3;
    expect(warn).toHaveBeenCalledTimes(2);
    expect(bn.momentum).toBe(0.3);
  });

  it('does not warn for momentum ≥ 0.5, nor for the internal weights of cumulative averaging', () => {
    for (const momentum of [0.5, 0.9, 0.99, 1]) new nn.BatchNorm1d(3, { momentum });
    const bn = new nn.BatchNorm1d(3, { runningStats: 'cumulative' });
    bn.momentum = 0.7;
    const rng = new Rng(13);
    for (let i = 0; i < 4; i++) bn.forward(tensor(batch(rng, [4, 3]), [4, 3]));
    expect(warn).not.toHaveBeenCalled();
  });
});

describe('train() / eval()', () => {
  it('recurse through nested Sequentials and user modules', () => {
    class Block extends nn.Module {
      bn = new nn.BatchNorm1d(4);
      fc = new nn.Linear(4, 4);
      forward(x: Tensor) { return this.fc.forward(this.bn.forward(x)); }
    }
    const block = new Block();
    const inner = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4));
    const model = new nn.Sequential(inner, new nn.ReLU(), block, new nn.BatchNorm1d(4));
    const all = model.modules();
    expect(all.length).toBe(9);
    expect(model.eval()).toBe(model);
    expect(all.every((m) => !m.training)).toBe(true);
    model.train();
    expect(all.every((m) => m.training)).toBe(true);
    model.train(false);
    expect(all.every((m) => !m.training)).toBe(true);
    // in eval no running statistics change
    const before = Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, Array.from(v.data)]));
    model.forward(tensor(batch(new Rng(14), [5, 3]), [5, 3]));
    const after = Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, Array.from(v.data)]));
    expect(after).toEqual(before);
    inner.train();
    expect([inner.training, block.training, block.bn.training]).toEqual([true, false, false]);
  });
});
