import { describe, expect, it } from 'vitest';
import { U, expectSame, expectWithin, normals, rng, setup, wasm32 } from './wasm-helpers.js';

/*
 * The wasm matmul against an exact float64 product, for all four transpose variants, edge tiles (M, N not
 * multiples of 4, 8), K across the 256 block, N across the 2048 block, M across the 128 block, accumulate,
 * unaligned views and NaN/Inf propagation. Two paths:
 * - f32 (K ≥ 16 and M·N·K > 32768): 4×8 register tiles summing chunks of 8 (K ≥ 48: 16) products, each chunk
 *   added into C. Rigorous bound |C − C_exact| ≤ (kb + ⌈K/kb⌉ + 1)·u·Σ_k|a_ik·b_kj|; and the summed error over
 *   the matrix must not exceed that of a sequential float32 dot product with FMA (one rounding per step, what
 *   BLAS computes, PyTorch's reference) on the same data, nor that of a plain float32 dot product.
 * - f64 (small K or small problems): float64 accumulation, so every element is the exact result rounded once
 *   (within half an ulp, as the js kernel).
 */

const { mem, kw, js } = setup();

/** Spacing of float32 numbers at |v|. */
const ulp32 = (v: number) => 2 ** (Math.max(Math.floor(Math.log2(Math.abs(v) || 2 ** -149)), -126) - 23);

/** Exact (float64) product, Σ|products|, and the plain float32 and FMA float32 sequential dot products. */
function exact(a: ArrayLike<number>, b: ArrayLike<number>, M: number, K: number, N: number, ta: boolean, tb: boolean) {
  const c = new Float64Array(M * N), mag = new Float64Array(M * N), naive = new Float64Array(M * N), fma = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0, m = 0, f = 0, g = 0;
    for (let k = 0; k < K; k++) {
      const p = a[ta ? k * M + i : i * K + k] * b[tb ? j * K + k : k * N + j]; // exact: 24 + 24 bits
      s += p; m += Math.abs(p); f = Math.fround(f + Math.fround(p)); g = Math.fround(g + p);
    }
    c[i * N + j] = s; mag[i * N + j] = m; naive[i * N + j] = f; fma[i * N + j] = g;
  }
  return { c, mag, naive, fma };
}

const f32Path = (M: number, K: number, N: number) => K >= 16 && M * N * K > 32768;
const sumErr = (v: ArrayLike<number>, e: Float64Array) => { let t = 0; for (let i = 0; i < e.length; i++) t += Math.abs(v[i] - e[i]); return t; };

const shapes: [number, number, number][] = [
  [60, 784, 100], [100, 60, 784], [7, 13, 9], [1, 1, 1], [3, 5, 2], [130, 300, 21], [5, 9, 2053], [4, 8, 8], [33, 257, 17],
  [64, 12, 64], [64, 16, 64], [40, 24, 50], [16, 100, 16], [9, 40, 300], [30, 48, 60],
];

describe('wasm matmul', () => {
  for (const [M, K, N] of shapes) for (const ta of [false, true]) for (const tb of [false, true]) {
    it(`${M}×${K}×${N} transA ${ta} transB ${tb}`, () => {
      const r = rng(M * 1000 + K * 10 + N);
      const av = normals(r, M * K), bv = normals(r, K * N);
      const a = wasm32(mem, av, true), b = wasm32(mem, bv, (M + N) % 2 === 0);
      const c = wasm32(mem, new Array(M * N).fill(0), true);
      kw.matmul(a, b, c, M, K, N, ta, tb, false);
      const e = exact(a, b, M, K, N, ta, tb);
      if (f32Path(M, K, N)) {
        const kb = K >= 48 ? 16 : 8;
        const gamma = (kb + Math.ceil(K / kb) + 1) * U;
        expectWithin(c, e.c, (i) => gamma * e.mag[i], 'C vs exact');
        const errW = sumErr(c, e.c), errN = sumErr(e.naive, e.c), errF = sumErr(e.fma, e.c);
        expect(errW, `wasm error ${errW} vs sequential FMA dot ${errF}`).toBeLessThanOrEqual(errF);
        expect(errW, `wasm error ${errW} vs plain f32 dot ${errN}`).toBeLessThanOrEqual(errN);
      } else {
        expectWithin(c, e.c, (i) => 0.5 * ulp32(e.c[i]) + 1e-45, 'C rounded once');
      }
      // And within float32 tolerance of the js kernel (which accumulates in float64).
      const jc = new Float32Array(M * N);
      js.matmul(a, b, jc, M, K, N, ta, tb, false);
      expectWithin(c, jc, (i) => (K + 2) * U * e.mag[i] + U * Math.abs(jc[i]), 'C vs js');
    });
  }

  it('accumulate adds to C; K = 0 gives zeros (or keeps C when accumulating)', () => {
    const [M, K, N] = [6, 300, 11];
    const r = rng(3);
    const a = wasm32(mem, normals(r, M * K)), b = wasm32(mem, normals(r, K * N));
    const c0 = normals(r, M * N);
    const c = wasm32(mem, c0), jc = Float32Array.from(c0);
    kw.matmul(a, b, c, M, K, N, false, true, true);
    js.matmul(a, b, jc, M, K, N, false, true, true);
    const e = exact(a, b, M, K, N, false, true);
    expectWithin(c, jc, (i) => 20 * U * e.mag[i] + 2 * U * Math.abs(jc[i]), 'accumulate');
    const z = wasm32(mem, new Array(M * N).fill(5));
    kw.matmul(a, b, z, M, 0, N, false, false, false);
    expectSame(z, new Float32Array(M * N), 'K = 0');
    const keep = wasm32(mem, new Array(M * N).fill(5));
    kw.matmul(a, b, keep, M, 0, N, false, false, true);
    expectSame(keep, new Float32Array(M * N).fill(5), 'K = 0, accumulate');
  });

  it('propagates NaN and Inf into exactly the affected rows and columns', () => {
    const [M, K, N] = [9, 20, 13];
    const r = rng(4);
    const av = normals(r, M * K), bv = normals(r, K * N);
    av[2 * K + 5] = NaN; // row 2 of A
    bv[7 * N + 11] = Infinity; // column 11 of B
    const a = wasm32(mem, av), b = wasm32(mem, bv), c = wasm32(mem, new Array(M * N).fill(0)), jc = new Float32Array(M * N);
    kw.matmul(a, b, c, M, K, N, false, false, false);
    js.matmul(a, b, jc, M, K, N, false, false, false);
    for (let i = 0; i < M * N; i++) {
      expect(Number.isNaN(c[i]), `NaN at ${i}`).toBe(Number.isNaN(jc[i]));
      if (!Number.isFinite(jc[i])) expect(c[i]).toBe(jc[i]);
    }
  });

  it('subarray views of a batch (the matmul op slices batches) and JS-heap operands', () => {
    const [B, M, K, N] = [3, 5, 7, 6];
    const r = rng(8);
    const a = wasm32(mem, normals(r, B * M * K)), b = Float32Array.from(normals(r, B * K * N));
    const c = wasm32(mem, new Array(B * M * N).fill(0)), jc = new Float32Array(B * M * N);
    for (let i = 0; i < B; i++) {
      kw.matmul(a.subarray(i * M * K), b.subarray(i * K * N), c.subarray(i * M * N), M, K, N, false, false, false);
      js.matmul(a.subarray(i * M * K), b.subarray(i * K * N), jc.subarray(i * M * N), M, K, N, false, false, false);
    }
    expectWithin(c, jc, (i) => 1e-5 * (Math.abs(jc[i]) + 1), 'batched');
    const before = mem.stats().blocks;
    const ch = new Float32Array(M * N);
    kw.matmul(a, b, ch, M, K, N, true, false, false); // all staged but a
    expect(mem.stats().blocks).toBe(before);
    const jh = new Float32Array(M * N);
    js.matmul(a, b, jh, M, K, N, true, false, false);
    expectWithin(ch, jh, (i) => 1e-5 * (Math.abs(jh[i]) + 1), 'staged');
  });

  it('float64 operands fall back to the js kernel', () => {
    const a = Float64Array.from([1, 2, 3, 4]), b = Float64Array.from([5, 6, 7, 8]);
    const c = new Float64Array(4), jc = new Float64Array(4);
    kw.matmul(a, b, c, 2, 2, 2, false, false, false);
    js.matmul(a, b, jc, 2, 2, 2, false, false, false);
    expectSame(c, jc, 'float64');
  });
});
