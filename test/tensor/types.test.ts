import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { messagesOf } from '../helpers/typecheck.js';
import { Indices, ones, rand, randn, tensor, zeros } from '../../src/index.js';

/* Types and factories a PyTorch user reaches for first: toArray() indexes under strict, argmax gives integers,
 * zeros(2, 3) works as in PyTorch. */

describe('toArray() under strict TypeScript', () => {
  it('indexes, assigns to a declared nested type, and compiles with strict on', () => {
    const root = join(import.meta.dirname, '../..');
    const file = join(root, 'test/tensor/__strict_usage.ts');
    const source = `
      import { tensor, zeros, ones, randn, type Tensor } from '../../src/index.js';
      const m = tensor([[1, 2], [3, 4]]);
      const v: number = m.toArray()[1][0];
      const rows: number[][] = m.toArray();
      const first: number[] = rows[0];
      const pred: Int32Array = m.argmax(1).data;
      const labels: number[] = m.argmax(1).toArray();
      const a: Tensor = zeros(2, 3), b: Tensor = zeros([2, 3]), c: Tensor = ones(2, 3, { dtype: 'float64' }), d: Tensor = randn(4, { requiresGrad: true });
      // @ts-expect-error: options after sizes must be an object
      zeros(2, 'x');
      export { v, first, pred, labels, a, b, c, d };
    `;
    expect(messagesOf(file, source)).toEqual([]);
    expect(readFileSync(join(root, 'src/tensor/tensor.ts'), 'utf8')).toMatch(/toArray\(\): ArrayValue/);
  }, 60_000);

  it('values: nested arrays as deep as the rank, a number for a scalar', () => {
    expect(tensor([[1, 2], [3, 4]]).toArray()[1][0]).toBe(3);
    expect(tensor(2.5).toArray()).toBe(2.5);
    expect(zeros([2, 0]).toArray()).toEqual([[], []]);
  });
});

describe('argmax returns integer data', () => {
  it('an Int32Array with the reduced shape; first maximum on ties; any axis', () => {
    const t = tensor([[[0, 5], [2, 2]], [[7, 1], [-1, 3]]]);
    const a = t.argmax();
    expect(a).toBeInstanceOf(Indices);
    expect(a.data).toBeInstanceOf(Int32Array);
    expect(a.shape).toEqual([2, 2]);
    expect(Array.from(a.data)).toEqual([1, 0, 0, 1]);
    expect(t.argmax(0).toArray()).toEqual([[1, 0], [0, 1]]);
    expect(t.argmax(-2).toArray()).toEqual([[1, 0], [0, 1]]);
    expect(tensor([3, 9, 9, 1], undefined, { dtype: 'float64' }).argmax().item()).toBe(1);
    expect(t.argmax(1).toTensor().toArray()).toEqual([[1, 0], [0, 1]]);
    expect(String(tensor([[0.1, 2, -1], [3, 0, 0.5]]).argmax(1))).toBe('Indices([1, 0], shape=[2])');
  });

  it('compares with Int32Array labels directly', () => {
    const logits = tensor([[0.1, 2, -1], [3, 0, 0.5], [0, 0, 1]]);
    const y = Int32Array.from([1, 2, 2]);
    expect(logits.argmax(1).data.filter((c, i) => c === y[i]).length).toBe(2);
  });

  it('errors name the axis and the shape', () => {
    expect(() => randn([2, 3, 4]).argmax(5)).toThrow(/argmax: axis 5.*\[2, 3, 4\]/);
    expect(() => zeros([2, 0]).argmax(1)).toThrow(/argmax: axis 1 of shape \[2, 0\] is empty/);
    expect(() => new Indices(new Int32Array(3), [2, 2])).toThrow(/shape \[2, 2\] holds 4 values but the data has 3/);
  });
});

describe('factories take a shape as one array or as sizes, as PyTorch', () => {
  it('zeros, ones, randn, rand', () => {
    expect(zeros(2, 3).shape).toEqual([2, 3]);
    expect(zeros(2, 3).toArray()).toEqual(zeros([2, 3]).toArray());
    expect(ones(4).toArray()).toEqual([1, 1, 1, 1]);
    expect(ones(2, 2, { dtype: 'float64' }).dtype).toBe('float64');
    expect(zeros().shape).toEqual([]);
    expect(randn(3, 4, { requiresGrad: true }).requiresGrad).toBe(true);
    expect(rand(5).shape).toEqual([5]);
    expect(zeros([2, 3], { dtype: 'float64' }).dtype).toBe('float64');
  });

  it('mixed or malformed shapes say that the shape is one array or sizes', () => {
    expect(() => zeros(2, [3] as never)).toThrow(/zeros: expected a shape as one array \(\[2, 3\]\) or as sizes \(2, 3\), got 2, \[3\]/);
    expect(() => zeros([2], 3 as never)).toThrow(/zeros: after the shape array only an options object may follow, got 3/);
    expect(() => ones(2, -1)).toThrow(/ones: a shape is a list of non-negative integers, got \[2,-1\]/);
    expect(() => randn('3' as never)).toThrow(/randn: expected a shape/);
  });
});
