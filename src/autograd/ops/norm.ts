import type { FloatArray, NormLayout } from '../../kernels/types.js';
import { statCount } from '../../kernels/layout.js';
import { owned, type Arr, type OpDef, type Owned } from '../types.js';
import { alloc, k } from './util.js';

/**
 * The one fused normalization op behind BatchNorm, LayerNorm, GroupNorm and InstanceNorm.
 * Inputs: x, γ (or null), β (or null). The layout says how x is grouped (see NormLayout).
 *
 * - Batch statistics (`stats` absent): μ, σ² of each group (biased), y = (x − μ)/√(σ² + ε)·γ + β.
 *   With `wantStats` the batch mean and biased variance come back as `aux` (for running statistics), so
 *   no second pass is needed.
 * - Given statistics (`stats` present, e.g. BN in eval mode): the same formula with those μ, σ²; the
 *   statistics are constants, so the backward is the plain affine one.
 * - Batch Renormalization (`renorm`, Ioffe 2017, https://arxiv.org/abs/1702.03275; batch statistics, one
 *   statistic per channel): y = ((x − μ_B)/σ_B · r + d)·γ + β with r = clip(σ_B/σ, 1/rMax, rMax) and
 *   d = clip((μ_B − μ)/σ, −dMax, dMax) from the running μ, σ = √(running var + ε); r and d are constants
 *   for the gradient.
 */
export interface NormAttrs {
  readonly layout: NormLayout;
  readonly eps: number;
  /** Given statistics (host copies, one per statistics group): normalize with them instead of the batch's. */
  readonly stats?: { readonly mean: Float64Array; readonly variance: Float64Array };
  /** Return the batch mean and biased variance as `aux` { mean, variance } (for running statistics). */
  readonly wantStats?: boolean;
  /** Batch Renormalization: host copies of the running statistics it corrects toward, and its limits. */
  readonly renorm?: { readonly runningMean: Float64Array; readonly runningVar: Float64Array; readonly rMax: number; readonly dMax: number };
}

/** What the forward keeps for backward: μ and 1/√(σ² + ε) per group (the tape frees them), renorm's factors. */
interface Saved { mean: Owned; invstd: Owned; renorm?: { r: Float64Array; d: Float64Array; gamma: Float64Array } }

/** r, d of Batch Renormalization per channel, and the effective affine γ·r, β + γ·d. */
function renormFactors(mean: FloatArray, invstd: FloatArray, gamma: FloatArray | null, beta: FloatArray | null, eps: number,
  { runningMean, runningVar, rMax, dMax }: NonNullable<NormAttrs['renorm']>) {
  const C = mean.length;
  const r = new Float64Array(C), d = new Float64Array(C), g = new Float64Array(C), b = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const sr = Math.sqrt(runningVar[c] + eps);
    r[c] = Math.min(rMax, Math.max(1 / rMax, 1 / invstd[c] / sr));
    d[c] = Math.min(dMax, Math.max(-dMax, (mean[c] - runningMean[c]) / sr));
    const gm = gamma ? gamma[c] : 1;
    g[c] = gm * r[c];
    b[c] = (beta ? beta[c] : 0) + gm * d[c];
  }
  return { r, d, gamma: g, beta: b };
}

export const norm: OpDef<NormAttrs, Saved> = {
  forward: ([x, gamma, beta], { layout, eps, stats, wantStats, renorm }) => {
    const G = statCount(layout);
    // μ and 1/√(σ² + ε) stay float64 for float32 inputs too (PyTorch accumulates in double): rounding them
    // to float32 costs several ulps in y and the gradients (test/nn/batchnorm.pytorch.test.ts measures it).
    const mean = owned(alloc('float64', [G], false)), invstd = owned(alloc('float64', [G], false));
    if (stats) { k().copy(stats.mean, mean.data); k().copy(stats.variance, invstd.data); }
    else k().normStats(x!.data, layout, mean.data, invstd.data);
    let aux: { mean: Arr; variance: Arr } | undefined;
    if (wantStats) {
      aux = { mean: alloc('float64', [G], false), variance: alloc('float64', [G], false) };
      k().copy(mean.data, aux.mean.data);
      k().copy(invstd.data, aux.variance.data);
    }
    // invstd = 1/√(σ² + ε), in place over the variance
    const iv = invstd.data;
    k().binaryScalar('add', iv, eps, iv, false);
    k().unary('sqrt', iv, iv);
    k().unary('reciprocal', iv, iv);
    const out = alloc(x!.dtype, x!.shape, false); // every kernel path writes all of y, dx, dγ, dβ
    const saved: Saved = { mean, invstd };
    if (renorm && !stats) {
      const f = renormFactors(mean.storage.peek(), invstd.storage.peek(), gamma ? gamma.storage.peek() : null, beta ? beta.storage.peek() : null, eps, renorm);
      saved.renorm = f;
      k().normApply(x!.data, layout, mean.data, invstd.data, f.gamma, f.beta, out.data);
    } else k().normApply(x!.data, layout, mean.data, invstd.data, gamma?.data ?? null, beta?.data ?? null, out.data);
    return { out, saved, aux };
  },
  // batch stats: dx = γ·invstd/m·(m·g − Σg − x̂·Σ(g·x̂)); given stats: dx = g·γ·invstd; dγ = Σ g·x̂, dβ = Σ g;
  // renorm: γ → γ·r in dx, dγ = r·Σ g·x̂ + d·Σ g
  backward: ({ inputs: [x, gamma, beta], saved: { mean, invstd, renorm }, attrs, needs }, g) => {
    const L = attrs.layout;
    const dx = needs[0] ? alloc(x!.dtype, x!.shape, false) : null;
    const dgamma = needs[1] ? alloc(gamma!.dtype, gamma!.shape, false) : null;
    const dbeta = needs[2] ? alloc(beta!.dtype, beta!.shape, false) : null;
    if (attrs.stats) {
      if (dgamma || dbeta) k().normBackward(x!.data, g.data, L, mean.data, invstd.data, gamma?.data ?? null, null, dgamma?.data ?? null, dbeta?.data ?? null);
      if (dx) k().normApply(g.data, L, alloc(x!.dtype, [statCount(L)]).data, invstd.data, gamma?.data ?? null, null, dx.data);
    } else if (renorm) {
      const C = L.C, dg = new Float64Array(C), db = new Float64Array(C);
      k().normBackward(x!.data, g.data, L, mean.data, invstd.data, renorm.gamma, dx?.data ?? null, dg, db);
      if (dgamma) {
        const out = dgamma.data;
        for (let c = 0; c < C; c++) out[c] = renorm.r[c] * dg[c] + renorm.d[c] * db[c];
      }
      if (dbeta) k().copy(db, dbeta.data);
    } else {
      k().normBackward(x!.data, g.data, L, mean.data, invstd.data, gamma?.data ?? null, dx?.data ?? null, dgamma?.data ?? null, dbeta?.data ?? null);
    }
    return [dx, dgamma, dbeta];
  },
};
