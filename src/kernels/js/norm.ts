import type { FloatArray, NormLayout } from '../types.js';
import { ghostSize, statCount, statSize } from '../layout.js';

/*
 * The normalization family's three kernels. A tensor is viewed as [N, C, S]; statistics are either per
 * channel over (N, S) (groups = 0: BatchNorm) or per (n, group) over a contiguous block of C/G channels
 * (groups = G: GroupNorm, InstanceNorm with G = C, LayerNorm with G = 1 on [N, D, 1]).
 */

/** Index of the statistics group of channel c in sample n. */
function groupOf(l: NormLayout, n: number, c: number): number {
  return l.groups === 0 ? Math.floor(n / ghostSize(l)) * l.C + c : n * l.groups + Math.floor(c / (l.C / l.groups));
}

export function normStats(x: FloatArray, l: NormLayout, mean: FloatArray, variance: FloatArray): void {
  const { N, C, S, groups } = l;
  const m = statSize(l);
  if (groups === 0) {
    const V = ghostSize(l);
    for (let n0 = 0; n0 < N; n0 += V) {
      for (let c = 0; c < C; c++) {
        // Shifted sums: K = the channel's first element; exact for constant channels, stable far from zero.
        const K = x[(n0 * C + c) * S];
        let s1 = 0, s2 = 0;
        for (let n = n0; n < n0 + V; n++) {
          const o = (n * C + c) * S;
          for (let s = 0; s < S; s++) { const d = x[o + s] - K; s1 += d; s2 += d * d; }
        }
        finish(mean, variance, (n0 / V) * C + c, K, s1, s2, m);
      }
    }
    return;
  }
  const G = statCount(l);
  for (let k = 0; k < G; k++) {
    const o = k * m, K = x[o];
    let s1 = 0, s2 = 0;
    for (let i = 0; i < m; i++) { const d = x[o + i] - K; s1 += d; s2 += d * d; }
    finish(mean, variance, k, K, s1, s2, m);
  }
}

function finish(mean: FloatArray, variance: FloatArray, k: number, K: number, s1: number, s2: number, m: number): void {
  const d = s1 / m;
  mean[k] = K + d;
  const v = (s2 - s1 * d) / m;
  variance[k] = v < 0 ? 0 : v; // NaN passes through (v < 0 is false for NaN)
}

export function normApply(x: FloatArray, l: NormLayout, mean: FloatArray, invstd: FloatArray,
  gamma: FloatArray | null, beta: FloatArray | null, y: FloatArray): void {
  const { N, C, S } = l;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const k = groupOf(l, n, c);
      const mu = mean[k], sc = invstd[k] * (gamma ? gamma[c] : 1), b = beta ? beta[c] : 0;
      const o = (n * C + c) * S;
      // (x − μ)·s + β rather than x·s + (β − μ·s): the subtraction first keeps precision far from zero.
      for (let s = 0; s < S; s++) y[o + s] = (x[o + s] - mu) * sc + b;
    }
  }
}

export function normBackward(x: FloatArray, dy: FloatArray, l: NormLayout, mean: FloatArray, invstd: FloatArray,
  gamma: FloatArray | null, dx: FloatArray | null, dgamma: FloatArray | null, dbeta: FloatArray | null): void {
  const { N, C, S } = l;
  const G = statCount(l), m = statSize(l);
  const sumG = new Float64Array(G), sumGX = new Float64Array(G);
  const dg = new Float64Array(C), db = new Float64Array(C);
  // Pass 1: per (n, c) sums of dy and dy·x̂; fold into per-channel dγ, dβ and per-group Σg, Σg·x̂.
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const k = groupOf(l, n, c), mu = mean[k], is = invstd[k];
      const o = (n * C + c) * S;
      let sdy = 0, sdyx = 0;
      for (let s = 0; s < S; s++) { const g = dy[o + s]; sdy += g; sdyx += g * (x[o + s] - mu); }
      sdyx *= is;
      db[c] += sdy; dg[c] += sdyx;
      const gm = gamma ? gamma[c] : 1;
      sumG[k] += gm * sdy; sumGX[k] += gm * sdyx;
    }
  }
  if (dgamma) dgamma.set(dg);
  if (dbeta) dbeta.set(db);
  if (!dx) return;
  // Pass 2: dx = invstd·(γ·dy − (Σg + x̂·Σg·x̂)/m).
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const k = groupOf(l, n, c), mu = mean[k], is = invstd[k];
      const gm = gamma ? gamma[c] : 1, a = sumG[k] / m, b = sumGX[k] / m;
      const o = (n * C + c) * S;
      for (let s = 0; s < S; s++) {
        const xh = (x[o + s] - mu) * is;
        dx[o + s] = is * (gm * dy[o + s] - a - xh * b);
      }
    }
  }
}
