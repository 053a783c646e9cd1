import { describe, expect, it } from 'vitest';
import { Rng, nn, noGrad, tensor, type Tensor } from '../../src/index.js';
import { expectClose } from '../helpers/close.js';
import { refStats } from '../helpers/reference.js';

/*
 * Ghost batch normalization (BatchNorm's virtualBatchSize): statistics per chunk of V consecutive samples
 * in training; the running statistics move toward the mean over chunks of the chunk statistics.
 */

const F = nn.functional;
const dtype = 'float64' as const;

function normal(rng: Rng, shape: number[], { scale = 1, offset = 0, requiresGrad = false } = {}): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return tensor(Float64Array.from({ length: n }, () => offset + scale * rng.normal()), shape, { dtype, requiresGrad });
}

/** A BN with γ around 1, β around 0 and running statistics away from (0, 1). */
function bnWithState<T extends nn.BatchNorm>(bn: T, rng: Rng): T {
  noGrad(() => {
    bn.weight?.data.forEach((_, i, a) => { a[i] = 0.5 + rng.uniform(); });
    bn.bias?.data.forEach((_, i, a) => { a[i] = 0.5 * rng.normal(); });
    bn.runningMean?.data.forEach((_, i, a) => { a[i] = rng.normal(); });
    bn.runningVar?.data.forEach((_, i, a) => { a[i] = 0.5 + rng.uniform(); });
  });
  return bn;
}

/** Rows [a, b) of x along axis 0, as a new leaf tensor. */
function rows(x: Tensor, a: number, b: number): Tensor {
  const per = x.size / x.shape[0];
  return tensor(x.data.slice(a * per, b * per), [b - a, ...x.shape.slice(1)], { dtype, requiresGrad: true });
}

/** One training step: y, dx, dγ, dβ for upstream dy. */
function step(bn: nn.BatchNorm, x0: Tensor, dy: Tensor) {
  const x = tensor(x0.data.slice(), x0.shape, { dtype, requiresGrad: true });
  bn.zeroGrad();
  const y = bn.forward(x);
  y.backward(dy);
  return { y: [...y.data], dx: [...x.grad!.data], dw: bn.weight ? [...bn.weight.grad!.data] : [], db: bn.bias ? [...bn.bias.grad!.data] : [] };
}

const clone = <T extends nn.BatchNorm>(make: () => T, from: T): T => { const b = make(); b.loadStateDict(from.stateDict()); return b; };
const TIGHT = { rtol: 1e-12, atol: 1e-13 };

describe('ghost batch normalization: equivalences', () => {
  it('virtualBatchSize = batch size (or larger) is plain BN: outputs, gradients, running statistics, bit for bit', () => {
    const rng = new Rng(1);
    for (const shape of [[8, 3], [6, 3, 5], [4, 3, 2, 3]]) {
      const make = (v?: number) => () => (shape.length === 4 ? new nn.BatchNorm2d(3, { dtype, virtualBatchSize: v }) : new nn.BatchNorm1d(3, { dtype, virtualBatchSize: v }));
      const plain = bnWithState(make()(), rng);
      const same = clone(make(shape[0]), plain), larger = clone(make(shape[0] * 2 + 1), plain);
      for (let s = 0; s < 3; s++) {
        const x = normal(rng, shape, { scale: 2, offset: 1 }), dy = normal(rng, shape);
        const want = step(plain, x, dy);
        for (const ghost of [same, larger]) {
          expect(step(ghost, x, dy)).toEqual(want);
          expect([...ghost.runningMean!.data]).toEqual([...plain.runningMean!.data]);
          expect([...ghost.runningVar!.data]).toEqual([...plain.runningVar!.data]);
        }
      }
    }
  });

  for (const [label, shape, V, options] of [
    ['[12, 3], V = 4, ema', [12, 3], 4, {}],
    ['[12, 3, 5], V = 3, ema m = 0.7, biased', [12, 3, 5], 3, { momentum: 0.7, unbiasedRunningVar: false }],
    ['[6, 2, 3, 3], V = 2, cumulative', [6, 2, 3, 3], 2, { runningStats: 'cumulative' }],
    ['[8, 3, 4], V = 1, no affine', [8, 3, 4], 1, { affine: false }],
  ] as [string, number[], number, nn.BatchNormOptions][]) {
    it(`${label}: plain BN on each chunk (y, dx, dγ, dβ); running stats move toward the mean over chunks`, () => {
      const rng = new Rng(2);
      const C = shape[1], B = shape[0] / V;
      const bn = bnWithState(shape.length === 4 ? new nn.BatchNorm2d(C, { dtype, virtualBatchSize: V, ...options }) : new nn.BatchNorm1d(C, { dtype, virtualBatchSize: V, ...options }), rng);
      const momentum = options.momentum ?? 0.9, unbiased = options.unbiasedRunningVar ?? true;
      let rm = [...bn.runningMean!.data], rv = [...bn.runningVar!.data];
      for (let s = 1; s <= 3; s++) {
        const x = normal(rng, shape, { scale: 1.5, offset: -0.5 }), dy = normal(rng, shape);
        const got = step(bn, x, dy);
        // Expected, chunk by chunk: plain BN (no running statistics) of each chunk alone.
        const y: number[] = [], dx: number[] = [], dw = new Array<number>(C).fill(0), db = new Array<number>(C).fill(0);
        const means: number[][] = [], vars: number[][] = [];
        for (let b = 0; b < B; b++) {
          const xc = rows(x, b * V, (b + 1) * V), dyc = rows(dy, b * V, (b + 1) * V);
          const w = bn.weight ? tensor(bn.weight.data.slice(), [C], { dtype, requiresGrad: true }) : null;
          const bias = bn.bias ? tensor(bn.bias.data.slice(), [C], { dtype, requiresGrad: true }) : null;
          const yc = F.batchNorm(xc, null, null, { weight: w, bias, training: true });
          yc.backward(dyc);
          y.push(...yc.data); dx.push(...xc.grad!.data);
          if (w) w.grad!.data.forEach((v, c) => { dw[c] += v; db[c] += bias!.grad!.data[c]; });
          const st = refStats(xc.data, xc.shape); // naive two-pass statistics, independent of src
          means.push(st.mean); vars.push(st.variance.map((v) => (unbiased ? v * st.m / (st.m - 1) : v)));
        }
        expectClose(got.y, y, TIGHT, `${label} step ${s} y`);
        expectClose(got.dx, dx, TIGHT, `${label} step ${s} dx`);
        if (bn.weight) { expectClose(got.dw, dw, TIGHT, `${label} step ${s} dγ`); expectClose(got.db, db, TIGHT, `${label} step ${s} dβ`); }
        const m = options.runningStats === 'cumulative' ? 1 - 1 / s : momentum;
        rm = rm.map((r, c) => r * m + (means.reduce((a, mu) => a + mu[c], 0) / B) * (1 - m));
        rv = rv.map((r, c) => r * m + (vars.reduce((a, v) => a + v[c], 0) / B) * (1 - m));
        expectClose(bn.runningMean!, rm, TIGHT, `${label} step ${s} running_mean`);
        expectClose(bn.runningVar!, rv, TIGHT, `${label} step ${s} running_var`);
        expect(bn.numBatchesTracked!.item()).toBe(s);
      }
    });
  }

  it('the chunk statistics really differ from the whole batch ones (the test above is not vacuous)', () => {
    const rng = new Rng(3);
    const x = normal(rng, [8, 2]);
    const ghost = F.batchNorm(x, null, null, { training: true, virtualBatchSize: 4 });
    const plain = F.batchNorm(x, null, null, { training: true });
    expect(Math.max(...ghost.data.map((v, i) => Math.abs(v - plain.data[i])))).toBeGreaterThan(1e-2);
    // each chunk has mean 0 on its own
    for (const b of [0, 1]) for (const c of [0, 1]) expect(Math.abs(ghost.data[b * 8 + c] + ghost.data[b * 8 + 2 + c] + ghost.data[b * 8 + 4 + c] + ghost.data[b * 8 + 6 + c])).toBeLessThan(1e-12);
  });

  it('virtualBatchSize 1 on [N, C, L] is InstanceNorm1d with affine and tracked statistics (outputs, gradients, running stats)', () => {
    const rng = new Rng(4);
    const ghost = bnWithState(new nn.BatchNorm1d(3, { dtype, virtualBatchSize: 1 }), rng);
    const inorm = new nn.InstanceNorm1d(3, { dtype, affine: true, trackRunningStats: true });
    inorm.loadStateDict({ ...ghost.stateDict(), num_batches_tracked: 0 });
    for (let s = 0; s < 2; s++) {
      const x = normal(rng, [4, 3, 5]), dy = normal(rng, [4, 3, 5]);
      const a = step(ghost, x, dy), b = step(inorm as unknown as nn.BatchNorm, x, dy);
      expectClose(a.y, b.y, TIGHT, 'y'); expectClose(a.dx, b.dx, TIGHT, 'dx');
      expectClose(a.dw, b.dw, TIGHT, 'dγ'); expectClose(a.db, b.db, TIGHT, 'dβ');
      expectClose(ghost.runningMean!, inorm.runningMean!, TIGHT, 'running_mean');
      expectClose(ghost.runningVar!, inorm.runningVar!, TIGHT, 'running_var');
    }
  });
});

describe('ghost batch normalization: modes', () => {
  it('eval uses the running statistics: the same output as plain BN with the same state, for any batch size', () => {
    const rng = new Rng(5);
    const ghost = bnWithState(new nn.BatchNorm1d(3, { dtype, virtualBatchSize: 4 }), rng);
    noGrad(() => ghost.forward(normal(rng, [8, 3])));
    ghost.eval();
    const plain = clone(() => new nn.BatchNorm1d(3, { dtype }), ghost).eval();
    for (const N of [1, 3, 8]) {
      const x = normal(rng, [N, 3]), dy = normal(rng, [N, 3]);
      const before = [...ghost.runningMean!.data];
      expect(step(ghost, x, dy)).toEqual(step(plain, x, dy));
      expect([...ghost.runningMean!.data]).toEqual(before);
    }
  });

  it("runningStats 'none': chunks in training; eval normalizes with the whole batch (any batch size)", () => {
    const rng = new Rng(7);
    const ghost = new nn.BatchNorm1d(3, { dtype, runningStats: 'none', virtualBatchSize: 4 });
    const plain = new nn.BatchNorm1d(3, { dtype, runningStats: 'none' });
    const x = normal(rng, [8, 3]), dy = normal(rng, [8, 3]);
    const chunked = step(ghost, x, dy);
    expect(chunked.y).toEqual(step(new nn.BatchNorm1d(3, { dtype, virtualBatchSize: 4 }), x, dy).y);
    expect(chunked.y).not.toEqual(step(plain, x, dy).y);
    ghost.eval(); plain.eval();
    for (const N of [8, 6]) {
      const xe = normal(rng, [N, 3]), dye = normal(rng, [N, 3]);
      expect(step(ghost, xe, dye)).toEqual(step(plain, xe, dye));
    }
  });

  it('frozen statistics: running statistics used in training too, no chunking, any batch size', () => {
    const rng = new Rng(6);
    const ghost = bnWithState(new nn.BatchNorm1d(3, { dtype, virtualBatchSize: 4 }), rng).freezeStats();
    const plain = clone(() => new nn.BatchNorm1d(3, { dtype }), ghost).freezeStats();
    const x = normal(rng, [5, 3]), dy = normal(rng, [5, 3]);
    expect(step(ghost, x, dy)).toEqual(step(plain, x, dy));
    expect(ghost.numBatchesTracked!.item()).toBe(0);
  });
});

describe('ghost batch normalization: errors', () => {
  const snapshot = (m: nn.Module) => Object.fromEntries(Object.entries(m.stateDict()).map(([k, v]) => [k, [...v.data]]));

  it('a batch that is not a multiple of virtualBatchSize names the shape and the option; nothing changes', () => {
    const bn = new nn.BatchNorm1d(3, { virtualBatchSize: 4 });
    bn.forward(tensor(Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)), [8, 3]));
    const before = snapshot(bn);
    expect(() => bn.forward(tensor(new Float32Array(30), [10, 3]))).toThrow(/\[10, 3\].*virtualBatchSize 4/);
    expect(snapshot(bn)).toEqual(before);
    expect(() => F.batchNorm(tensor(new Float32Array(18), [6, 3]), null, null, { training: true, virtualBatchSize: 4 })).toThrow(/\[6, 3\].*virtualBatchSize 4/);
  });

  it('one value per channel in a ghost batch is an error naming the shape and virtualBatchSize', () => {
    const bn = new nn.BatchNorm1d(3, { virtualBatchSize: 1 });
    expect(() => bn.forward(tensor(new Float32Array(12), [4, 3]))).toThrow(/more than 1 value per channel.*\[4, 3\].*virtualBatchSize 1/);
    expect(bn.numBatchesTracked!.item()).toBe(0);
  });

  it('virtualBatchSize must be a positive integer (constructor and functional)', () => {
    for (const v of [0, -2, 1.5, Number.NaN]) {
      expect(() => new nn.BatchNorm1d(3, { virtualBatchSize: v })).toThrow(new RegExp(`virtualBatchSize must be a positive integer, got ${v}`));
      expect(() => F.batchNorm(tensor(new Float32Array(12), [4, 3]), null, null, { training: true, virtualBatchSize: v })).toThrow(/virtualBatchSize/);
    }
  });
});
