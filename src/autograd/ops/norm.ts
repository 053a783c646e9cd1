import type { FloatArray, NormLayout } from '../../kernels/types.js';
import { statCount } from '../../kernels/types.js';
import type { Arr, OpDef } from '../types.js';
import { alloc, k } from './util.js';

/**
 * The one fused normalization op behind BatchNorm, LayerNorm, GroupNorm and InstanceNorm.
 * Inputs: x, γ (or null), β (or null). The layout says how x is grouped (see NormLayout).
 *
 * - Batch statistics (`stats` absent): μ, σ² of each group (biased), y = (x − μ)/√(σ² + ε)·γ + β.
 *   When `statsOut` is given the batch mean and biased variance are written into it (for running
 *   statistics), so no second pass is needed.
 * - Given statistics (`stats` present, e.g. BN in eval mode): the same formula with those μ, σ²; the
 *   statistics are constants, so the backward is the plain affine one.
 */
export interface NormAttrs {
  readonly layout: NormLayout;
  readonly eps: number;
  readonly stats?: { readonly mean: FloatArray; readonly variance: FloatArray };
  readonly statsOut?: { readonly mean: FloatArray; readonly variance: FloatArray };
}

interface Saved { mean: FloatArray; invstd: FloatArray }

export const norm: OpDef<NormAttrs> = {
  forward: ([x, gamma, beta], { layout, eps, stats, statsOut }) => {
    const G = statCount(layout);
    const mean = alloc(x!.dtype, [G]).data, invstd = alloc(x!.dtype, [G]).data;
    if (stats) { k().copy(stats.mean, mean); k().copy(stats.variance, invstd); }
    else k().normStats(x!.data, layout, mean, invstd);
    if (statsOut) { k().copy(mean, statsOut.mean); k().copy(invstd, statsOut.variance); }
    // invstd = 1/√(σ² + ε), in place over the variance
    k().binaryScalar('add', invstd, eps, invstd, false);
    k().unary('sqrt', invstd, invstd);
    k().unary('reciprocal', invstd, invstd);
    const out = alloc(x!.dtype, x!.shape);
    k().normApply(x!.data, layout, mean, invstd, gamma?.data ?? null, beta?.data ?? null, out.data);
    const saved: Saved = { mean, invstd };
    return { out, saved };
  },
  // batch stats: dx = γ·invstd/m·(m·g − Σg − x̂·Σ(g·x̂)); given stats: dx = g·γ·invstd; dγ = Σ g·x̂, dβ = Σ g
  backward: ({ inputs: [x, gamma, beta], saved, attrs, needs }, g) => {
    const { mean, invstd } = saved as Saved;
    const L = attrs.layout;
    const dx = needs[0] ? alloc(x!.dtype, x!.shape) : null;
    const dgamma = needs[1] ? alloc(gamma!.dtype, gamma!.shape) : null;
    const dbeta = needs[2] ? alloc(beta!.dtype, beta!.shape) : null;
    if (attrs.stats) {
      if (dgamma || dbeta) k().normBackward(x!.data, g.data, L, mean, invstd, gamma?.data ?? null, null, dgamma?.data ?? null, dbeta?.data ?? null);
      if (dx) k().normApply(g.data, L, alloc(x!.dtype, [statCount(L)]).data, invstd, gamma?.data ?? null, null, dx.data);
    } else {
      k().normBackward(x!.data, g.data, L, mean, invstd, gamma?.data ?? null, dx?.data ?? null, dgamma?.data ?? null, dbeta?.data ?? null);
    }
    return [dx, dgamma, dbeta];
  },
};
