import { describe, expect, it } from 'vitest';
import type { UnaryOp } from '../../src/kernels/types.js';
import { setup, ulps } from './wasm-helpers.js';

/*
 * Accuracy of the wasm kernels' f32x4 exp, log, tanh and sigmoid against Math.* in float64 rounded to float32
 * (what the js kernel stores), in float32 ulps, over dense grids, random bit patterns (every finite float,
 * subnormals, NaN and ±Inf) and the special values. Measured on 2M-point sweeps: exp, log, tanh ≤ 1 ulp,
 * sigmoid ≤ 2 ulps; the bounds below are those.
 */

const { mem, kw } = setup();
const sigmoid = (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
const refs: Record<string, [(v: number) => number, number, [number, number][]]> = {
  exp: [Math.exp, 1, [[-104, 89], [-1, 1]]],
  log: [Math.log, 1, [[1e-6, 10], [0.5, 2], [1e-44, 1e-37], [1, 3e38]]],
  tanh: [Math.tanh, 1, [[-10, 10], [-0.7, 0.7]]],
  sigmoid: [sigmoid, 2, [[-100, 100], [-5, 5]]],
};

function check(op: UnaryOp, x: Float32Array, ref: (v: number) => number, maxUlps: number): void {
  const y = mem.alloc('float32', x.length) as Float32Array;
  kw.unary(op, x, y);
  let worst = 0, at = 0;
  for (let i = 0; i < x.length; i++) {
    const d = ulps(y[i], Math.fround(ref(x[i])));
    if (d > worst) { worst = d; at = i; }
  }
  expect(worst, `${op}(${x[at]}) = ${y[at]}, reference ${Math.fround(ref(x[at]))}`).toBeLessThanOrEqual(maxUlps);
  mem.freeView(y);
}

describe('wasm exp, log, tanh, sigmoid accuracy', () => {
  for (const [op, [ref, maxUlps, ranges]] of Object.entries(refs)) {
    it(`${op}: grids, random bit patterns and specials within ${maxUlps} ulp`, () => {
      const n = 100_003;
      const x = mem.alloc('float32', n) as Float32Array;
      for (const [lo, hi] of ranges) {
        for (let i = 0; i < n; i++) x[i] = lo + ((hi - lo) * i) / (n - 1);
        check(op as UnaryOp, x, ref, maxUlps);
      }
      const bits = new Int32Array(x.buffer, x.byteOffset, n);
      let s = 12345;
      for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) | 0; bits[i] = s; }
      check(op as UnaryOp, x, ref, maxUlps);
      const specials = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 88.72, 88.73, -87.33, -103.9, -104.1, 1e-45, -1e-45, 3.4e38, 0.625, -0.625, 9, -9, 44.4];
      check(op as UnaryOp, Float32Array.from(specials), ref, maxUlps);
      mem.freeView(x);
    });
  }
});
