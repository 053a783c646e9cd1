import { describe, expect, it } from 'vitest';
import type { ReduceOp, Shape } from '../../src/kernels/types.js';
import { sizeOf } from '../../src/kernels/types.js';
import { opCodes } from '../../src/kernels/wasm/kernels.js';
import { U, expectSame, expectWithin, normals, rng, setup, wasm32 } from './wasm-helpers.js';

/*
 * Reductions, argmax, sumSquares, logSoftmax and softmax cross-entropy of the wasm backend against the js twins.
 * Sums accumulate in float64 in both (only the order differs): within 1 float32 rounding (2u relative, plus
 * 1e-12 of Σ|x| for cancellation). max/min are exact, NaN propagating. The loss kernels compute in float64 in
 * both (Math.exp/log of two runtimes): loss within 1e-12 relative, log-probabilities and gradients within one
 * float32 rounding.
 */

const { mem, kw, js } = setup();

describe('wasm reduce', () => {
  const cases: [string, Shape, number[]][] = [
    ['all', [7, 13], [0, 1]],
    ['last axis', [7, 13], [1]],
    ['first axis', [37, 9], [0]],
    ['middle block', [3, 5, 7, 6], [1, 2]],
    ['last of 3-D', [2, 3, 33], [2]],
    ['first two', [4, 5, 11], [0, 1]],
    ['first and last (js fallback)', [4, 5, 6], [0, 2]],
    ['size-1 axes only', [3, 1, 4], [1]],
    ['scalar', [], []],
  ];
  for (const [label, shape, axes] of cases) for (const op of Object.keys(opCodes.reduce) as ReduceOp[]) for (const nan of [false, true]) {
    it(`${label} [${shape}] over [${axes}] ${op}${nan ? ' with NaN' : ''}`, () => {
      const n = sizeOf(shape);
      const v = normals(rng(n + axes.length), n, 1e3, 5);
      if (nan && n > 10) v[10] = NaN;
      const x = wasm32(mem, v, true);
      const outShape = shape.filter((_, i) => !axes.includes(i));
      const out = wasm32(mem, new Array(sizeOf(outShape)).fill(0)), jo = new Float32Array(sizeOf(outShape));
      kw.reduce(op, x, shape, axes, out);
      js.reduce(op, x, shape, axes, jo);
      if (op === 'sum') expectWithin(out, jo, (i) => 2 * U * Math.abs(jo[i]) + 1e-12 * n * 1e3, 'sum');
      else expectSame(out, jo, op);
    });
  }
});

describe('wasm argmax, sumSquares', () => {
  it('argmax: first maximum, ties, NaN counts as the maximum', () => {
    const R = 6, C = 11;
    const v = normals(rng(1), R * C);
    v[1 * C + 3] = 9; v[1 * C + 7] = 9; // tie → 3
    v[2 * C + 4] = NaN; v[2 * C + 9] = NaN; // first NaN → 4
    v[3 * C + 0] = NaN;
    for (let c = 0; c < C; c++) v[4 * C + c] = -Infinity;
    const x = wasm32(mem, v, true), out = wasm32(mem, new Array(R).fill(0)), jo = new Float32Array(R);
    kw.argmax(x, R, C, out);
    js.argmax(x, R, C, jo);
    expectSame(out, jo, 'argmax');
    expect(Array.from(out.subarray(1, 4))).toEqual([3, 4, 0]);
  });
  it('sumSquares in float64', () => {
    for (const n of [1, 5, 37, 1000]) {
      const x = wasm32(mem, normals(rng(n), n, 100, 3), n % 2 === 0);
      expect(Math.abs(kw.sumSquares(x) - js.sumSquares(x))).toBeLessThanOrEqual(1e-13 * js.sumSquares(x));
    }
  });
});

describe('wasm logSoftmax, softmaxCrossEntropy', () => {
  for (const [R, C] of [[60, 10], [3, 1], [5, 1000], [2, 7]]) {
    it(`[${R}, ${C}]`, () => {
      const v = normals(rng(R * C), R * C, 0, 4);
      v[0] = 80; // a large logit: the max shift keeps it finite
      const x = wasm32(mem, v, true);
      const out = wasm32(mem, new Array(R * C).fill(0)), jo = new Float32Array(R * C);
      kw.logSoftmax(x, R, C, out);
      js.logSoftmax(x, R, C, jo);
      expectWithin(out, jo, (i) => 2 * U * Math.abs(jo[i]) + 1e-30, 'logSoftmax');
      const target = Int32Array.from({ length: R }, (_, i) => (i * 7) % C);
      const d = wasm32(mem, new Array(R * C).fill(0), true), jd = new Float32Array(R * C);
      const loss = kw.softmaxCrossEntropy(x, R, C, target, d, 0.5);
      const jloss = js.softmaxCrossEntropy(x, R, C, target, jd, 0.5);
      expect(Math.abs(loss - jloss)).toBeLessThanOrEqual(1e-12 * Math.abs(jloss) + 1e-15);
      expectWithin(d, jd, (i) => 2 * U * Math.abs(jd[i]) + 1e-30, 'dlogits');
      expect(kw.softmaxCrossEntropy(x, R, C, target, null, 1)).toBeCloseTo(jloss, 12);
    });
  }
  it('NaN logits propagate; out-of-range targets fall back to js (NaN loss)', () => {
    const x = wasm32(mem, [1, NaN, 3, 0.5, 0.25, 2]);
    const t = Int32Array.from([0, 1]);
    const d = wasm32(mem, [0, 0, 0, 0, 0, 0]), jd = new Float32Array(6);
    const loss = kw.softmaxCrossEntropy(x, 2, 3, t, d, 1), jloss = js.softmaxCrossEntropy(x, 2, 3, t, jd, 1);
    expect(Number.isNaN(loss)).toBe(Number.isNaN(jloss));
    expectWithin(d, jd, (i) => 2 * U * Math.abs(jd[i]), 'dlogits with NaN');
    const bad = Int32Array.from([0, 3]);
    expect(Number.isNaN(kw.softmaxCrossEntropy(x, 2, 3, bad, null, 1))).toBe(Number.isNaN(js.softmaxCrossEntropy(x, 2, 3, bad, null, 1)));
  });
});
