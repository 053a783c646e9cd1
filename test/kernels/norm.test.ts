import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/index.js';
import { jsKernels } from '../../src/kernels/js/index.js';
import type { FloatArray, NormLayout } from '../../src/kernels/types.js';
import { naiveGroupNorm } from '../helpers/reference.js';

/*
 * normStats / normApply / normBackward of the js backend against the naive definition, for batch statistics
 * (groups = 0) and per-sample groups (groups = 1 … C: LayerNorm-like, GroupNorm, InstanceNorm). The kernels
 * take mean and invstd as inputs, so normApply and normBackward are fed the naive statistics: their errors
 * are summation order only, bounded by c·u·magnitude (Σ|terms|).
 */

const arr = (dtype: 'float32' | 'float64', v: ArrayLike<number>) => (dtype === 'float32' ? Float32Array.from(v) : Float64Array.from(v));

function divisors(C: number): number[] {
  return Array.from({ length: C }, (_, i) => i + 1).filter((g) => C % g === 0);
}

function expectWithin(got: ArrayLike<number>, ref: ArrayLike<number>, mag: ArrayLike<number>, tol: number, label: string): void {
  expect(got.length, label).toBe(ref.length);
  for (let i = 0; i < ref.length; i++)
    if (!(Math.abs(got[i] - ref[i]) <= tol * (mag[i] + Math.abs(ref[i])))) expect.fail(`${label}: [${i}] got ${got[i]}, expected ${ref[i]} (magnitude ${mag[i]})`);
}

describe('js normalization kernels', () => {
  it('match the naive definition on random layouts, groups = 0 and every divisor of C, both dtypes', () => {
    const rng = new Rng(51);
    for (let t = 0; t < 120; t++) {
      const N = 1 + rng.int(4), C = 1 + rng.int(6), S = 1 + rng.int(5);
      const groupsList = [0, ...divisors(C)];
      const groups = groupsList[rng.int(groupsList.length)];
      const m = groups === 0 ? N * S : (C / groups) * S;
      if (m < 2) continue;
      const dtype = t % 2 ? 'float32' : 'float64';
      const u = dtype === 'float32' ? 2 ** -24 : 2 ** -53;
      const tol = 64 * m * 2 ** -53 + 4 * u; // float64 accumulation over m terms, then one rounding to dtype
      const L: NormLayout = { N, C, S, groups };
      const off = 3 * rng.normal();
      const x = arr(dtype, Array.from({ length: N * C * S }, () => off + rng.normal() * (0.1 + rng.uniform())));
      const dy = arr(dtype, Array.from({ length: x.length }, () => rng.normal()));
      const affine = rng.uniform() < 0.7;
      const gamma = affine ? Array.from({ length: C }, () => 1 + rng.normal() * 0.5) : null;
      const beta = affine ? Array.from({ length: C }, () => rng.normal()) : null;
      const g32 = gamma && arr(dtype, gamma), b32 = beta && arr(dtype, beta);
      const ref = naiveGroupNorm(x, dy, N, C, S, groups, g32 && Array.from(g32), b32 && Array.from(b32), 1e-5);
      const G = ref.mean.length;
      const label = `${dtype} N=${N} C=${C} S=${S} groups=${groups} affine=${affine}`;

      // statistics, into float64 and into dtype arrays
      for (const statType of ['float64', dtype] as const) {
        const mean = arr(statType, new Array(G).fill(0)), variance = arr(statType, new Array(G).fill(0));
        jsKernels.normStats(x, L, mean, variance);
        const su = statType === 'float32' ? 2 ** -24 : 0;
        const groupAbs = ref.mean.map((_, k) => Math.abs(ref.mean[k]) + Math.sqrt(ref.variance[k]) * 4);
        expectWithin(mean, ref.mean, groupAbs, tol + su, `${label} mean (${statType})`);
        expectWithin(variance, ref.variance, ref.variance, tol * 4 + su, `${label} variance (${statType})`);
      }

      // normalize with the naive statistics
      const mean = Float64Array.from(ref.mean), invstd = Float64Array.from(ref.invstd);
      const y = arr(dtype, new Array(x.length).fill(0));
      jsKernels.normApply(x, L, mean, invstd, g32, b32, y);
      const grp = (i: number) => { const n = Math.floor(i / (C * S)), c = Math.floor(i / S) % C; return { c, k: groups === 0 ? c : n * groups + Math.floor(c / (C / groups)) }; };
      const yMag = Array.from(x, (v, i) => { const { c, k } = grp(i); return (Math.abs(v) + Math.abs(mean[k])) * invstd[k] * Math.abs(gamma ? g32![c] : 1) + Math.abs(beta ? b32![c] : 0); });
      expectWithin(y, ref.y, yMag, 4 * u, `${label} y`);

      // backward: every combination of requested outputs
      const dxMag = new Array<number>(x.length).fill(0), dgMag = new Array<number>(C).fill(0), dbMag = new Array<number>(C).fill(0);
      const sumG = new Array<number>(G).fill(0), sumGX = new Array<number>(G).fill(0);
      x.forEach((v, i) => {
        const { c, k } = grp(i), xh = (Math.abs(v) + Math.abs(mean[k])) * invstd[k], g = Math.abs(dy[i] * (gamma ? g32![c] : 1));
        dgMag[c] += Math.abs(dy[i]) * xh; dbMag[c] += Math.abs(dy[i]); sumG[k] += g; sumGX[k] += g * xh;
      });
      x.forEach((v, i) => {
        const { c, k } = grp(i), xh = (Math.abs(v) + Math.abs(mean[k])) * invstd[k];
        dxMag[i] = invstd[k] * (Math.abs(dy[i] * (gamma ? g32![c] : 1)) + sumG[k] / m + xh * sumGX[k] / m);
      });
      for (const want of [[true, true, true], [true, false, false], [false, true, true], [false, false, true]]) {
        const dx = want[0] ? arr(dtype, new Array(x.length).fill(9)) : null;
        const dg = want[1] ? arr(dtype, new Array(C).fill(9)) : null;
        const db = want[2] ? arr(dtype, new Array(C).fill(9)) : null;
        jsKernels.normBackward(x, dy, L, mean, invstd, g32 as FloatArray | null, dx, dg, db);
        if (dx) expectWithin(dx, ref.dx, dxMag, tol * 4 + 4 * u, `${label} dx`);
        if (dg) expectWithin(dg, ref.dgamma, dgMag, tol + 4 * u, `${label} dγ`);
        if (db) expectWithin(db, ref.dbeta, dbMag, tol + 4 * u, `${label} dβ`);
      }
    }
  });

  it('a constant group has variance exactly 0 (groups = 0 and > 0); data at 1e4 keep float32 precision', () => {
    // [N=3, C=2, S=2], channel 1 constant 0.1
    const x = new Float32Array([5, 2, 0.1, 0.1, -1, 3, 0.1, 0.1, 4, 0, 0.1, 0.1]);
    const mean = new Float64Array(2), variance = new Float64Array(2);
    jsKernels.normStats(x, { N: 3, C: 2, S: 2, groups: 0 }, mean, variance);
    expect(variance[1]).toBe(0);
    expect(mean[1]).toBe(Math.fround(0.1));
    expect(variance[0]).toBeGreaterThan(0);
    const gm = new Float64Array(2), gv = new Float64Array(2);
    jsKernels.normStats(new Float32Array([0.3, 0.3, 0.3, 0.3, 1, 2, 1e4, 1e4]), { N: 2, C: 2, S: 2, groups: 1 }, gm, gv);
    expect(gv[0]).toBe(0);
    expect(gm[0]).toBe(Math.fround(0.3));
    // far from zero: 1e4 + N(0, 1) stored in float32; the variance must match float64 on the same stored values
    const rng = new Rng(52);
    const far = Float32Array.from({ length: 1000 }, () => 1e4 + rng.normal());
    const fm = new Float64Array(1), fv = new Float64Array(1);
    jsKernels.normStats(far, { N: 1000, C: 1, S: 1, groups: 0 }, fm, fv);
    const mu = far.reduce((p, v) => p + v, 0) / far.length;
    const v = far.reduce((p, w) => p + (w - mu) ** 2, 0) / far.length;
    expect(Math.abs(fv[0] - v) / v).toBeLessThan(1e-12);
    expect(Math.abs(fm[0] - mu)).toBeLessThan(1e-10);
  });
});
