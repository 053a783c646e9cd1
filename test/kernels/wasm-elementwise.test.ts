import { describe, expect, it } from 'vitest';
import type { BinaryOp, Shape, UnaryOp } from '../../src/kernels/types.js';
import { broadcastShapes, sizeOf } from '../../src/kernels/types.js';
import { opCodes } from '../../src/kernels/wasm/kernels.js';
import { U, expectSame, expectWithin, normals, rng, setup, ulps, wasm32 } from './wasm-helpers.js';

/*
 * Elementwise wasm kernels against the js twins. Single roundings (+ − × ÷, max, min, eq, neg, abs, sqrt,
 * square, reciprocal, relu, copies, broadcasts, transposes) must be bitwise equal, ±0 and NaN included; pow
 * (scalar Math.pow in float64 either way) within 1 ulp; exp/log/tanh/sigmoid (f32x4 polynomials) within 4 ulps
 * here (wasm-math.test.ts sweeps them); compound backward formulas within 4u relative.
 */

const { mem, kw, js } = setup();
// Every op (the wasm kernels' code tables, which the compiler checks are complete).
const binaryOps = Object.keys(opCodes.binary) as BinaryOp[];
const unaryOps = Object.keys(opCodes.unary) as UnaryOp[];

/** Values with specials sprinkled in: NaN, ±0, ±Inf, ties. */
function values(seed: number, n: number, specials = true): number[] {
  const r = rng(seed), v = normals(r, n, 0, 3);
  if (specials && n > 8) { v[1] = NaN; v[3] = 0; v[4] = -0; v[5] = Infinity; v[6] = -Infinity; v[7] = v[0]; }
  return v;
}

describe('wasm binary', () => {
  const cases: [string, Shape, Shape][] = [
    ['same shape', [7, 13], [7, 13]],
    ['scalar b', [7, 13], [1]],
    ['scalar a', [], [5, 3]],
    ['row [R,C]∘[C]', [9, 13], [13]],
    ['row [C]∘[R,C]', [13], [9, 13]],
    ['column [R,C]∘[R,1]', [9, 13], [9, 1]],
    ['outer [R,1]∘[1,C]', [9, 1], [1, 13]],
    ['leading ones [1,9,13]∘[9,13]', [1, 9, 13], [9, 13]],
    ['[N,C,H,W]∘[1,C,1,1] (js fallback)', [2, 3, 4, 5], [1, 3, 1, 1]],
  ];
  for (const [label, as, bs] of cases) for (const op of binaryOps) {
    it(`${label} ${op}`, () => {
      const os = broadcastShapes(as, bs)!;
      const a = wasm32(mem, values(1, sizeOf(as)), true);
      // b: ties with a every 5th element, and specials against a's ordinary values, NaN and opposite zeros.
      const bv = values(2, sizeOf(bs), false).map((x, i) => (i % 5 === 0 ? a[i % a.length] : x));
      if (bv.length > 8) { bv[1] = 1; bv[2] = NaN; bv[3] = -0; bv[4] = 0; bv[8] = Infinity; }
      const b = wasm32(mem, bv);
      const out = wasm32(mem, new Array(sizeOf(os)).fill(0), true), jo = new Float32Array(sizeOf(os));
      kw.binary(op, a, as, b, bs, out, os);
      js.binary(op, a, as, b, bs, jo, os);
      if (op === 'pow') for (let i = 0; i < jo.length; i++) expect(ulps(out[i], jo[i]), `pow ${i}: ${out[i]} vs ${jo[i]}`).toBeLessThanOrEqual(1);
      else expectSame(out, jo, op);
    });
  }
});

describe('wasm binaryScalar', () => {
  for (const op of binaryOps) for (const s of [2, 0.1, -1e-5, 0, NaN, Infinity]) for (const first of [false, true]) {
    it(`${op} ${s} scalarFirst ${first}`, () => {
      const v = values(3, 23);
      if (op === 'eq') v[9] = Math.fround(s);
      const a = wasm32(mem, v, true), out = wasm32(mem, new Array(23).fill(0)), jo = new Float32Array(23);
      kw.binaryScalar(op, a, s, out, first);
      js.binaryScalar(op, a, s, jo, first);
      if (op === 'pow') for (let i = 0; i < 23; i++) expect(ulps(out[i], jo[i]), `pow ${i}`).toBeLessThanOrEqual(1);
      else expectSame(out, jo, op);
    });
  }
  it('in place', () => {
    const a = wasm32(mem, values(4, 17)), ja = Float32Array.from(a);
    kw.binaryScalar('mul', a, 0.9, a, false);
    js.binaryScalar('mul', ja, 0.9, ja, false);
    expectSame(a, ja, 'in place');
  });
});

describe('wasm unary', () => {
  for (const op of unaryOps) for (const n of [1, 3, 4, 37]) {
    it(`${op} n=${n}`, () => {
      const x = wasm32(mem, values(5, n).map((v) => (op === 'log' || op === 'sqrt' ? Math.abs(v) : v)), n % 2 === 1);
      const out = wasm32(mem, new Array(n).fill(0)), jo = new Float32Array(n);
      kw.unary(op, x, out);
      js.unary(op, x, jo);
      const tol = ['exp', 'log', 'tanh', 'sigmoid'].includes(op) ? 4 : 0;
      for (let i = 0; i < n; i++) {
        const d = ulps(out[i], jo[i]);
        if (d > tol) expect.fail(`${op}(${x[i]}): got ${out[i]}, js ${jo[i]} (${d} ulps > ${tol})`);
      }
    });
  }
});

describe('wasm unaryBackward', () => {
  for (const op of unaryOps) {
    it(op, () => {
      const n = 39;
      const xv = values(6, n).map((v) => (op === 'log' || op === 'sqrt' ? Math.abs(v) + 0.1 : v));
      const x = wasm32(mem, xv, true), y = new Float32Array(n);
      js.unary(op, x, y);
      const yw = wasm32(mem, y), dy = wasm32(mem, normals(rng(7), n), true);
      const out = wasm32(mem, new Array(n).fill(0)), jo = new Float32Array(n);
      kw.unaryBackward(op, x, yw, dy, out);
      js.unaryBackward(op, x, yw, dy, jo);
      expectWithin(out, jo, (i) => 4 * U * Math.abs(jo[i]), op);
    });
  }
  it('tanh backward of saturated units stays accurate ((1 − y)(1 + y), not 1 − y²)', () => {
    const y = wasm32(mem, [0.99999, -0.9999, 0.999999, 0.5]), dy = wasm32(mem, [1, 1, 1, 1]);
    const out = wasm32(mem, [0, 0, 0, 0]), jo = new Float32Array(4);
    kw.unaryBackward('tanh', y, y, dy, out);
    js.unaryBackward('tanh', y, y, dy, jo);
    expectWithin(out, jo, (i) => 4 * U * Math.abs(jo[i]), 'tanh saturated');
  });
});

describe('wasm broadcastTo, permute, copy, fill', () => {
  const bcases: [Shape, Shape][] = [[[13], [9, 13]], [[9, 1], [9, 13]], [[1], [4, 5]], [[], [3]], [[2, 1, 3], [2, 4, 3]], [[9, 13], [9, 13]]];
  for (const [s, os] of bcases) {
    it(`broadcastTo [${s}] → [${os}]`, () => {
      const x = wasm32(mem, values(8, sizeOf(s)), true), out = wasm32(mem, new Array(sizeOf(os)).fill(0)), jo = new Float32Array(sizeOf(os));
      kw.broadcastTo(x, s, out, os);
      js.broadcastTo(x, s, jo, os);
      expectSame(out, jo, 'broadcast');
    });
  }
  const pcases: [Shape, number[]][] = [
    [[37, 45], [1, 0]], [[3, 17, 22], [0, 2, 1]], [[5, 6, 7], [2, 0, 1]], [[4, 1, 9], [2, 1, 0]], [[2, 3, 4], [1, 0, 2]], [[6, 5], [0, 1]], [[64, 64], [1, 0]],
  ];
  for (const [s, perm] of pcases) {
    it(`permute [${s}] by [${perm}]`, () => {
      const x = wasm32(mem, values(9, sizeOf(s)), true), out = wasm32(mem, new Array(sizeOf(s)).fill(0)), jo = new Float32Array(sizeOf(s));
      kw.permute(x, s, perm, out);
      js.permute(x, s, perm, jo);
      expectSame(out, jo, 'permute');
    });
  }
  it('copy float32 ↔ float64 in wasm memory and across heaps; fill', () => {
    const v = values(10, 21);
    const a = wasm32(mem, v, true), d = mem.alloc('float64', 21) as Float64Array;
    kw.copy(a, d);
    expectSame(d, Float64Array.from(a), 'f32 → f64');
    const b = wasm32(mem, new Array(21).fill(0));
    kw.copy(d, b);
    expectSame(b, a, 'f64 → f32');
    const h = new Float32Array(21);
    kw.copy(a, h);
    expectSame(h, a, 'to the JS heap');
    kw.fill(b, 0.1);
    expectSame(b, new Float32Array(21).fill(0.1), 'fill');
    const h64 = new Float64Array(5);
    kw.fill(h64, 0.1);
    expectSame(h64, new Float64Array(5).fill(0.1), 'fill float64');
  });
});
