import { describe, expect, it } from 'vitest';
import { Rng, Tensor, manualSeed, nn, noGrad, tensor } from '../../src/index.js';
import { gradcheck } from '../helpers/gradcheck.js';

/* Tier (a) for modules: float64 gradient checks through BatchNorm (train and eval), losses and a small net. */

const F = nn.functional;
const dtype = 'float64' as const;

function normal(rng: Rng, shape: number[], { scale = 1, offset = 0, requiresGrad = true } = {}): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return tensor(Float64Array.from({ length: n }, () => offset + scale * rng.normal()), shape, { dtype, requiresGrad });
}

/** A BatchNorm with non-trivial γ (around 1) and β, so their gradients and dx are not the γ = 1, β = 0 special case. */
function randomAffine(bn: nn.BatchNorm, rng: Rng): nn.BatchNorm {
  noGrad(() => {
    bn.weight?.data.forEach((_, i, a) => { a[i] = 0.5 + rng.uniform(); });
    bn.bias?.data.forEach((_, i, a) => { a[i] = 0.5 * rng.normal(); });
  });
  return bn;
}

const inputsOf = (x: Tensor, bn: nn.BatchNorm) => [x, bn.weight, bn.bias].filter((t): t is Tensor => t !== null);

describe('BatchNorm gradients, training mode (batch statistics)', () => {
  const cases: [string, () => nn.BatchNorm, number[]][] = [
    ['BatchNorm1d on [N, C]', () => new nn.BatchNorm1d(3, { dtype }), [6, 3]],
    ['BatchNorm1d on [N, C, L]', () => new nn.BatchNorm1d(3, { dtype }), [4, 3, 5]],
    ['BatchNorm2d on [N, C, H, W]', () => new nn.BatchNorm2d(3, { dtype }), [3, 3, 2, 3]],
    ['BatchNorm1d without affine', () => new nn.BatchNorm1d(4, { dtype, affine: false }), [5, 4]],
    ['BatchNorm2d without running statistics', () => new nn.BatchNorm2d(2, { dtype, runningStats: 'none' }), [2, 2, 3, 3]],
    ['BatchNorm1d with cumulative statistics', () => new nn.BatchNorm1d(3, { dtype, runningStats: 'cumulative' }), [4, 3]],
  ];
  for (const [name, make, shape] of cases) {
    it(`${name}: input, weight and bias`, () => {
      const rng = new Rng(1);
      const bn = randomAffine(make(), rng);
      expect(bn.training).toBe(true);
      const x = normal(rng, shape, { scale: 2, offset: 1 });
      gradcheck((xx) => bn.forward(xx), inputsOf(x, bn));
    });
  }

  it('nn.functional.batchNorm in training with running statistics to update', () => {
    const rng = new Rng(2);
    const x = normal(rng, [5, 3, 2]), w = normal(rng, [3]), b = normal(rng, [3]);
    const rm = tensor([0, 0, 0], undefined, { dtype }), rv = tensor([1, 1, 1], undefined, { dtype });
    gradcheck((xx, ww, bb) => F.batchNorm(xx, rm, rv, { weight: ww, bias: bb, training: true }), [x, w, b]);
    expect([...rm.data].some((v) => v !== 0)).toBe(true); // the running statistics were updated meanwhile
  });
});

describe('BatchNorm gradients, evaluation mode (running statistics)', () => {
  /** A few training steps on data with mean 2 and std 3, so the running statistics are far from (0, 1). */
  function trained(bn: nn.BatchNorm, rng: Rng, shape: number[]): nn.BatchNorm {
    for (let step = 0; step < 4; step++) noGrad(() => bn.forward(normal(rng, shape, { scale: 3, offset: 2, requiresGrad: false })));
    bn.eval();
    expect(Math.min(...bn.runningMean!.data)).toBeGreaterThan(0.3);
    expect(Math.min(...bn.runningVar!.data)).toBeGreaterThan(2);
    return bn;
  }

  for (const [name, make, shape] of [
    ['BatchNorm1d on [N, C]', () => new nn.BatchNorm1d(3, { dtype }), [6, 3]],
    ['BatchNorm1d on [N, C, L]', () => new nn.BatchNorm1d(3, { dtype }), [4, 3, 5]],
    ['BatchNorm2d on [N, C, H, W]', () => new nn.BatchNorm2d(3, { dtype }), [3, 3, 2, 3]],
    ['BatchNorm2d without affine', () => new nn.BatchNorm2d(2, { dtype, affine: false }), [2, 2, 3, 3]],
  ] as [string, () => nn.BatchNorm, number[]][]) {
    it(`${name}: input, weight and bias after training steps`, () => {
      const rng = new Rng(3);
      const bn = trained(randomAffine(make(), rng), rng, shape);
      const rm = Float64Array.from(bn.runningMean!.data), rv = Float64Array.from(bn.runningVar!.data);
      const x = normal(rng, shape, { scale: 3, offset: 2 });
      gradcheck((xx) => bn.forward(xx), inputsOf(x, bn));
      expect([...bn.runningMean!.data]).toEqual([...rm]); // eval leaves the statistics alone
      expect([...bn.runningVar!.data]).toEqual([...rv]);
      // In eval mode dx = dy·γ·invstd_running exactly: each output depends on its own input only.
      x.grad = null;
      bn.forward(x).sum().backward();
      const C = shape[1], S = x.size / (shape[0] * C);
      x.grad!.data.forEach((g, i) => {
        const c = Math.floor(i / S) % C;
        expect(g).toBeCloseTo((bn.weight ? bn.weight.data[c] : 1) / Math.sqrt(rv[c] + bn.eps), 12);
      });
    });
  }

  it('freezeStats in training mode: running statistics used and kept, γ and β still get gradients', () => {
    const rng = new Rng(4);
    const bn = trained(randomAffine(new nn.BatchNorm1d(3, { dtype }), rng), rng, [8, 3]);
    bn.train();
    bn.freezeStats(true);
    const rm = Float64Array.from(bn.runningMean!.data);
    gradcheck((xx) => bn.forward(xx), inputsOf(normal(rng, [5, 3]), bn));
    expect([...bn.runningMean!.data]).toEqual([...rm]);
  });

  it("runningStats 'none' uses batch statistics in eval mode too", () => {
    const rng = new Rng(5);
    const bn = randomAffine(new nn.BatchNorm1d(3, { dtype, runningStats: 'none' }), rng).eval();
    gradcheck((xx) => bn.forward(xx), inputsOf(normal(rng, [5, 3]), bn));
  });
});

describe('losses', () => {
  it('nn.functional.crossEntropy (class indices as an array, Int32Array or tensor)', () => {
    const rng = new Rng(6);
    const logits = normal(rng, [4, 5], { scale: 2 });
    gradcheck((x) => F.crossEntropy(x, [4, 0, 2, 2]), [logits]);
    gradcheck((x) => F.crossEntropy(x, Int32Array.from([1, 1, 3, 0])), [logits]);
    gradcheck((x) => F.crossEntropy(x, tensor([0, 1, 2, 3])), [logits]);
  });

  it('nn.functional.mseLoss w.r.t. input and target', () => {
    const rng = new Rng(7);
    gradcheck((a, b) => F.mseLoss(a, b), [normal(rng, [3, 4]), normal(rng, [3, 4])]);
    gradcheck((a, b) => F.mseLoss(a, b), [normal(rng, [5]), normal(rng, [5], { requiresGrad: false })]);
  });
});

describe('a small Sequential net', () => {
  it('Linear → BatchNorm1d → Tanh → Linear → crossEntropy: input and every parameter', () => {
    manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(4, 5, { dtype }), new nn.BatchNorm1d(5, { dtype }), new nn.Tanh(), new nn.Linear(5, 3, { dtype }));
    const rng = new Rng(8);
    randomAffine(model.at(1) as nn.BatchNorm, rng);
    const x = normal(rng, [6, 4]);
    const params = model.parameters();
    expect(params).toHaveLength(6);
    gradcheck((xx) => F.crossEntropy(model.forward(xx), [0, 1, 2, 0, 1, 2]), [x, ...params]);
  });

  it('Linear → Sigmoid → Linear (no bias) → mseLoss: input and every parameter', () => {
    manualSeed(1);
    const model = new nn.Sequential(new nn.Linear(3, 4, { dtype }), new nn.Sigmoid(), new nn.Linear(4, 2, { dtype, bias: false }));
    const rng = new Rng(9);
    const x = normal(rng, [5, 3]), y = normal(rng, [5, 2], { requiresGrad: false });
    gradcheck((xx) => F.mseLoss(model.forward(xx), y), [x, ...model.parameters()]);
  });
});
