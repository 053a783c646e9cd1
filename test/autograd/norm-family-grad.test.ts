import { describe, expect, it } from 'vitest';
import { Rng, Tensor, nn, noGrad, tensor } from '../../src/index.js';
import { gradcheck } from '../helpers/gradcheck.js';

/*
 * Tier (a) for the rest of the normalization family: float64 finite-difference checks of the fused norm op's
 * closed-form backward through LayerNorm, GroupNorm, InstanceNorm (modules and functional forms) and ghost
 * batch normalization. (Batch Renormalization's gradient, which deliberately is not that of the full function,
 * is checked in test/nn/renorm.test.ts.)
 */

const F = nn.functional;
const dtype = 'float64' as const;

function normal(rng: Rng, shape: number[], { scale = 1, offset = 0, requiresGrad = true } = {}): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return tensor(Float64Array.from({ length: n }, () => offset + scale * rng.normal()), shape, { dtype, requiresGrad });
}

type Affine = nn.Module & { weight: Tensor | null; bias: Tensor | null };

/** Non-trivial γ (around 1) and β, so dx is not the γ = 1 special case. */
function randomAffine<T extends Affine>(m: T, rng: Rng): T {
  noGrad(() => {
    m.weight?.data.forEach((_, i, a) => { a[i] = 0.5 + rng.uniform(); });
    m.bias?.data.forEach((_, i, a) => { a[i] = 0.5 * rng.normal(); });
  });
  return m;
}

const inputsOf = (x: Tensor, m: Affine) => [x, m.weight, m.bias].filter((t): t is Tensor => t !== null);

describe('module gradients: input, weight and bias', () => {
  const cases: [string, () => Affine, number[]][] = [
    ['LayerNorm(5) on [4, 5]', () => new nn.LayerNorm(5, { dtype }), [4, 5]],
    ['LayerNorm(4) on [2, 3, 4]', () => new nn.LayerNorm(4, { dtype }), [2, 3, 4]],
    ['LayerNorm([3, 2, 2]) on [2, 3, 2, 2]', () => new nn.LayerNorm([3, 2, 2], { dtype }), [2, 3, 2, 2]],
    ['LayerNorm([2, 3]) without affine', () => new nn.LayerNorm([2, 3], { dtype, elementwiseAffine: false }), [3, 2, 3]],
    ['GroupNorm(2, 4) on [3, 4]', () => new nn.GroupNorm(2, 4, { dtype }), [3, 4]],
    ['GroupNorm(1, 4) on [2, 4, 3]', () => new nn.GroupNorm(1, 4, { dtype }), [2, 4, 3]],
    ['GroupNorm(2, 6) on [2, 6, 3]', () => new nn.GroupNorm(2, 6, { dtype }), [2, 6, 3]],
    ['GroupNorm(3, 3) on [2, 3, 2, 2]', () => new nn.GroupNorm(3, 3, { dtype }), [2, 3, 2, 2]],
    ['GroupNorm(2, 4) on [2, 4, 2, 2] without affine', () => new nn.GroupNorm(2, 4, { dtype, affine: false }), [2, 4, 2, 2]],
    ['InstanceNorm1d(3, affine) on [2, 3, 4]', () => new nn.InstanceNorm1d(3, { dtype, affine: true }), [2, 3, 4]],
    ['InstanceNorm1d(3, affine, tracking) on [2, 3, 4], training', () => new nn.InstanceNorm1d(3, { dtype, affine: true, trackRunningStats: true }), [2, 3, 4]],
    ['InstanceNorm1d(3, affine) on unbatched [3, 5]', () => new nn.InstanceNorm1d(3, { dtype, affine: true }), [3, 5]],
    ['InstanceNorm2d(2, affine) on [2, 2, 2, 3]', () => new nn.InstanceNorm2d(2, { dtype, affine: true }), [2, 2, 2, 3]],
    ['InstanceNorm2d(2) on [2, 2, 3, 2] without affine', () => new nn.InstanceNorm2d(2, { dtype }), [2, 2, 3, 2]],
    ['BatchNorm1d(3, virtualBatchSize 2) on [6, 3]', () => new nn.BatchNorm1d(3, { dtype, virtualBatchSize: 2 }), [6, 3]],
    ['BatchNorm2d(2, virtualBatchSize 1) on [3, 2, 2, 2]', () => new nn.BatchNorm2d(2, { dtype, virtualBatchSize: 1 }), [3, 2, 2, 2]],
  ];
  for (const [name, make, shape] of cases) {
    it(name, () => {
      const rng = new Rng(1);
      const m = randomAffine(make(), rng);
      const x = normal(rng, shape, { scale: 2, offset: 1 });
      gradcheck((xx) => m.forward(xx), inputsOf(x, m));
    });
  }

  it('InstanceNorm2d in eval with tracked running statistics (after training steps)', () => {
    const rng = new Rng(2);
    const m = randomAffine(new nn.InstanceNorm2d(3, { dtype, affine: true, trackRunningStats: true }), rng);
    for (let s = 0; s < 3; s++) noGrad(() => m.forward(normal(rng, [2, 3, 2, 2], { scale: 3, offset: 2, requiresGrad: false })));
    m.eval();
    expect(Math.min(...m.runningMean!.data)).toBeGreaterThan(0.1);
    const rm = [...m.runningMean!.data];
    gradcheck((xx) => m.forward(xx), inputsOf(normal(rng, [2, 3, 2, 2]), m));
    expect([...m.runningMean!.data]).toEqual(rm);
  });
});

describe('functional forms', () => {
  it('layerNorm with weight and bias over two trailing axes', () => {
    const rng = new Rng(3);
    const x = normal(rng, [3, 2, 3], { offset: 5 }), w = normal(rng, [2, 3], { offset: 1 }), b = normal(rng, [2, 3]);
    gradcheck((xx, ww, bb) => F.layerNorm(xx, [2, 3], { weight: ww, bias: bb, eps: 1e-3 }), [x, w, b]);
  });

  it('groupNorm with weight and bias; weight alone', () => {
    const rng = new Rng(4);
    const x = normal(rng, [2, 4, 3]), w = normal(rng, [4], { offset: 1 }), b = normal(rng, [4]);
    gradcheck((xx, ww, bb) => F.groupNorm(xx, 2, { weight: ww, bias: bb }), [x, w, b]);
    gradcheck((xx, ww) => F.groupNorm(xx, 4, { weight: ww }), [x, w]);
  });

  it('instanceNorm with input statistics updating running ones, and with running statistics (useInputStats false)', () => {
    const rng = new Rng(5);
    const x = normal(rng, [2, 3, 4]), w = normal(rng, [3], { offset: 1 }), b = normal(rng, [3]);
    const rm = tensor([0.5, -1, 2], [3], { dtype }), rv = tensor([0.7, 1.3, 2.2], [3], { dtype });
    gradcheck((xx, ww, bb) => F.instanceNorm(xx, { runningMean: rm, runningVar: rv, weight: ww, bias: bb }), [x, w, b]);
    expect([...rm.data]).not.toEqual([0.5, -1, 2]); // updated on every call meanwhile
    gradcheck((xx, ww, bb) => F.instanceNorm(xx, { runningMean: rm, runningVar: rv, weight: ww, bias: bb, useInputStats: false }), [x, w, b]);
  });

  it('batchNorm with ghost batches (virtualBatchSize 2 of 4) and running statistics to update', () => {
    const rng = new Rng(6);
    const x = normal(rng, [4, 3, 2]), w = normal(rng, [3], { offset: 1 }), b = normal(rng, [3]);
    const rm = tensor([0, 0, 0], [3], { dtype }), rv = tensor([1, 1, 1], [3], { dtype });
    gradcheck((xx, ww, bb) => F.batchNorm(xx, rm, rv, { weight: ww, bias: bb, training: true, virtualBatchSize: 2 }), [x, w, b]);
  });
});
