import { describe, expect, it } from 'vitest';
import { Rng, randn, tensor } from '../../src/index.js';
import { naiveReduce } from '../helpers/reference.js';

/* sum / mean / max over axes (negative axes, lists, keepdim), argmax, and their errors. */

describe('reductions', () => {
  const rng = new Rng(71);
  const x = randn([2, 3, 4], { dtype: 'float64', rng });
  const sum = (axes: number[]) => naiveReduce((p, v) => p + v, 0, x.data, x.shape, axes).out;

  it('sum over one axis, negative axes, lists, all axes; keepdim keeps 1s', () => {
    expect(x.sum(1).shape).toEqual([2, 4]);
    expect(x.sum(-1).shape).toEqual([2, 3]);
    expect(x.sum(1, true).shape).toEqual([2, 1, 4]);
    expect(x.sum([0, -1]).shape).toEqual([3]);
    expect(x.sum([2, 0], true).shape).toEqual([1, 3, 1]);
    expect(x.sum().shape).toEqual([]);
    expect(x.sum(undefined, true).shape).toEqual([1, 1, 1]);
    const close = (a: ArrayLike<number>, b: number[]) => b.forEach((v, i) => expect(a[i]).toBeCloseTo(v, 12));
    close(x.sum(1).data, sum([1]));
    close(x.sum(-3).data, sum([0]));
    close(x.sum([0, -1]).data, sum([0, 2]));
    close(x.sum([2, 0], true).data, sum([0, 2]));
    close(x.sum().data, sum([0, 1, 2]));
  });

  it('mean divides by the reduced count; max picks the largest; gradients spread back', () => {
    const m = x.mean([0, 2]);
    sum([0, 2]).forEach((v, i) => expect(m.data[i]).toBeCloseTo(v / 8, 12));
    const mx = x.max(-2, true);
    expect(mx.shape).toEqual([2, 1, 4]);
    expect(Array.from(mx.data)).toEqual(naiveReduce(Math.max, -Infinity, x.data, x.shape, [1]).out);
    const t = tensor([[1, 5, 5], [2, 0, 1]], undefined, { requiresGrad: true });
    t.max(1).sum().backward();
    expect(t.grad!.toArray()).toEqual([[0, 0.5, 0.5], [1, 0, 0]]);
    const u = tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
    u.mean(0).sum().backward();
    expect(u.grad!.toArray()).toEqual([[0.5, 0.5], [0.5, 0.5]]);
  });

  it('argmax over an axis (default last), first of ties', () => {
    const t = tensor([[[1, 9], [3, 3]], [[7, 2], [8, 0]]]);
    expect(t.argmax().toArray()).toEqual([[1, 0], [0, 0]]);
    expect(t.argmax(0).toArray()).toEqual([[1, 0], [1, 0]]);
    expect(t.argmax(-2).toArray()).toEqual([[1, 0], [1, 0]]);
    expect(t.argmax(1).shape).toEqual([2, 2]);
  });

  it('axis errors name the axis and the shape', () => {
    expect(() => x.sum(3)).toThrow(/sum: axis 3 is out of range for a tensor of shape \[2, 3, 4\]/);
    expect(() => x.mean(-4)).toThrow(/mean: axis -4 is out of range for a tensor of shape \[2, 3, 4\]/);
    expect(() => x.max([0, 1.5])).toThrow(/axis 1\.5/);
    expect(() => x.sum([1, -2])).toThrow(/sum: repeated axis/);
    expect(() => x.argmax(5)).toThrow(/argmax: axis 5.*\[2, 3, 4\]/);
    expect(() => randn([0, 2]).max()).toThrow(/max: the tensor of shape \[0, 2\] is empty/);
  });
});
