import { describe, expect, it } from 'vitest';
import { Rng, randn, tensor } from '../../src/index.js';
import { naivePermute } from '../helpers/reference.js';

/* reshape (with −1), flatten, permute / transpose, expand, item / toArray, clone / detach. */

describe('reshape and flatten', () => {
  const x = tensor(Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);

  it('reshape keeps row-major order; one −1 is inferred', () => {
    expect(x.reshape([4, 6]).toArray()).toEqual([[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11], [12, 13, 14, 15, 16, 17], [18, 19, 20, 21, 22, 23]]);
    expect(x.reshape([-1, 8]).shape).toEqual([3, 8]);
    expect(x.reshape([2, -1, 3]).shape).toEqual([2, 4, 3]);
    expect(x.reshape([-1]).shape).toEqual([24]);
    expect(tensor([5]).reshape([]).shape).toEqual([]);
    expect(tensor([]).reshape([0, 3]).shape).toEqual([0, 3]);
  });

  it('reshape errors name both shapes', () => {
    expect(() => x.reshape([5, 5])).toThrow(/cannot reshape a tensor of shape \[2, 3, 4\] \(24 values\) into \[5, 5\]/);
    expect(() => x.reshape([-1, 5])).toThrow(/\[2, 3, 4\].*\[-1, 5\]/);
    expect(() => x.reshape([-1, -1, 6])).toThrow(/\[-1, -1, 6\]/);
    expect(() => x.reshape([-1, 0])).toThrow(/\[-1, 0\]/);
  });

  it('flatten merges an axis range (PyTorch semantics)', () => {
    expect(x.flatten().shape).toEqual([24]);
    expect(x.flatten(1).shape).toEqual([2, 12]);
    expect(x.flatten(0, 1).shape).toEqual([6, 4]);
    expect(x.flatten(-2, -1).shape).toEqual([2, 12]);
    expect(tensor(3).flatten().shape).toEqual([1]);
  });

  it('reshape gradients come back in the original shape', () => {
    const a = randn([2, 6], { requiresGrad: true });
    a.reshape([3, -1]).mul(tensor([[1, 2, 3, 4]])).sum().backward();
    expect(a.grad!.shape).toEqual([2, 6]);
    expect(Array.from(a.grad!.data)).toEqual([1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]);
  });
});

describe('permute and transpose', () => {
  it('match the multi-index definition on random ranks and permutations; gradients invert them', () => {
    const rng = new Rng(91);
    for (let t = 0; t < 30; t++) {
      const shape = Array.from({ length: 1 + rng.int(4) }, () => 1 + rng.int(4));
      const perm = shape.map((_, i) => i);
      for (let i = perm.length - 1; i > 0; i--) { const j = rng.int(i + 1); [perm[i], perm[j]] = [perm[j], perm[i]]; }
      const x = randn(shape, { dtype: 'float64', rng, requiresGrad: true });
      const y = x.permute(perm), ref = naivePermute(x.data, shape, perm);
      expect(y.shape).toEqual(ref.shape);
      expect(Array.from(y.data)).toEqual(ref.out);
      const g = randn(ref.shape, { dtype: 'float64', rng });
      y.backward(g);
      const inv = perm.map((_, i) => perm.indexOf(i));
      expect(Array.from(x.grad!.data)).toEqual(naivePermute(g.data, ref.shape, inv).out);
    }
  });

  it('transpose swaps two axes (default the last two), negative axes allowed', () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(x.transpose().toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
    const y = randn([2, 3, 4]);
    expect(y.transpose(0, -1).shape).toEqual([4, 3, 2]);
    expect(y.permute([-1, 0, 1]).shape).toEqual([4, 2, 3]);
  });

  it('errors name the permutation and the shape', () => {
    const y = randn([2, 3, 4]);
    expect(() => y.permute([0, 1])).toThrow(/\[0,1\] is not a permutation of the 3 axes of shape \[2, 3, 4\]/);
    expect(() => y.permute([0, 0, 1])).toThrow(/not a permutation/);
    expect(() => y.permute([0, 1, 3])).toThrow(/axis 3 is out of range for a tensor of shape \[2, 3, 4\]/);
    expect(() => y.transpose(0, 5)).toThrow(/transpose: axis 5/);
  });
});

describe('expand, item, toArray, clone, detach', () => {
  it('expand broadcasts (and sums the gradient back); errors name both shapes', () => {
    const a = tensor([[1], [2]], undefined, { requiresGrad: true });
    const e = a.expand([3, 2, 4]);
    expect(e.shape).toEqual([3, 2, 4]);
    expect(e.toArray()).toEqual(Array(3).fill([[1, 1, 1, 1], [2, 2, 2, 2]]));
    e.sum().backward();
    expect(a.grad!.toArray()).toEqual([[12], [12]]);
    expect(() => a.expand([3, 3])).toThrow(/shape \[2, 1\] cannot be broadcast to \[3, 3\]/);
  });

  it('item works on one-element tensors only; toArray nests by shape', () => {
    expect(tensor([[4.5]]).item()).toBe(4.5);
    expect(() => tensor([1, 2]).item()).toThrow(/only a tensor with one element.*shape \[2\]/);
    expect(tensor(3).toArray()).toBe(3);
    expect(tensor([1, 2, 3, 4, 5, 6], [3, 1, 2]).toArray()).toEqual([[[1, 2]], [[3, 4]], [[5, 6]]]);
    expect(tensor([], [2, 0]).toArray()).toEqual([[], []]);
  });

  it('clone copies storage and passes gradients; detach shares storage and cuts the graph', () => {
    const a = tensor([1, 2], undefined, { requiresGrad: true });
    const c = a.clone();
    expect(c.data).not.toBe(a.data);
    c.mul(3).sum().backward();
    expect(Array.from(a.grad!.data)).toEqual([3, 3]);
    const d = a.detach();
    expect(d.data).toBe(a.data);
    expect(d.requiresGrad).toBe(false);
    expect(() => a.mul(2).requiresGrad = false).toThrow(/leaf/);
  });
});
