import { describe, expect, it } from 'vitest';
import { Rng, randn, tensor } from '../../src/index.js';
import { naiveBroadcast, naiveReduce } from '../helpers/reference.js';

/* Broadcasting arithmetic on Tensors: NumPy rules, errors naming both shapes, gradients summed back to each shape. */

const OPS = {
  add: (x: number, y: number) => x + y, sub: (x: number, y: number) => x - y,
  mul: (x: number, y: number) => x * y, div: (x: number, y: number) => x / y,
  maximum: Math.max, minimum: Math.min,
} as const;

describe('broadcasting', () => {
  it('follows NumPy: trailing axes aligned, 1 stretches, missing leading axes are 1', () => {
    const cases: [number[], number[], number[]][] = [
      [[2, 3], [3], [2, 3]], [[2, 1], [1, 4], [2, 4]], [[4, 1, 3], [2, 1], [4, 2, 3]], [[], [2, 2], [2, 2]],
      [[5, 1, 1], [1, 6, 1], [5, 6, 1]], [[3], [1], [3]], [[2, 0], [1], [2, 0]], [[1, 3], [0, 1], [0, 3]],
    ];
    const rng = new Rng(61);
    for (const [as, bs, out] of cases) {
      const a = randn(as, { dtype: 'float64', rng }), b = randn(bs, { dtype: 'float64', rng });
      for (const [op, f] of Object.entries(OPS) as [keyof typeof OPS, (x: number, y: number) => number][]) {
        const y = a[op](b);
        expect(y.shape, `${op} [${as}] [${bs}]`).toEqual(out);
        expect(Array.from(y.data), `${op} [${as}] [${bs}]`).toEqual(naiveBroadcast(f, a.data, as, b.data, bs).out);
      }
    }
  });

  it('numbers broadcast as scalars of the tensor dtype, on either side of pow', () => {
    const a = tensor([[1, 2], [3, 4]]);
    expect(a.add(1).toArray()).toEqual([[2, 3], [4, 5]]);
    expect(a.pow(2).toArray()).toEqual([[1, 4], [9, 16]]);
    expect(a.div(2).dtype).toBe('float32');
    expect(a.mul(0.1).data[0]).toBe(Math.fround(0.1));
    expect(tensor(2).pow(a).toArray()).toEqual([[2, 4], [8, 16]]);
  });

  it('shapes that do not broadcast are errors naming the op and both shapes', () => {
    const a = randn([2, 3]);
    expect(() => a.add(randn([2]))).toThrow(/add: shapes \[2, 3\] and \[2\] cannot be broadcast together/);
    expect(() => a.mul(randn([3, 2]))).toThrow(/mul: shapes \[2, 3\] and \[3, 2\]/);
    expect(() => randn([4, 1, 3]).sub(randn([5, 2]))).toThrow(/sub: shapes \[4, 1, 3\] and \[5, 2\]/);
    expect(() => a.maximum(randn([1, 4]))).toThrow(/maximum: shapes \[2, 3\] and \[1, 4\]/);
    expect(() => a.add('1' as never)).toThrow(/expected a Tensor or a number/);
  });

  it('gradients are summed over the broadcast axes back to each operand shape', () => {
    const rng = new Rng(62);
    const a = randn([4, 1, 3], { dtype: 'float64', rng, requiresGrad: true }), b = randn([2, 1], { dtype: 'float64', rng, requiresGrad: true });
    const g = randn([4, 2, 3], { dtype: 'float64', rng });
    a.mul(b).backward(g);
    expect(a.grad!.shape).toEqual([4, 1, 3]);
    expect(b.grad!.shape).toEqual([2, 1]);
    // da = Σ_axis1 g·b, db = Σ_axes(0,2) g·a
    const gb = naiveBroadcast((x, y) => x * y, g.data, [4, 2, 3], b.data, [2, 1]);
    const ga = naiveBroadcast((x, y) => x * y, g.data, [4, 2, 3], a.data, [4, 1, 3]);
    const da = naiveReduce((p, v) => p + v, 0, gb.out, [4, 2, 3], [1]).out, db = naiveReduce((p, v) => p + v, 0, ga.out, [4, 2, 3], [0, 2]).out;
    da.forEach((v, i) => expect(a.grad!.data[i]).toBeCloseTo(v, 12));
    db.forEach((v, i) => expect(b.grad!.data[i]).toBeCloseTo(v, 12));
  });
});
