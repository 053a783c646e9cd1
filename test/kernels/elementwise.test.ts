import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/index.js';
import { jsKernels } from '../../src/kernels/js/index.js';
import type { BinaryOp } from '../../src/kernels/types.js';
import { naiveBroadcast, naivePermute, size } from '../helpers/reference.js';

/*
 * Broadcast binary ops, broadcastTo and permute of the js backend against multi-index loops. The kernel
 * computes each element in float64 and stores it, so results are exact: fround(f(a, b)) for float32.
 */

const F: Record<BinaryOp, (x: number, y: number) => number> = {
  add: (x, y) => x + y, sub: (x, y) => x - y, mul: (x, y) => x * y, div: (x, y) => x / y,
  pow: (x, y) => Math.pow(x, y), max: Math.max, min: Math.min, eq: (x, y) => (x === y ? 1 : 0),
};

/** Two shapes that broadcast to a random output shape: leading axes dropped, some axes set to 1. */
function shapes(rng: Rng): [number[], number[]] {
  const out = Array.from({ length: rng.int(5) }, () => 1 + rng.int(4));
  const operand = () => out.slice(rng.int(out.length + 1)).map((d) => (rng.uniform() < 0.4 ? 1 : d));
  return [operand(), operand()];
}

function fill(rng: Rng, n: number, dtype: 'float32' | 'float64', positive = false) {
  const a = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = positive ? 0.1 + rng.uniform() * 2 : rng.int(3) === 0 ? rng.int(3) : rng.normal();
  return a;
}

const round = (v: number, dtype: string) => (dtype === 'float32' ? Math.fround(v) : v);

describe('js elementwise kernels', () => {
  it('binary ops broadcast like NumPy on random shapes (every op, both dtypes)', () => {
    const rng = new Rng(41);
    for (let t = 0; t < 150; t++) {
      const [as, bs] = shapes(rng);
      const dtype = t % 2 ? 'float32' : 'float64';
      for (const op of Object.keys(F) as BinaryOp[]) {
        const a = fill(rng, size(as), dtype, op === 'pow'), b = fill(rng, size(bs), dtype);
        const ref = naiveBroadcast(F[op], a, as, b, bs);
        const out = dtype === 'float32' ? new Float32Array(ref.out.length) : new Float64Array(ref.out.length);
        jsKernels.binary(op, a, as, b, bs, out, ref.shape);
        for (let i = 0; i < out.length; i++)
          if (!Object.is(out[i], round(ref.out[i], dtype))) expect.fail(`${op} ${dtype} [${as}] ∘ [${bs}] → [${ref.shape}]: [${i}] got ${out[i]}, expected ${ref.out[i]}`);
      }
    }
  });

  it('binaryScalar in both orders; max/min propagate NaN from either side', () => {
    const a = new Float64Array([1, -2, 4]);
    const out = new Float64Array(3);
    jsKernels.binaryScalar('sub', a, 10, out, false);
    expect(Array.from(out)).toEqual([-9, -12, -6]);
    jsKernels.binaryScalar('sub', a, 10, out, true);
    expect(Array.from(out)).toEqual([9, 12, 6]);
    jsKernels.binaryScalar('div', a, 2, out, true);
    expect(Array.from(out)).toEqual([2, -1, 0.5]);
    const n = new Float64Array([NaN, 1]), m = new Float64Array([0, NaN]), o = new Float64Array(2);
    for (const op of ['max', 'min'] as const) {
      jsKernels.binary(op, n, [2], m, [2], o, [2]);
      expect(Array.from(o)).toEqual([NaN, NaN]);
    }
  });

  it('broadcastTo and permute match the multi-index definitions', () => {
    const rng = new Rng(42);
    for (let t = 0; t < 100; t++) {
      const [xs] = shapes(rng);
      const target = xs.map((d) => (d === 1 && rng.uniform() < 0.5 ? 3 : d));
      const lead = Array.from({ length: rng.int(2) }, () => 1 + rng.int(3));
      const outShape = [...lead, ...target];
      const x = fill(rng, size(xs), 'float64');
      const ref = naiveBroadcast((_, v) => v, new Array(size(outShape)).fill(0), outShape, x, xs);
      const out = new Float64Array(ref.out.length);
      jsKernels.broadcastTo(x, xs, out, outShape);
      expect(Array.from(out), `broadcastTo [${xs}] → [${outShape}]`).toEqual(ref.out);

      const perm = outShape.map((_, i) => i);
      for (let i = perm.length - 1; i > 0; i--) { const j = rng.int(i + 1); [perm[i], perm[j]] = [perm[j], perm[i]]; }
      const pref = naivePermute(ref.out, outShape, perm);
      const pout = new Float32Array(pref.out.length);
      jsKernels.permute(Float32Array.from(ref.out), outShape, perm, pout);
      expect(Array.from(pout), `permute [${outShape}] by [${perm}]`).toEqual(pref.out.map(Math.fround));
    }
  });
});
