import { describe, expect, it } from 'vitest';
import { Rng, randn } from '../../src/index.js';
import { naiveMatmul } from '../helpers/reference.js';

/* Tensor.matmul: the shapes it accepts (2-D, batched with a shared or per-batch right side, vector), values, gradients, errors. */

const close = (a: ArrayLike<number>, b: number[], label: string) => b.forEach((v, i) => expect(a[i], `${label} [${i}]`).toBeCloseTo(v, 11));

describe('matmul', () => {
  const rng = new Rng(81);
  const r = (shape: number[], requiresGrad = false) => randn(shape, { dtype: 'float64', rng, requiresGrad });

  it('[M, K]·[K, N] → [M, N]', () => {
    const a = r([3, 5]), b = r([5, 4]);
    const y = a.matmul(b);
    expect(y.shape).toEqual([3, 4]);
    close(y.data, naiveMatmul(a.data, b.data, 3, 5, 4), 'y');
  });

  it('[B, M, K]·[K, N] (shared) and [B, M, K]·[B, K, N] (per batch)', () => {
    const a = r([2, 3, 5]), b = r([5, 4]), bb = r([2, 5, 4]);
    const y = a.matmul(b);
    expect(y.shape).toEqual([2, 3, 4]);
    close(y.data, naiveMatmul(a.data, b.data, 6, 5, 4), 'shared');
    const z = a.matmul(bb);
    expect(z.shape).toEqual([2, 3, 4]);
    for (let i = 0; i < 2; i++) close(z.data.subarray(i * 12), naiveMatmul(a.data.subarray(i * 15), bb.data.subarray(i * 20), 3, 5, 4), `batch ${i}`);
  });

  it('a 1-D right side is a column vector whose axis is dropped', () => {
    const a = r([3, 5]), v = r([5]);
    const y = a.matmul(v);
    expect(y.shape).toEqual([3]);
    close(y.data, naiveMatmul(a.data, v.data, 3, 5, 1), 'a·v');
    expect(r([2, 3, 5]).matmul(v).shape).toEqual([2, 3]);
  });

  it('gradients: da = g·bᵀ, db = aᵀ·g (batched, shared b sums over the batch)', () => {
    const a = r([2, 3, 5], true), b = r([5, 4], true), g = r([2, 3, 4]);
    a.matmul(b).backward(g);
    close(a.grad!.data, naiveMatmul(g.data, b.data, 6, 4, 5, false, true), 'da');
    close(b.grad!.data, naiveMatmul(a.data, g.data, 5, 6, 4, true, false), 'db');
  });

  it('errors name both shapes', () => {
    expect(() => r([3, 5]).matmul(r([4, 2]))).toThrow(/matmul: shapes \[3, 5\] and \[4, 2\] do not match \(inner dimensions 5 and 4\)/);
    expect(() => r([2, 3, 5]).matmul(r([3, 5, 2]))).toThrow(/shapes \[2, 3, 5\] and \[3, 5, 2\] do not match.*batch dimensions differ/);
    expect(() => r([3, 5]).matmul(r([2, 5, 2]))).toThrow(/shapes \[3, 5\] and \[2, 5, 2\]/);
    expect(() => r([5]).matmul(r([5, 2]))).toThrow(/rank ≥ 2 on the left, got shape \[5\]/);
    expect(() => r([3, 5]).matmul(r([4]))).toThrow(/shapes \[3, 5\] and \[4\]/);
  });
});
