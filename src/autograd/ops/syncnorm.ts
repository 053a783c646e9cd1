import type { NormLayout } from '../../kernels/types.js';
import { owned, type Arr, type OpDef, type Owned } from '../types.js';
import { alloc, k } from './util.js';

/**
 * Synchronized batch normalization (SyncBatchNorm): y = (x − μ)·invstd·γ + β with μ, σ² the statistics of the
 * global batch (every rank's samples), which the module computes and merges before the op (they arrive as
 * attributes, so the forward is a pure function of inputs and attributes and may be recomputed). The backward
 * needs the global Σdy and Σdy·x̂: it computes the local sums, hands them to `reduce` (an all-reduce sum over
 * the ranks, in place), and then
 *   dx = γ·invstd·(dy − ΣG dy/M − x̂·ΣG(dy·x̂)/M)   (M: elements per channel over all ranks),
 * while dγ = Σ dy·x̂ and dβ = Σ dy stay local (their sum over the ranks is the global gradient; data-parallel
 * training averages them).
 */
export interface SyncNormAttrs {
  /** [N, C, S] layout of this rank's input (groups 0: statistics per channel). */
  readonly layout: NormLayout;
  readonly eps: number;
  /** Global batch mean and biased variance per channel. */
  readonly mean: Float64Array;
  readonly variance: Float64Array;
  /** Elements per channel over all ranks (M). */
  readonly count: number;
  /** All-reduce sum in place over the ranks (called once per backward with [Σdy (C), Σdy·x̂ (C)]). */
  readonly reduce: (sums: Float64Array) => void;
}

interface Saved { mean: Owned; invstd: Owned }

export const syncNorm: OpDef<SyncNormAttrs, Saved> = {
  forward: ([x, gamma, beta], { layout, eps, mean: mu, variance }) => {
    const C = layout.C;
    const mean = owned(alloc('float64', [C], false)), invstd = owned(alloc('float64', [C], false));
    k().copy(mu, mean.data);
    const iv = Float64Array.from(variance, (v) => 1 / Math.sqrt(v + eps));
    k().copy(iv, invstd.data);
    const out = alloc(x!.dtype, x!.shape, false);
    k().normApply(x!.data, layout, mean.data, invstd.data, gamma?.data ?? null, beta?.data ?? null, out.data);
    return { out, saved: { mean, invstd } };
  },
  // local: dγ = Σ dy·x̂, dβ = Σ dy; global: dx = γ·invstd·(dy − ΣG dy/M − x̂·ΣG(dy·x̂)/M)
  backward: ({ inputs: [x, gamma, beta], saved: { mean, invstd }, attrs: { layout: L, count: M, reduce }, needs }, g) => {
    const C = L.C;
    const sums = new Float64Array(2 * C);
    const sdy = sums.subarray(0, C), sdyx = sums.subarray(C);
    k().normBackward(x!.data, g.data, L, mean.data, invstd.data, null, null, sdyx, sdy);
    const dgamma = needs[1] ? alloc(gamma!.dtype, gamma!.shape, false) : null;
    const dbeta = needs[2] ? alloc(beta!.dtype, beta!.shape, false) : null;
    if (dgamma) k().copy(sdyx, dgamma.data);
    if (dbeta) k().copy(sdy, dbeta.data);
    // Every rank reduces, whether or not it needs dx: the collective must be called by all.
    reduce(sums);
    if (!needs[0]) return [null, dgamma, dbeta];
    const is = invstd.storage.peek(), gm = gamma ? gamma.storage.peek() : null;
    const a = new Float64Array(C), b = new Float64Array(C), c = new Float64Array(C), ones = new Float64Array(C).fill(1);
    for (let i = 0; i < C; i++) {
      a[i] = (gm ? gm[i] : 1) * is[i];
      b[i] = -a[i] * is[i] * sums[C + i] / M;
      c[i] = -a[i] * sums[i] / M;
    }
    // dx = a·dy + (b·(x − μ) + c), two normalize passes and one add
    const dx = alloc(x!.dtype, x!.shape, false), t = alloc(x!.dtype, x!.shape, false);
    k().normApply(g.data, L, new Float64Array(C), ones, a, null, dx.data);
    k().normApply(x!.data, L, mean.data, ones, b, c, t.data);
    k().binary('add', dx.data, dx.shape, t.data, t.shape, dx.data, dx.shape);
    t.storage.free();
    return [dx, dgamma, dbeta];
  },
};
