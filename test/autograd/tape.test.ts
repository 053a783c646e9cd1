import { describe, expect, it } from 'vitest';
import { Tensor, isGradEnabled, noGrad, tensor } from '../../src/index.js';
import { gradcheck } from '../helpers/gradcheck.js';

/* The tape: accumulation, values used several times, explicit upstream gradients, freed graphs, noGrad, detach. */

const dtype = 'float64' as const;
const leaf = (v: number[] | number[][]) => tensor(v, undefined, { dtype, requiresGrad: true });
const arr = (t: Tensor | null) => [...t!.data];

describe('gradient accumulation', () => {
  it('two backward calls into the same leaf add up (grad = sum of both)', () => {
    const x = leaf([0.5, -1, 2]);
    x.exp().sum().backward();
    const g1 = arr(x.grad);
    expect(g1).toEqual([...x.data].map(Math.exp));
    x.mul(x).mul(3).sum().backward();
    expect(arr(x.grad)).toEqual(g1.map((g, i) => g + 6 * x.data[i]));
  });

  it('a leaf used by two graphs and a parameter reset with grad = null', () => {
    const w = leaf([1, 2]);
    w.mul(2).sum().backward();
    w.grad = null;
    w.mul(5).sum().backward();
    expect(arr(w.grad)).toEqual([5, 5]);
  });
});

describe('a value used several times in one graph', () => {
  it('x·x gives 2x and x + x gives 2', () => {
    const x = leaf([0.5, -1, 3]);
    x.mul(x).sum().backward();
    expect(arr(x.grad)).toEqual([1, -2, 6]);
    const y = leaf([0.5, -1, 3]);
    y.add(y).sum().backward();
    expect(arr(y.grad)).toEqual([2, 2, 2]);
  });

  it('an intermediate used three times (e = exp(x); e·e + e/x) passes gradcheck', () => {
    const x = leaf([[0.5, 1.5], [2, 0.7]]);
    gradcheck((a) => { const e = a.exp(); return e.mul(e).add(e.div(a)).add(e.sum(1, true)); }, [x]);
  });

  it('a diamond through a reduction: (x − mean(x))² summed', () => {
    const x = leaf([1, 4, -2, 0.5]);
    gradcheck((a) => a.sub(a.mean()).square().sum(), [x]);
    // d/dx Σ(x − x̄)² = 2(x − x̄) (the mean's own gradient cancels)
    x.sub(x.mean()).square().sum().backward();
    const m = (1 + 4 - 2 + 0.5) / 4;
    arr(x.grad).forEach((g, i) => expect(g).toBeCloseTo(2 * (x.data[i] - m), 14));
  });
});

describe('backward on a non-scalar', () => {
  it('takes an explicit upstream gradient (tensor or typed array)', () => {
    const x = leaf([[1, 2, 3], [4, 5, 6]]);
    const g = tensor([[1, 0, -1], [0.5, 2, 0]], undefined, { dtype });
    x.mul(3).backward(g);
    expect(arr(x.grad)).toEqual([3, 0, -3, 1.5, 6, 0]);
    const z = leaf([1, 2]);
    z.square().backward(Float64Array.from([1, 10]));
    expect(arr(z.grad)).toEqual([2, 40]);
  });

  it('refuses to imply a gradient, or one of the wrong shape, naming the shapes', () => {
    const x = leaf([[1, 2, 3], [4, 5, 6]]);
    expect(() => x.mul(2).backward()).toThrow(/shape \[2, 3\]/);
    expect(() => x.mul(2).backward(tensor([1, 2, 3], undefined, { dtype }))).toThrow(/gradient has shape \[3\] but the tensor has shape \[2, 3\]/);
    expect(() => x.mul(2).backward(new Float64Array(5))).toThrow(/5 values .* shape \[2, 3\]/);
  });
});

describe('freed graphs and retainGraph', () => {
  it('a second backward through a freed graph is an error that names the op', () => {
    const x = leaf([0.5, 1]);
    const y = x.exp().sum();
    y.backward();
    expect(() => y.backward()).toThrow(/a second time.*retainGraph/);
  });

  it('with retainGraph the graph can be walked again and gradients add up', () => {
    const x = leaf([0.5, 1]);
    const y = x.exp().mul(x).sum();
    y.backward(undefined, { retainGraph: true });
    const once = arr(x.grad);
    y.backward();
    expect(arr(x.grad)).toEqual(once.map((g) => 2 * g));
    expect(() => y.backward()).toThrow(/a second time/); // the second call did not retain it
  });
});

describe('noGrad and detach', () => {
  it('noGrad records nothing, restores the mode, also after an exception', () => {
    const x = leaf([1, 2]);
    const y = noGrad(() => { expect(isGradEnabled()).toBe(false); return x.mul(2).exp(); });
    expect(isGradEnabled()).toBe(true);
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBeNull();
    expect(() => y.sum().backward()).toThrow(/does not require grad/);
    expect(() => noGrad(() => { throw new Error('boom'); })).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
    expect(x.grad).toBeNull();
  });

  it('detach() shares storage and stops gradients', () => {
    const x = leaf([1, 2, 3]);
    const d = x.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.data).toBe(x.data);
    x.mul(d).sum().backward(); // d is a constant: d/dx (x·c) = c, not 2x
    expect(arr(x.grad)).toEqual([1, 2, 3]);
    const y = x.exp();
    expect(y.detach().node).toBeNull();
  });
});

describe('gradients at kinks and ties (conventions, as in PyTorch)', () => {
  it('maximum/minimum split the gradient evenly on ties', () => {
    const a = leaf([1, 2, 3]), b = leaf([1, 0, 5]);
    a.maximum(b).sum().backward();
    expect(arr(a.grad)).toEqual([0.5, 1, 0]);
    expect(arr(b.grad)).toEqual([0.5, 0, 1]);
    const c = leaf([2, 2]), e = leaf([2, 3]);
    c.minimum(e).sum().backward();
    expect(arr(c.grad)).toEqual([0.5, 1]);
    expect(arr(e.grad)).toEqual([0.5, 0]);
  });

  it('max over an axis splits the gradient among tied maxima', () => {
    const x = leaf([[3, 1, 3], [0, 2, 1]]);
    x.max(1).backward(tensor([1, 4], undefined, { dtype }));
    expect(arr(x.grad)).toEqual([0.5, 0, 0.5, 0, 4, 0]);
  });

  it('relu and abs have gradient 0 at 0', () => {
    const x = leaf([0, 0]);
    x.relu().sum().backward();
    expect(arr(x.grad)).toEqual([0, 0]);
    const y = leaf([0, 0]);
    y.abs().sum().backward();
    expect(arr(y.grad)).toEqual([0, 0]);
  });
});

describe('a leaf taking over the computed gradient array', () => {
  it('never shares storage between two leaves that received the same array (add returns g twice)', () => {
    const a = leaf([1, 2]), b = leaf([3, 4]);
    a.add(b).mul(2).sum().backward();
    expect(a.grad!.data).not.toBe(b.grad!.data);
    b.grad!.data[0] = 100;
    expect(arr(a.grad)).toEqual([2, 2]);
  });

  it('never takes the caller\'s upstream gradient', () => {
    const a = leaf([1, 2, 3]);
    const up = tensor([1, 1, 1], undefined, { dtype });
    a.reshape([3, 1]).reshape([3]).backward(up);
    expect(a.grad!.data).not.toBe(up.data);
    up.data[0] = 7;
    expect(arr(a.grad)).toEqual([1, 1, 1]);
  });

  it('a taken-over gradient still accumulates on the next backward', () => {
    const a = leaf([1, 2]);
    a.mul(3).sum().backward();
    a.mul(3).sum().backward();
    expect(arr(a.grad)).toEqual([6, 6]);
  });
});
