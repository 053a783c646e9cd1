import { describe, expect, it } from 'vitest';
import { Rng, nn, noGrad, tensor, type DType, type Tensor } from '../../src/index.js';
import { expectClose } from '../helpers/close.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { refLayout, refStats } from '../helpers/reference.js';

/*
 * Batch Renormalization (Ioffe 2017, https://arxiv.org/abs/1702.03275) in BatchNorm: y = (x̂·r + d)·γ + β with
 * r = clip(σ_B/σ, 1/rMax, rMax), d = clip((μ_B − μ)/σ, ±dMax), σ = √(running var + ε), r and d without gradient.
 */

const F = nn.functional;
const dtype = 'float64' as const;

function normal(rng: Rng, shape: number[], { scale = 1, offset = 0, requiresGrad = false, type = dtype as DType } = {}): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return tensor(Float64Array.from({ length: n }, () => offset + scale * rng.normal()), shape, { dtype: type, requiresGrad });
}

interface Limits { rMax: number; dMax: number }

/**
 * Naive float64 Batch Renormalization written from the paper (two-pass statistics, loops; shares no code with src):
 * forward, gradients with r and d constant, and the running statistics after the step (EMA, unbiased variance).
 */
function refRenorm(x: ArrayLike<number>, shape: number[], dy: ArrayLike<number>, gamma: number[], beta: number[],
  rm: number[], rv: number[], { rMax, dMax }: Limits, eps = 1e-5, momentum = 0.9) {
  const { N, C, S } = refLayout(shape);
  const { mean, variance, m } = refStats(x, shape);
  const y = new Array<number>(x.length), dx = new Array<number>(x.length);
  const r: number[] = [], d: number[] = [], dgamma: number[] = [], dbeta: number[] = [];
  const idx = (n: number, c: number, s: number) => (n * C + c) * S + s;
  for (let c = 0; c < C; c++) {
    const sb = Math.sqrt(variance[c] + eps), sr = Math.sqrt(rv[c] + eps);
    r.push(Math.min(rMax, Math.max(1 / rMax, sb / sr)));
    d.push(Math.min(dMax, Math.max(-dMax, (mean[c] - rm[c]) / sr)));
    let s1 = 0, s2 = 0, dg = 0, db = 0;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) {
      const i = idx(n, c, s), xh = (x[i] - mean[c]) / sb;
      y[i] = (xh * r[c] + d[c]) * gamma[c] + beta[c];
      const g = dy[i] * gamma[c] * r[c]; // ∂L/∂x̂
      s1 += g; s2 += g * xh; dg += dy[i] * (xh * r[c] + d[c]); db += dy[i];
    }
    dgamma.push(dg); dbeta.push(db);
    // x̂ = (x − μ_B)/σ_B: dx = (g − mean(g) − x̂·mean(g·x̂))/σ_B
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) {
      const i = idx(n, c, s), xh = (x[i] - mean[c]) / sb;
      dx[i] = (dy[i] * gamma[c] * r[c] - s1 / m - xh * s2 / m) / sb;
    }
  }
  const runningMean = rm.map((v, c) => v * momentum + mean[c] * (1 - momentum));
  const runningVar = rv.map((v, c) => v * momentum + variance[c] * m / (m - 1) * (1 - momentum));
  return { y, dx, dgamma, dbeta, r, d, runningMean, runningVar };
}

function withState<T extends nn.BatchNorm>(bn: T, rng: Rng): T {
  noGrad(() => {
    bn.weight?.data.forEach((_, i, a) => { a[i] = 0.5 + rng.uniform(); });
    bn.bias?.data.forEach((_, i, a) => { a[i] = 0.5 * rng.normal(); });
    bn.runningMean?.data.forEach((_, i, a) => { a[i] = rng.normal(); });
    bn.runningVar?.data.forEach((_, i, a) => { a[i] = 0.3 + 2 * rng.uniform(); });
  });
  return bn;
}

function step(bn: nn.BatchNorm, x0: Tensor, dy: Tensor) {
  const x = tensor(x0.data.slice(), x0.shape, { dtype: x0.dtype, requiresGrad: true });
  bn.zeroGrad();
  const y = bn.forward(x);
  y.backward(dy);
  return { y: [...y.data], dx: [...x.grad!.data], dw: bn.weight ? [...bn.weight.grad!.data] : [], db: bn.bias ? [...bn.bias.grad!.data] : [] };
}

const arr = (t: Tensor | null) => (t ? [...t.data] : []);
const REF = { rtol: 1e-11, atol: 1e-12 };

describe('Batch Renormalization against an independent reference', () => {
  for (const [label, shape, limits] of [
    ['[16, 4], rMax 1.5, dMax 0.5 (mixed clipping)', [16, 4], { rMax: 1.5, dMax: 0.5 }],
    ['[6, 3, 5], rMax 3, dMax 5 (mostly unclipped)', [6, 3, 5], { rMax: 3, dMax: 5 }],
    ['[4, 3, 2, 3], rMax 1.1, dMax 0.05 (mostly clipped)', [4, 3, 2, 3], { rMax: 1.1, dMax: 0.05 }],
  ] as [string, number[], Limits][]) {
    it(`${label}: y, dx, dγ, dβ and the running statistics over a few steps`, () => {
      const rng = new Rng(11);
      const C = shape[1];
      const bn = withState(shape.length === 4 ? new nn.BatchNorm2d(C, { dtype, renorm: limits }) : new nn.BatchNorm1d(C, { dtype, renorm: limits }), rng);
      let clipped = 0, free = 0;
      for (let s = 0; s < 3; s++) {
        // per-channel scales and shifts so σ_B/σ and (μ_B − μ)/σ spread over and beyond the limits
        const x = normal(rng, shape, { scale: 1 }), dy = normal(rng, shape);
        const S = x.size / (shape[0] * C);
        x.data.forEach((v, i, a) => { const c = Math.floor(i / S) % C; a[i] = v * (0.4 + 0.6 * c) + (c - 1) * 0.7; });
        const ref = refRenorm(x.data, shape, dy.data, arr(bn.weight), arr(bn.bias), arr(bn.runningMean), arr(bn.runningVar), limits);
        const got = step(bn, x, dy);
        expectClose(got.y, ref.y, REF, `${label} step ${s} y`);
        expectClose(got.dx, ref.dx, REF, `${label} step ${s} dx`);
        expectClose(got.dw, ref.dgamma, REF, `${label} step ${s} dγ`);
        expectClose(got.db, ref.dbeta, REF, `${label} step ${s} dβ`);
        expectClose(bn.runningMean!, ref.runningMean, REF, `${label} step ${s} running_mean`);
        expectClose(bn.runningVar!, ref.runningVar, REF, `${label} step ${s} running_var`);
        for (const v of [...ref.r.map((r) => Math.abs(Math.log(r)) / Math.log(limits.rMax)), ...ref.d.map((d) => Math.abs(d) / limits.dMax)])
          if (v >= 1 - 1e-12) clipped++; else free++;
      }
      // the cases exercise what they say: some r, d clipped, some not (except where the label says "mostly")
      expect(clipped + free).toBe(3 * 2 * C);
      if (label.includes('mixed')) { expect(clipped).toBeGreaterThan(0); expect(free).toBeGreaterThan(0); }
      if (label.includes('unclipped')) expect(free).toBeGreaterThan(clipped);
      if (label.includes('mostly clipped')) expect(clipped).toBeGreaterThan(free);
    });
  }

  it('rMax = 1, dMax = 0 is plain BN, bit for bit: outputs, gradients, running statistics (float64 and float32)', () => {
    for (const type of ['float64', 'float32'] as const) {
      const rng = new Rng(12);
      const plain = withState(new nn.BatchNorm2d(3, { dtype: type }), rng);
      const re = new nn.BatchNorm2d(3, { dtype: type, renorm: { rMax: 1, dMax: 0 } });
      re.loadStateDict(plain.stateDict());
      for (let s = 0; s < 3; s++) {
        const x = normal(rng, [4, 3, 2, 2], { scale: 2, offset: 1, type }), dy = normal(rng, [4, 3, 2, 2], { type });
        expect(step(re, x, dy)).toEqual(step(plain, x, dy));
        expect(arr(re.runningMean)).toEqual(arr(plain.runningMean));
        expect(arr(re.runningVar)).toEqual(arr(plain.runningVar));
      }
      // ...while the running statistics are far from the batch ones (otherwise renorm would be plain BN anyway)
      const x = normal(rng, [8, 3, 2, 2], { scale: 2, offset: 1, type });
      const loose = new nn.BatchNorm2d(3, { dtype: type, renorm: { rMax: 5, dMax: 5 } });
      loose.loadStateDict(plain.stateDict());
      const a = step(loose, x, x), b = step(plain, x, x);
      expect(Math.max(...a.y.map((v, i) => Math.abs(v - b.y[i])))).toBeGreaterThan(1e-2);
    }
  });
});

describe('Batch Renormalization: r and d carry no gradient', () => {
  const C = 3, shape = [6, C, 2];

  /** Inputs, parameters and running statistics (copied fresh into each call so every call sees the same). */
  function setup(seed: number, spread: number) {
    const rng = new Rng(seed);
    const x = normal(rng, shape, { requiresGrad: true });
    x.data.forEach((v, i, a) => { const c = Math.floor(i / 2) % C; a[i] = v * (0.5 + spread * c) + c; });
    const w = normal(rng, [C], { offset: 1, scale: 0.3, requiresGrad: true }), b = normal(rng, [C], { scale: 0.5, requiresGrad: true });
    const rm = [0.2, 0.9, 2.5], rv = [0.8, 1.5, 2.0];
    const renorm = (xx: Tensor, ww: Tensor, bb: Tensor, limits: Limits) =>
      F.batchNorm(xx, tensor(rm, [C], { dtype }), tensor(rv, [C], { dtype }), { weight: ww, bias: bb, training: true, renorm: limits });
    return { x, w, b, rm, rv, renorm };
  }

  it('the analytic gradient equals the finite differences with r and d held fixed, not those of the full function', () => {
    const limits = { rMax: 100, dMax: 100 }; // nothing clipped: r, d depend on x
    const { x, w, b, rm, rv, renorm } = setup(21, 0.4);
    // r, d at this x, from the reference, then frozen as constants
    const ref = refRenorm(x.data, shape, new Float64Array(x.size), [...w.data], [...b.data], rm, rv, limits);
    expect(ref.r.every((r) => r > 1 / limits.rMax && r < limits.rMax) && ref.d.every((d) => Math.abs(d) < limits.dMax)).toBe(true);
    const view = (v: number[]) => tensor(v, [1, C, 1], { dtype });
    const fixed = (xx: Tensor, ww: Tensor, bb: Tensor) =>
      F.batchNorm(xx, null, null, { training: true }).mul(view(ref.r)).add(view(ref.d)).mul(ww.reshape([1, C, 1])).add(bb.reshape([1, C, 1]));
    // the r, d-fixed function has the same value at x ...
    expectClose(noGrad(() => fixed(x, w, b)), noGrad(() => renorm(x, w, b, limits)), { rtol: 1e-13, atol: 1e-14 }, 'value');
    // ... its gradient passes the finite-difference check ...
    gradcheck(fixed, [x, w, b]);
    // ... and equals renorm's analytic gradient (dx, dγ, dβ)
    const dy = normal(new Rng(22), shape);
    const grads = (f: (a: Tensor, b: Tensor, c: Tensor) => Tensor) => {
      [x, w, b].forEach((t) => { t.grad = null; });
      f(x, w, b).backward(dy);
      return [x, w, b].map((t) => [...t.grad!.data]);
    };
    const [rx, rw, rb] = grads((a, bw, bb) => renorm(a, bw, bb, limits)), [fx, fw, fb] = grads(fixed);
    expectClose(rx, fx, { rtol: 1e-12, atol: 1e-13 }, 'dx'); expectClose(rw, fw, { rtol: 1e-12, atol: 1e-13 }, 'dγ'); expectClose(rb, fb, { rtol: 1e-12, atol: 1e-13 }, 'dβ');
    // The full function (r, d recomputed at every perturbation) is (x − μ)/σ·γ + β here, a different gradient in x:
    expect(() => gradcheck((a, bw, bb) => renorm(a, bw, bb, limits), [x, w, b])).toThrow(/gradcheck: input 0 \(shape \[6, 3, 2\]\)/);
    // in γ and β the two agree (r and d do not depend on them)
    const xc = tensor(x.data.slice(), shape, { dtype });
    gradcheck((bw, bb) => renorm(xc, bw, bb, limits), [w, b]);
  });

  it('when every r and d is clipped they are locally constant, and the full function passes gradcheck', () => {
    const limits = { rMax: 1.05, dMax: 0.01 };
    const { x, w, b, rm, rv, renorm } = setup(23, 1.5);
    const ref = refRenorm(x.data, shape, new Float64Array(x.size), [...w.data], [...b.data], rm, rv, limits);
    // far inside the clipped region, so ±1e-6 perturbations stay clipped
    expect(ref.r.every((r) => r === limits.rMax || r === 1 / limits.rMax)).toBe(true);
    expect(ref.d.every((d) => Math.abs(d) === limits.dMax)).toBe(true);
    gradcheck((a, bw, bb) => renorm(a, bw, bb, limits), [x, w, b]);
  });
});

describe('Batch Renormalization: modes and schedules', () => {
  it('eval uses the moving statistics (renorm plays no part): same as plain BN with the same state', () => {
    const rng = new Rng(31);
    const bn = withState(new nn.BatchNorm1d(3, { dtype, renorm: { rMax: 2, dMax: 1 } }), rng);
    for (let s = 0; s < 3; s++) noGrad(() => bn.forward(normal(rng, [8, 3], { scale: 2 })));
    bn.eval();
    const plain = new nn.BatchNorm1d(3, { dtype });
    plain.loadStateDict(bn.stateDict());
    plain.eval();
    const x = normal(rng, [5, 3]), dy = normal(rng, [5, 3]);
    const before = arr(bn.runningMean);
    const got = step(bn, x, dy);
    expect(got).toEqual(step(plain, x, dy));
    expect(arr(bn.runningMean)).toEqual(before);
    const want = [...x.data].map((v, i) => (v - bn.runningMean!.data[i % 3]) / Math.sqrt(bn.runningVar!.data[i % 3] + 1e-5) * bn.weight!.data[i % 3] + bn.bias!.data[i % 3]);
    expectClose(got.y, want, { rtol: 1e-13, atol: 1e-14 }, 'eval y');
  });

  it('frozen statistics: normalize with the running ones, renorm inactive, nothing updated', () => {
    const rng = new Rng(32);
    const bn = withState(new nn.BatchNorm1d(3, { dtype, renorm: { rMax: 2, dMax: 1 } }), rng).freezeStats();
    const plain = new nn.BatchNorm1d(3, { dtype });
    plain.loadStateDict(bn.stateDict());
    plain.eval();
    const x = normal(rng, [4, 3]), dy = normal(rng, [4, 3]);
    expect(step(bn, x, dy)).toEqual(step(plain, x, dy));
    expect(bn.numBatchesTracked!.item()).toBe(0);
  });

  it('setting bn.renorm during training (warm-up: plain → {1, 0} → looser limits → off) follows the reference step by step', () => {
    const rng = new Rng(33);
    const bn = withState(new nn.BatchNorm1d(4, { dtype }), rng);
    const schedule: (Limits | null)[] = [null, { rMax: 1, dMax: 0 }, { rMax: 1.5, dMax: 0.5 }, { rMax: 3, dMax: 5 }, null];
    for (const [s, limits] of schedule.entries()) {
      bn.renorm = limits;
      expect(bn.renorm).toEqual(limits);
      const x = normal(rng, [8, 4], { scale: 1.7, offset: 0.6 }), dy = normal(rng, [8, 4]);
      const ref = refRenorm(x.data, x.shape as number[], dy.data, arr(bn.weight), arr(bn.bias), arr(bn.runningMean), arr(bn.runningVar), limits ?? { rMax: 1, dMax: 0 });
      const got = step(bn, x, dy);
      expectClose(got.y, ref.y, REF, `step ${s} y`);
      expectClose(got.dx, ref.dx, REF, `step ${s} dx`);
      expectClose(got.dw, ref.dgamma, REF, `step ${s} dγ`);
      expectClose(bn.runningVar!, ref.runningVar, REF, `step ${s} running_var`);
      expect(bn.numBatchesTracked!.item()).toBe(s + 1);
    }
  });

  it('the limits are copied: mutating the object passed in changes nothing', () => {
    const limits = { rMax: 2, dMax: 1 };
    const bn = new nn.BatchNorm1d(2);
    bn.renorm = limits;
    (limits as { rMax: number }).rMax = 0.5;
    expect(bn.renorm).toEqual({ rMax: 2, dMax: 1 });
  });
});

describe('Batch Renormalization: errors (naming the option; state unchanged)', () => {
  const snapshot = (m: nn.Module) => Object.fromEntries(Object.entries(m.stateDict()).map(([k, v]) => [k, [...v.data]]));

  it("renorm with runningStats 'none' (constructor and setter)", () => {
    expect(() => new nn.BatchNorm1d(3, { runningStats: 'none', renorm: { rMax: 2, dMax: 1 } })).toThrow(/renorm needs running statistics.*'none'/);
    const bn = new nn.BatchNorm1d(3, { runningStats: 'none' });
    expect(() => { bn.renorm = { rMax: 2, dMax: 1 }; }).toThrow(/renorm.*runningStats is 'none'/);
    expect(bn.renorm).toBe(null);
    expect(() => F.batchNorm(tensor(new Float32Array(12), [4, 3]), null, null, { training: true, renorm: { rMax: 2, dMax: 1 } })).toThrow(/renorm needs the running statistics/);
  });

  it('renorm with virtualBatchSize (constructor, setter, functional)', () => {
    expect(() => new nn.BatchNorm1d(3, { virtualBatchSize: 2, renorm: { rMax: 2, dMax: 1 } })).toThrow(/renorm and virtualBatchSize/);
    const bn = new nn.BatchNorm1d(3, { virtualBatchSize: 2 });
    expect(() => { bn.renorm = { rMax: 2, dMax: 1 }; }).toThrow(/renorm and virtualBatchSize/);
    expect(bn.renorm).toBe(null);
    const rm = tensor([0, 0, 0]), rv = tensor([1, 1, 1]);
    expect(() => F.batchNorm(tensor(new Float32Array(12), [4, 3]), rm, rv, { training: true, virtualBatchSize: 2, renorm: { rMax: 2, dMax: 1 } })).toThrow(/renorm and ghost batches \(virtualBatchSize 2 < batch 4\)/);
    expect([...rm.data, ...rv.data]).toEqual([0, 0, 0, 1, 1, 1]);
  });

  it('rMax < 1, dMax < 0, non-finite or missing limits; the previous limits and the state stay', () => {
    const bn = new nn.BatchNorm1d(3, { renorm: { rMax: 2, dMax: 1 } });
    bn.forward(tensor(Float32Array.from({ length: 12 }, (_, i) => Math.cos(i)), [4, 3]));
    const before = snapshot(bn);
    for (const bad of [{ rMax: 0.5, dMax: 1 }, { rMax: 2, dMax: -0.1 }, { rMax: Infinity, dMax: 1 }, { rMax: 2, dMax: Number.NaN }, { rMax: 2 }, 3]) {
      expect(() => { bn.renorm = bad as Limits; }, JSON.stringify(bad)).toThrow(/BatchNorm1d: renorm needs \{ rMax ≥ 1, dMax ≥ 0 \}/);
      expect(() => new nn.BatchNorm1d(3, { renorm: bad as Limits })).toThrow(/rMax ≥ 1, dMax ≥ 0/);
      expect(() => F.batchNorm(tensor(new Float32Array(12), [4, 3]), tensor([0, 0, 0]), tensor([1, 1, 1]), { training: true, renorm: bad as Limits })).toThrow(/batchNorm: renorm needs/);
      expect(bn.renorm).toEqual({ rMax: 2, dMax: 1 });
    }
    expect(snapshot(bn)).toEqual(before);
  });
});
