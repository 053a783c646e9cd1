import { describe, expect, it } from 'vitest';
import { Rng, nn, noGrad, tensor, type Tensor } from '../../src/index.js';
import { expectClose } from '../helpers/close.js';

/*
 * STYLE.md rule 4: one statistics kernel and one normalize kernel serve the family, and these equivalences
 * hold: GroupNorm with 1 group = LayerNorm over (C, *) per sample (with matching affine); GroupNorm with C
 * groups = InstanceNorm; LayerNorm over the last axis = GroupNorm(1, D) on [N, D]. Outputs and all gradients.
 */

const dtype = 'float64' as const;
const TIGHT = { rtol: 1e-12, atol: 1e-13 };

function normal(rng: Rng, shape: number[], { scale = 1, offset = 0 } = {}): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return tensor(Float64Array.from({ length: n }, () => offset + scale * rng.normal()), shape, { dtype });
}

type Affine = nn.Module & { weight: Tensor | null; bias: Tensor | null };

/** y, dx, dγ, dβ of module m on x for upstream dy. */
function run(m: Affine, x0: Tensor, dy: Tensor) {
  const x = tensor(x0.data.slice(), x0.shape, { dtype, requiresGrad: true });
  m.zeroGrad();
  const y = m.forward(x);
  y.backward(dy);
  return { y: [...y.data], dx: [...x.grad!.data], dw: m.weight ? [...m.weight.grad!.data] : null, db: m.bias ? [...m.bias.grad!.data] : null };
}

/** Random per-channel γ, β for m (C channels). */
function randomAffine(m: Affine, rng: Rng): { gamma: number[]; beta: number[] } {
  const gamma = [...m.weight!.data].map(() => 0.5 + rng.uniform()), beta = [...m.bias!.data].map(() => 0.5 * rng.normal());
  noGrad(() => { m.weight!.data.set(gamma); m.bias!.data.set(beta); });
  return { gamma, beta };
}

/** Sum over the trailing S values of each of C blocks: [C·S] → [C]. */
const perChannel = (v: number[], C: number) => Array.from({ length: C }, (_, c) => v.slice(c * (v.length / C), (c + 1) * (v.length / C)).reduce((a, b) => a + b, 0));

describe('GroupNorm with 1 group = LayerNorm over (C, *)', () => {
  for (const shape of [[3, 4, 5], [2, 3, 4, 5], [4, 6]]) {
    it(`input ${JSON.stringify(shape)}: y and dx equal; LayerNorm's dγ, dβ summed over * equal GroupNorm's`, () => {
      const rng = new Rng(shape.length);
      const C = shape[1], S = shape.slice(2).reduce((p, d) => p * d, 1);
      const gn = new nn.GroupNorm(1, C, { dtype }) as Affine;
      const ln = new nn.LayerNorm(shape.slice(1), { dtype }) as Affine;
      const { gamma, beta } = randomAffine(gn, rng);
      // LayerNorm's elementwise γ, β set to GroupNorm's per-channel ones, repeated over the spatial positions
      noGrad(() => { ln.weight!.data.forEach((_, i, a) => { a[i] = gamma[Math.floor(i / S)]; }); ln.bias!.data.forEach((_, i, a) => { a[i] = beta[Math.floor(i / S)]; }); });
      const x = normal(rng, shape, { scale: 2, offset: 3 }), dy = normal(rng, shape);
      const a = run(gn, x, dy), b = run(ln, x, dy);
      expectClose(a.y, b.y, TIGHT, 'y');
      expectClose(a.dx, b.dx, TIGHT, 'dx');
      expectClose(a.dw!, perChannel(b.dw!, C), TIGHT, 'dγ');
      expectClose(a.db!, perChannel(b.db!, C), TIGHT, 'dβ');
      // and the statistics really are per sample: changing one sample leaves the others' outputs alone
      const x2 = tensor(x.data.slice(), shape, { dtype });
      x2.data.fill(7, 0, x.size / shape[0]);
      const y2 = gn.forward(x2);
      expect([...y2.data.slice(x.size / shape[0])]).toEqual(a.y.slice(x.size / shape[0]));
    });
  }

  it('without affine on both sides', () => {
    const rng = new Rng(9);
    const x = normal(rng, [3, 2, 3, 3]), dy = normal(rng, [3, 2, 3, 3]);
    const a = run(new nn.GroupNorm(1, 2, { dtype, affine: false }) as Affine, x, dy);
    const b = run(new nn.LayerNorm([2, 3, 3], { dtype, elementwiseAffine: false }) as Affine, x, dy);
    expectClose(a.y, b.y, TIGHT, 'y'); expectClose(a.dx, b.dx, TIGHT, 'dx');
  });
});

describe('GroupNorm with C groups = InstanceNorm', () => {
  for (const [shape, IN] of [[[3, 4, 6], nn.InstanceNorm1d], [[2, 3, 3, 4], nn.InstanceNorm2d]] as const) {
    it(`input ${JSON.stringify(shape)}: y, dx, dγ, dβ (affine), in training and eval (no running statistics)`, () => {
      const rng = new Rng(shape.length + 10);
      const C = shape[1];
      const gn = new nn.GroupNorm(C, C, { dtype }) as Affine;
      const inorm = new IN(C, { dtype, affine: true }) as Affine;
      const { gamma, beta } = randomAffine(gn, rng);
      noGrad(() => { inorm.weight!.data.set(gamma); inorm.bias!.data.set(beta); });
      for (const training of [true, false]) {
        gn.train(training); inorm.train(training);
        const x = normal(rng, [...shape], { scale: 3, offset: -1 }), dy = normal(rng, [...shape]);
        const a = run(gn, x, dy), b = run(inorm, x, dy);
        expect(a).toEqual(b); // the same layout in the same kernels: bit for bit
      }
    });
  }

  it('without affine, and InstanceNorm with tracked statistics in training (which normalizes with the instance ones)', () => {
    const rng = new Rng(12);
    const x = normal(rng, [3, 4, 5]), dy = normal(rng, [3, 4, 5]);
    const a = run(new nn.GroupNorm(4, 4, { dtype, affine: false }) as Affine, x, dy);
    expect(run(new nn.InstanceNorm1d(4, { dtype }) as Affine, x, dy)).toEqual(a);
    expect(run(new nn.InstanceNorm1d(4, { dtype, trackRunningStats: true }) as Affine, x, dy)).toEqual(a);
  });
});

describe('LayerNorm over the last axis of [N, D] = GroupNorm(1, D) = GroupNorm(1, D) on [N, D, 1]', () => {
  it('y, dx, dγ, dβ', () => {
    const rng = new Rng(13);
    const ln = new nn.LayerNorm(5, { dtype }) as Affine, gn = new nn.GroupNorm(1, 5, { dtype }) as Affine;
    const { gamma, beta } = randomAffine(ln, rng);
    noGrad(() => { gn.weight!.data.set(gamma); gn.bias!.data.set(beta); });
    const x = normal(rng, [4, 5], { offset: 10 }), dy = normal(rng, [4, 5]);
    const a = run(ln, x, dy), b = run(gn, x, dy);
    expectClose(a.y, b.y, TIGHT, 'y'); expectClose(a.dx, b.dx, TIGHT, 'dx');
    expectClose(a.dw!, b.dw!, TIGHT, 'dγ'); expectClose(a.db!, b.db!, TIGHT, 'dβ');
    const c = run(gn, x.reshape([4, 5, 1]), dy.reshape([4, 5, 1]));
    expectClose(c.y, a.y, TIGHT, 'y [N, D, 1]');
  });
});

describe('modules = their functional forms', () => {
  it('layerNorm, groupNorm, instanceNorm (with running statistics) give the modules\' outputs and state updates', () => {
    const rng = new Rng(14);
    const F = nn.functional;
    const x = normal(rng, [3, 4, 2, 3]);
    const ln = new nn.LayerNorm([2, 3], { dtype }), gn = new nn.GroupNorm(2, 4, { dtype });
    randomAffine(ln as Affine, rng); randomAffine(gn as Affine, rng);
    expect([...ln.forward(x).data]).toEqual([...F.layerNorm(x, [2, 3], { weight: ln.weight, bias: ln.bias }).data]);
    expect([...gn.forward(x).data]).toEqual([...F.groupNorm(x, 2, { weight: gn.weight, bias: gn.bias }).data]);
    const inorm = new nn.InstanceNorm2d(4, { dtype, trackRunningStats: true, momentum: 0.8 });
    const rm = tensor([0, 0, 0, 0], [4], { dtype }), rv = tensor([1, 1, 1, 1], [4], { dtype });
    expect([...inorm.forward(x).data]).toEqual([...F.instanceNorm(x, { runningMean: rm, runningVar: rv, momentum: 0.8 }).data]);
    expect([...inorm.runningMean!.data, ...inorm.runningVar!.data]).toEqual([...rm.data, ...rv.data]);
    inorm.eval();
    expect([...inorm.forward(x).data]).toEqual([...F.instanceNorm(x, { runningMean: rm, runningVar: rv, useInputStats: false }).data]);
  });
});
