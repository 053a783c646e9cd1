import { describe, expect, it } from 'vitest';
import type { NormLayout } from '../../src/kernels/types.js';
import { ghostSize, statCount, statSize } from '../../src/kernels/types.js';
import { U, expectSame, expectWithin, normals, rng, setup, wasm32, wasm64 } from './wasm-helpers.js';

/*
 * The wasm normalization kernels (normStats, normApply, normBackward) against the js twins, on every layout
 * family (batch statistics with and without ghost batches, S = 1 features, GroupNorm, InstanceNorm, LayerNorm),
 * with run lengths that are not multiples of 4 and cross the kernels' 128-element blocks, unaligned views,
 * data offset by 1e4, constant channels (exact zero variance) and NaN.
 *
 * The statistics sum in float32 lanes over blocks merged in float64 (assembly/norm.ts, shiftedSums), which the
 * numerics contract allows (float32 results at least as close to PyTorch's float64 as PyTorch's own float32:
 * test/nn/*.pytorch.test.ts check it). Their bound, with u = 2⁻²⁴ the float32 unit roundoff and K the shift (the group's first
 * element): x − K rounds by ≤ u·|x − K| (exact near K), 8 terms per lane plus one lane merge add ≤ 8u·Σ|terms|,
 * the float64 merge of blocks is negligible; so Σ(x − K) is within 9u·Σ|x − K| and Σ(x − K)² within 11u·Σ(x − K)²,
 * and the variance (s2 − s1²/m)/m gains at most 2·mean|x − K|·9u·mean|x − K| ≤ 18u·mean (x − K)² from s1:
 *   mean:     9u · mean|x − K|          variance: 29u · mean (x − K)²
 * The other kernels compute in float64 like the js ones (exact x − μ, float64 sums, one rounding per float32
 * output), so their tolerances are float64-level:
 *   y:              bitwise equal (the same float64 operations)
 *   dx:             2u·|dx| + 2⁻⁴⁸ · invstd·(|γ·dy| + |Σg/m| + |x̂·Σg·x̂/m|)   (one float32 rounding apart)
 *   dγ, dβ:         2u·|dγ| + 2⁻⁴⁴ · Σ|dy·x̂|, 2u·|dβ| + 2⁻⁴⁴ · Σ|dy|
 * Staged calls with float32 statistics or float64 γ/β round those once more (stated where tested).
 */

const { mem, kw, js } = setup();

const layouts: NormLayout[] = [
  { N: 4, C: 3, S: 37, groups: 0 },
  { N: 6, C: 5, S: 19, groups: 0, ghost: 2 },
  { N: 2, C: 4, S: 300, groups: 0 },
  { N: 2, C: 2, S: 2, groups: 0 },
  { N: 9, C: 5, S: 1, groups: 0 },
  { N: 8, C: 7, S: 1, groups: 0, ghost: 4 },
  { N: 3, C: 6, S: 20, groups: 2 },
  { N: 3, C: 6, S: 21, groups: 6 },
  { N: 4, C: 37, S: 1, groups: 1 },
  { N: 3, C: 6, S: 1, groups: 3 },
  { N: 2, C: 3, S: 700, groups: 1 },
];

const name = (l: NormLayout) => `N${l.N} C${l.C} S${l.S} groups ${l.groups}${l.ghost ? ` ghost ${l.ghost}` : ''}`;

/** Group index of every element of x laid out as l. */
function groupIndex(l: NormLayout): Int32Array {
  const g = new Int32Array(l.N * l.C * l.S);
  const V = ghostSize(l);
  for (let n = 0; n < l.N; n++) for (let c = 0; c < l.C; c++) {
    const k = l.groups === 0 ? Math.floor(n / V) * l.C + c : n * l.groups + Math.floor(c / (l.C / l.groups));
    for (let s = 0; s < l.S; s++) g[(n * l.C + c) * l.S + s] = k;
  }
  return g;
}

type Variant = 'normal' | 'offset' | 'constant' | 'nan';

function data(l: NormLayout, variant: Variant, seed: number): number[] {
  const r = rng(seed), n = l.N * l.C * l.S;
  const x = normals(r, n, variant === 'offset' ? 1e4 : 0.5, variant === 'offset' ? 1 : 2);
  const gi = groupIndex(l);
  if (variant === 'constant') for (let i = 0; i < n; i++) if (gi[i] === 1 % statCount(l)) x[i] = 3.25;
  if (variant === 'nan') x[Math.floor(n / 2)] = NaN;
  return x;
}

describe('wasm normStats', () => {
  for (const l of layouts) for (const variant of ['normal', 'offset', 'constant', 'nan'] as Variant[]) {
    it(`${name(l)}, ${variant}`, () => {
      const G = statCount(l), gi = groupIndex(l);
      const x = wasm32(mem, data(l, variant, 7), true);
      const mean = wasm64(mem, new Array(G).fill(0)), vari = wasm64(mem, new Array(G).fill(0));
      kw.normStats(x, l, mean, vari);
      const jm = new Float64Array(G), jv = new Float64Array(G);
      js.normStats(x, l, jm, jv);
      // Magnitudes of the shifted terms per group.
      const K = new Float64Array(G).fill(NaN), m1 = new Float64Array(G), m2 = new Float64Array(G);
      for (let i = 0; i < x.length; i++) { if (Number.isNaN(K[gi[i]])) K[gi[i]] = x[i]; }
      for (let i = 0; i < x.length; i++) { const d = Math.abs(x[i] - K[gi[i]]); m1[gi[i]] += d; m2[gi[i]] += d * d; }
      const m = statSize(l);
      expectWithin(mean, jm, (k) => 9 * U * (m1[k] / m), 'mean');
      expectWithin(vari, jv, (k) => 29 * U * (m2[k] / m), 'variance');
      if (variant === 'constant') {
        expect(vari[1 % G]).toBe(0);
        expect(mean[1 % G]).toBe(3.25);
      }
      if (variant === 'nan') expect(Number.isNaN(mean[gi[Math.floor(x.length / 2)]])).toBe(true);
    });
  }
});

/** Stats, invstd, γ, β for a layout and data (js statistics, float64). */
function inputs(l: NormLayout, x: Float32Array, seed: number) {
  const G = statCount(l), r = rng(seed);
  const mean = new Float64Array(G), vari = new Float64Array(G);
  js.normStats(x, l, mean, vari);
  const invstd = vari.map((v) => 1 / Math.sqrt(v + 1e-5));
  const gamma = normals(r, l.C, 1, 0.5), beta = normals(r, l.C, 0, 1);
  return { mean, invstd, gamma, beta };
}

describe('wasm normApply', () => {
  for (const l of layouts) for (const variant of ['normal', 'offset', 'constant', 'nan'] as Variant[]) for (const affine of [true, false]) {
    it(`${name(l)}, ${variant}, affine ${affine}`, () => {
      const x = wasm32(mem, data(l, variant, 11), true);
      const s = inputs(l, x, 3), gi = groupIndex(l);
      const gamma = affine ? wasm32(mem, s.gamma, true) : null, beta = affine ? wasm32(mem, s.beta) : null;
      const mean = wasm64(mem, s.mean), invstd = wasm64(mem, s.invstd);
      const y = wasm32(mem, new Array(x.length).fill(0), true), jy = new Float32Array(x.length);
      kw.normApply(x, l, mean, invstd, gamma, beta, y);
      js.normApply(x, l, mean, invstd, gamma, beta, jy);
      expectSame(y, jy, 'y');
    });
  }
});

describe('wasm normBackward', () => {
  for (const l of layouts) for (const variant of ['normal', 'offset', 'constant', 'nan'] as Variant[]) for (const affine of [true, false]) {
    it(`${name(l)}, ${variant}, affine ${affine}`, () => {
      const n = l.N * l.C * l.S, G = statCount(l), m = statSize(l), gi = groupIndex(l);
      const x = wasm32(mem, data(l, variant, 13), true);
      const dy = wasm32(mem, normals(rng(5), n, 0.1, 1), true);
      const s = inputs(l, x, 4);
      const gamma = affine ? wasm32(mem, s.gamma) : null;
      const mean = wasm64(mem, s.mean), invstd = wasm64(mem, s.invstd);
      const dx = wasm32(mem, new Array(n).fill(0)), dg = wasm32(mem, new Array(l.C).fill(0)), db = wasm32(mem, new Array(l.C).fill(0), true);
      const jdx = new Float32Array(n), jdg = new Float32Array(l.C), jdb = new Float32Array(l.C);
      kw.normBackward(x, dy, l, mean, invstd, gamma, dx, dg, db);
      js.normBackward(x, dy, l, mean, invstd, gamma, jdx, jdg, jdb);
      // Magnitudes: per group Σg, Σg·x̂ (g = γ·dy); per channel Σ|dy·x̂|, Σ|dy|.
      const c = (i: number) => Math.floor(i / l.S) % l.C;
      const sg = new Float64Array(G), sgx = new Float64Array(G), ag = new Float64Array(l.C), ab = new Float64Array(l.C);
      const xh = (i: number) => (x[i] - mean[gi[i]]) * invstd[gi[i]];
      for (let i = 0; i < n; i++) {
        const gm = gamma ? gamma[c(i)] : 1;
        sg[gi[i]] += gm * dy[i]; sgx[gi[i]] += gm * dy[i] * xh(i);
        ag[c(i)] += Math.abs(dy[i] * xh(i)); ab[c(i)] += Math.abs(dy[i]);
      }
      expectWithin(dx, jdx, (i) => {
        const k = gi[i], gm = gamma ? gamma[c(i)] : 1;
        return 2 ** -48 * invstd[k] * (Math.abs(gm * dy[i]) + Math.abs(sg[k] / m) + Math.abs(xh(i) * sgx[k] / m)) + 2 * U * Math.abs(jdx[i]);
      }, 'dx');
      expectWithin(dg, jdg, (j) => 2 ** -44 * ag[j] + 2 * U * Math.abs(jdg[j]), 'dgamma');
      expectWithin(db, jdb, (j) => 2 ** -44 * ab[j] + 2 * U * Math.abs(jdb[j]), 'dbeta');
    });
  }

  it('writes only the requested outputs (dx null; dγ, dβ null)', () => {
    const l: NormLayout = { N: 4, C: 3, S: 37, groups: 0 };
    const n = 4 * 3 * 37;
    const x = wasm32(mem, data(l, 'normal', 1)), dy = wasm32(mem, normals(rng(2), n));
    const s = inputs(l, x, 5);
    const dg = wasm32(mem, [0, 0, 0]), jdg = new Float32Array(3);
    kw.normBackward(x, dy, l, s.mean, s.invstd, null, null, dg, null);
    js.normBackward(x, dy, l, s.mean, s.invstd, null, null, jdg, null);
    expectWithin(dg, jdg, (j) => 1e-5 * Math.abs(jdg[j]) + 1e-6, 'dgamma');
    const dx = wasm32(mem, new Array(n).fill(0)), jdx = new Float32Array(n);
    kw.normBackward(x, dy, l, s.mean, s.invstd, null, dx, null, null);
    js.normBackward(x, dy, l, s.mean, s.invstd, null, jdx, null, null);
    expectWithin(dx, jdx, (i) => 1e-5 * Math.abs(jdx[i]) + 1e-5, 'dx');
  });
});

describe('wasm norm kernels: staging and fallback', () => {
  const l: NormLayout = { N: 3, C: 4, S: 9, groups: 0 };
  const n = 3 * 4 * 9;
  const values = data(l, 'offset', 21);

  it('JS-heap arrays, float32 statistics and float64 γ/β/dγ/dβ are staged (converted) and give the js results', () => {
    const x = Float32Array.from(values), dy = Float32Array.from(normals(rng(9), n));
    const mean = new Float32Array(4), vari = new Float32Array(4), jm = new Float32Array(4), jv = new Float32Array(4);
    kw.normStats(x, l, mean, vari);
    js.normStats(x, l, jm, jv);
    expectWithin(mean, jm, (k) => 2 * U * Math.abs(jm[k]), 'float32 mean');
    expectWithin(vari, jv, (k) => 16 * U * Math.abs(jv[k]) + 1e-12, 'float32 variance');
    const invstd = Float64Array.from(jv, (v) => 1 / Math.sqrt(v + 1e-5));
    const gamma = Float64Array.from([0.5, 1.5, -1, 2]), beta = Float64Array.from([0, 1, 2, 3]);
    const y = new Float32Array(n), jy = new Float32Array(n);
    kw.normApply(x, l, mean, invstd, gamma, beta, y);
    js.normApply(x, l, mean, invstd, gamma, beta, jy);
    expectWithin(y, jy, (i) => 8 * U * (Math.abs(jy[i]) + 4), 'y');
    const dg = new Float64Array(4), db = new Float64Array(4), jdg = new Float64Array(4), jdb = new Float64Array(4);
    const dx = new Float32Array(n), jdx = new Float32Array(n);
    kw.normBackward(x, dy, l, mean, invstd, gamma, dx, dg, db);
    js.normBackward(x, dy, l, mean, invstd, gamma, jdx, jdg, jdb);
    expectWithin(dg, jdg, (j) => 1e-5 * (Math.abs(jdg[j]) + 1), 'float64 dgamma');
    expectWithin(db, jdb, (j) => 1e-5 * (Math.abs(jdb[j]) + 1), 'float64 dbeta');
    expectWithin(dx, jdx, (i) => 1e-5 * (Math.abs(jdx[i]) + 1), 'dx');
  });

  it('float64 data falls back to the js kernels (identical results)', () => {
    const x = Float64Array.from(values), G = 4;
    const mean = new Float64Array(G), vari = new Float64Array(G), jm = new Float64Array(G), jv = new Float64Array(G);
    kw.normStats(x, l, mean, vari);
    js.normStats(x, l, jm, jv);
    expectSame(mean, jm, 'mean');
    expectSame(vari, jv, 'variance');
  });
});
