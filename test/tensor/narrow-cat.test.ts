import { describe, expect, it } from 'vitest';
import { cat, ones, stack, tensor, zeros } from '../../src/index.js';

/* Values and errors of narrow, select, cat and stack (their gradients are in test/autograd/gradcheck.test.ts). */

const x = tensor([[[0, 1, 2], [3, 4, 5]], [[6, 7, 8], [9, 10, 11]]]); // [2, 2, 3]

describe('narrow and select', () => {
  it('slice along any axis, negative axes and starts counting from the end', () => {
    expect(x.narrow(0, 1, 1).toArray()).toEqual([[[6, 7, 8], [9, 10, 11]]]);
    expect(x.narrow(1, 1, 1).toArray()).toEqual([[[3, 4, 5]], [[9, 10, 11]]]);
    expect(x.narrow(-1, 1, 2).toArray()).toEqual([[[1, 2], [4, 5]], [[7, 8], [10, 11]]]);
    expect(x.narrow(2, -1, 1).toArray()).toEqual([[[2], [5]], [[8], [11]]]);
    expect(x.narrow(2, 3, 0).shape).toEqual([2, 2, 0]);
    expect(x.select(1, 0).toArray()).toEqual([[0, 1, 2], [6, 7, 8]]);
    expect(x.select(2, -1).toArray()).toEqual([[2, 5], [8, 11]]);
  });
  it('errors name the shape', () => {
    expect(() => x.narrow(1, 1, 2)).toThrow('narrow: start 1 and length 2 do not fit axis 1 (size 2) of shape [2, 2, 3]');
    expect(() => x.narrow(3, 0, 1)).toThrow('narrow: axis 3 is out of range for a tensor of shape [2, 2, 3]');
    expect(() => x.select(0, 2)).toThrow(/start 2 and length 1 do not fit axis 0 \(size 2\)/);
    expect(() => tensor(1).narrow(0, 0, 1)).toThrow('narrow: expected a tensor of rank ≥ 1, got a scalar');
  });
});

describe('cat and stack', () => {
  it('join along an axis', () => {
    expect(cat([x.narrow(2, 0, 1), x.narrow(2, 1, 2)], 2).toArray()).toEqual(x.toArray());
    expect(cat([zeros([1, 2]), ones([2, 2])]).toArray()).toEqual([[0, 0], [1, 1], [1, 1]]);
    expect(cat([zeros([2, 1]), ones([2, 2]), zeros([2, 0])], -1).toArray()).toEqual([[0, 1, 1], [0, 1, 1]]);
    expect(stack([zeros([2]), ones([2])]).toArray()).toEqual([[0, 0], [1, 1]]);
    expect(stack([zeros([2]), ones([2])], 1).toArray()).toEqual([[0, 1], [0, 1]]);
    expect(stack([x.select(1, 0), x.select(1, 1)], 1).toArray()).toEqual(x.toArray());
  });
  it('errors name the shapes and dtypes', () => {
    expect(() => cat([])).toThrow('cat: expected a non-empty list of tensors');
    expect(() => cat([zeros([2, 3]), zeros([3, 2])], 1)).toThrow("cat: tensor 1 has shape [3, 2], which does not match tensor 0's [2, 3] outside axis 1");
    expect(() => cat([zeros([2]), zeros([2], { dtype: 'float64' })])).toThrow('cat: tensor 1 is float64 but tensor 0 is float32; convert with .to() first');
    expect(() => cat([tensor(1), tensor(2)])).toThrow(/scalars cannot be concatenated/);
    expect(() => stack([zeros([2]), zeros([3])])).toThrow('stack: tensor 1 has shape [3] but tensor 0 has [2]; stack needs equal shapes');
    expect(() => stack([zeros([2])], 2)).toThrow('stack: axis 2 is out of range for stacking tensors of shape [2] (the new axis is in [-2, 1])');
    expect(stack([zeros([2])], -2).shape).toEqual([1, 2]);
  });
});
