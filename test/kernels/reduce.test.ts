import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/index.js';
import { jsKernels } from '../../src/kernels/js/index.js';
import { naiveReduce, size } from '../helpers/reference.js';

/* The js reduce and argmax kernels against multi-index loops: random shapes (rank 0–5, sizes 0–4 incl. 1s), random axis sets. */

const OPS = {
  sum: { f: (a: number, v: number) => a + v, init: 0 },
  max: { f: (a: number, v: number) => (v > a || Number.isNaN(v) ? v : a), init: -Infinity },
  min: { f: (a: number, v: number) => (v < a || Number.isNaN(v) ? v : a), init: Infinity },
} as const;

describe('js reduce kernel', () => {
  it('sum, max, min over random axis subsets of random shapes, float32 and float64', () => {
    const rng = new Rng(31);
    for (let t = 0; t < 300; t++) {
      const rank = rng.int(6);
      const shape = Array.from({ length: rank }, () => (rng.uniform() < 0.05 ? 0 : 1 + rng.int(4)));
      const axes = shape.map((_, d) => d).filter(() => rng.uniform() < 0.5);
      const dtype = rng.uniform() < 0.5 ? 'float32' : 'float64';
      const x = dtype === 'float32' ? new Float32Array(size(shape)) : new Float64Array(size(shape));
      for (let i = 0; i < x.length; i++) x[i] = rng.normal();
      const absSum = Array.from(x).reduce((p, v) => p + Math.abs(v), 0);
      if (x.length > 3 && rng.uniform() < 0.2) x[rng.int(x.length)] = NaN;
      for (const [op, { f, init }] of Object.entries(OPS) as [keyof typeof OPS, (typeof OPS)[keyof typeof OPS]][]) {
        const ref = naiveReduce(f, init, x, shape, axes);
        const out = dtype === 'float32' ? new Float32Array(ref.out.length) : new Float64Array(ref.out.length);
        jsKernels.reduce(op, x, shape, axes, out);
        const label = `${op} ${dtype} shape [${shape}] axes [${axes}]`;
        for (let i = 0; i < out.length; i++) {
          const e = dtype === 'float32' ? Math.fround(ref.out[i]) : ref.out[i];
          if (op === 'sum') {
            // the kernel sums in float64 (possibly in another order): off by at most the final rounding + n·2^-52·Σ|x|
            const tol = (dtype === 'float32' ? 2 ** -24 * Math.abs(e) : 0) + x.length * 2 ** -52 * absSum;
            if (!(Math.abs(out[i] - e) <= tol || (Number.isNaN(out[i]) && Number.isNaN(e)))) expect.fail(`${label}: [${i}] got ${out[i]}, expected ${e}`);
          } else if (!Object.is(out[i], e)) expect.fail(`${label}: [${i}] got ${out[i]}, expected ${e}`);
        }
      }
    }
  });

  it('reducing an empty axis gives the identity (0, −∞, +∞)', () => {
    for (const [op, v] of [['sum', 0], ['max', -Infinity], ['min', Infinity]] as const) {
      const out = new Float64Array(3).fill(5);
      jsKernels.reduce(op, new Float64Array(0), [0, 3], [0], out);
      expect(Array.from(out)).toEqual([v, v, v]);
    }
  });
});

describe('js argmax kernel', () => {
  it('gives the first maximum of each row; NaN counts as the maximum', () => {
    const x = new Float64Array([1, 3, 3, 0, /**/ -1, -2, -3, -4, /**/ 0, NaN, 5, NaN, /**/ 2, 2, 2, 2]);
    const out = new Float64Array(4);
    jsKernels.argmax(x, 4, 4, out);
    expect(Array.from(out)).toEqual([1, 0, 1, 0]);
    const rng = new Rng(32), R = 20, C = 13;
    const y = new Float32Array(R * C).map(() => rng.normal()), o = new Float32Array(R);
    jsKernels.argmax(y, R, C, o);
    for (let r = 0; r < R; r++) {
      const row = Array.from(y.subarray(r * C, (r + 1) * C));
      expect(o[r]).toBe(row.indexOf(Math.max(...row)));
    }
  });
});
