import { describe, expect, it } from 'vitest';
import { Tensor, full, ones, rand, randn, tensor, zeros } from '../../src/index.js';

/* Tensor factories: nested arrays, flat and typed arrays with a shape, scalars; errors name the shapes. */

describe('tensor()', () => {
  it('infers the shape of nested arrays, row-major', () => {
    const t = tensor([[[1, 2, 3], [4, 5, 6]]]);
    expect(t.shape).toEqual([1, 2, 3]);
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.dtype).toBe('float32');
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(tensor(2.5).shape).toEqual([]);
    expect(tensor(2.5).item()).toBe(2.5);
    expect(tensor([]).shape).toEqual([0]);
    expect(tensor([[], []]).shape).toEqual([2, 0]);
  });

  it('takes flat arrays and typed arrays with a shape, copying and converting them', () => {
    const src = new Float64Array([0.1, 2, 3, 4, 5, 6]);
    const t = tensor(src, [3, 2]);
    expect(t.shape).toEqual([3, 2]);
    expect(t.data[0]).toBe(Math.fround(0.1));
    src[1] = 99;
    expect(t.data[1]).toBe(2);
    const d = tensor(new Float32Array([1, 2, 3]), undefined, { dtype: 'float64' });
    expect(d.shape).toEqual([3]);
    expect(d.data).toBeInstanceOf(Float64Array);
    expect(tensor([1, 2, 3, 4], [2, 2], { dtype: 'float64' }).toArray()).toEqual([[1, 2], [3, 4]]);
    expect(tensor([7], []).shape).toEqual([]);
    expect(tensor(new Int32Array([1, 2]), [2, 1]).toArray()).toEqual([[1], [2]]);
  });

  it('requiresGrad makes a leaf that collects a gradient', () => {
    const t = tensor([1, 2], undefined, { requiresGrad: true });
    expect(t.requiresGrad && t.isLeaf && t.grad === null).toBe(true);
    t.mul(3).sum().backward();
    expect(Array.from(t.grad!.data)).toEqual([3, 3]);
  });

  it('ragged or non-numeric nested arrays are errors naming the expected shape', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(/ragged.*\[2, 2\]/);
    expect(() => tensor([[1, 2], 3] as never)).toThrow(/ragged/);
    expect(() => tensor([[1, [2]], [3, 4]] as never)).toThrow(/ragged/);
    expect(() => tensor([[1, 'a'], [3, 4]] as never)).toThrow(/non-numbers/);
  });

  it('values that do not fill the shape are errors naming both', () => {
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2, 2\] \(4 values\)/);
    expect(() => tensor(new Float32Array(6), [4])).toThrow(/6 values do not fill shape \[4\]/);
    expect(() => tensor([[1, 2], [3, 4]], [3])).toThrow(/4 values do not fill shape \[3\]/);
    expect(() => tensor([1, 2], [-1, -2])).toThrow(/non-negative integers/);
    expect(() => tensor([1, 2], [2.5])).toThrow(/non-negative integers/);
    // @ts-expect-error: not a DType
    expect(() => tensor([1], undefined, { dtype: 'int32' })).toThrow(/unknown dtype 'int32'/);
  });

  it('the Tensor constructor checks data against shape', () => {
    expect(() => new Tensor(new Float32Array(5), [2, 3])).toThrow(/shape \[2, 3\] holds 6 values but the data has 5/);
    expect(new Tensor(new Float64Array(6), [2, 3]).dtype).toBe('float64');
  });
});

describe('zeros, ones, full, randn, rand', () => {
  it('have the shape, dtype and fill asked for', () => {
    expect(Array.from(zeros([2, 3]).data)).toEqual(new Array(6).fill(0));
    expect(ones([2], { dtype: 'float64' }).data).toBeInstanceOf(Float64Array);
    expect(Array.from(ones([3]).data)).toEqual([1, 1, 1]);
    expect(full([2, 2], -0.5).toArray()).toEqual([[-0.5, -0.5], [-0.5, -0.5]]);
    expect(zeros([]).shape).toEqual([]);
    expect(zeros([0, 4]).size).toBe(0);
    expect(randn([3, 4], { dtype: 'float64' }).shape).toEqual([3, 4]);
    const r = rand([1000]);
    expect(Math.min(...r.data)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...r.data)).toBeLessThan(1);
    expect(randn([2], { requiresGrad: true }).requiresGrad).toBe(true);
  });

  it('bad shapes and dtypes are errors naming them', () => {
    expect(() => zeros([2, -1])).toThrow(/zeros: a shape is a list of non-negative integers, got \[2,-1\]/);
    expect(() => randn([1.5])).toThrow(/randn:.*\[1\.5\]/);
    expect(() => rand([NaN])).toThrow(/rand:/);
    // @ts-expect-error: not a DType
    expect(() => ones([2], { dtype: 'float16' })).toThrow(/float16/);
  });
});
