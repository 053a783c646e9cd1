/**
 * A deliberately naive float64 BatchNorm, written from DESIGN.md's Semantics and nothing else: nested loops,
 * two-pass statistics, plain arrays of numbers. It shares no code with src, so tests can hold normlab to it.
 *
 * Layout: x is [N, C, *] row-major; element (n, c, s) sits at ((n·C + c)·S + s), S = product of the trailing axes.
 *
 * Besides values it tracks magnitudes: for each result, the sum of the absolute values of the terms that make
 * it up (|x| + |μ| for x − μ, Σ|dy| for Σdy, ...). A rounding error is at most a small multiple of the unit
 * roundoff times that magnitude, so tests can use tolerance = c·u·magnitude even where terms cancel.
 */
export type RefRunningStats = 'ema' | 'cumulative' | 'none';

export interface RefOptions {
  eps: number;
  momentum: number;
  runningStats: RefRunningStats;
  unbiasedRunningVar: boolean;
  affine: boolean;
}

/** [N, C, S] of a batch-normalization input shape. */
export function refLayout(shape: readonly number[]): { N: number; C: number; S: number } {
  let S = 1;
  for (let i = 2; i < shape.length; i++) S *= shape[i];
  return { N: shape[0], C: shape[1], S };
}

/** Per-channel mean (refined once), then the biased variance Σ(x − μ)²/m in another pass; m = N·S. */
export function refStats(x: ArrayLike<number>, shape: readonly number[]): { mean: number[]; variance: number[]; absMean: number[]; m: number } {
  const { N, C, S } = refLayout(shape);
  const m = N * S;
  const mean: number[] = [], variance: number[] = [], absMean: number[] = [];
  for (let c = 0; c < C; c++) {
    let sum = 0, abs = 0;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) { sum += x[(n * C + c) * S + s]; abs += Math.abs(x[(n * C + c) * S + s]); }
    absMean.push(abs / m);
    let mu = sum / m;
    // One refinement pass (corrected two-pass): makes the mean of a constant channel exactly that constant.
    let r = 0;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) r += x[(n * C + c) * S + s] - mu;
    mu += r / m;
    let sq = 0;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) { const d = x[(n * C + c) * S + s] - mu; sq += d * d; }
    mean.push(mu);
    variance.push(sq / m);
  }
  return { mean, variance, absMean, m };
}

/** The module's behaviour, step by step: batch statistics in training, running ones in eval, the three running-stat policies. */
export class RefBatchNorm {
  gamma: number[];
  beta: number[];
  runningMean: number[] | null;
  runningVar: number[] | null;
  numBatchesTracked = 0;
  /** Magnitude of each running mean: the same moving average over the batches' Σ|x|/m. */
  runningMeanMag: number[] | null;
  /** Magnitude of each element of the last forward's output. */
  yMag: number[] = [];
  training = true;
  frozen = false;
  private saved: { x: number[]; shape: number[]; mean: number[]; meanMag: number[]; invstd: number[]; batch: boolean } | null = null;

  constructor(readonly C: number, readonly opts: RefOptions) {
    this.gamma = new Array<number>(C).fill(1);
    this.beta = new Array<number>(C).fill(0);
    const track = opts.runningStats !== 'none';
    this.runningMean = track ? new Array<number>(C).fill(0) : null;
    this.runningVar = track ? new Array<number>(C).fill(1) : null;
    this.runningMeanMag = track ? new Array<number>(C).fill(0) : null;
  }

  forward(x: ArrayLike<number>, shape: readonly number[]): number[] {
    const { N, C, S } = refLayout(shape);
    const { eps, momentum, runningStats, unbiasedRunningVar } = this.opts;
    const track = runningStats !== 'none';
    const useBatch = !track || (this.training && !this.frozen);
    let mean: number[], variance: number[], meanMag: number[];
    if (useBatch) {
      const st = refStats(x, shape);
      mean = st.mean;
      variance = st.variance;
      meanMag = st.absMean; // the mean's magnitude: Σ|x|/m
      if (track && this.training && !this.frozen) {
        this.numBatchesTracked += 1;
        // cumulative: the plain average of all batch statistics so far, i.e. momentum 1 − 1/n at the n-th batch
        const mom = runningStats === 'cumulative' ? 1 - 1 / this.numBatchesTracked : momentum;
        const corr = unbiasedRunningVar ? st.m / (st.m - 1) : 1;
        for (let c = 0; c < C; c++) {
          this.runningMean![c] = this.runningMean![c] * mom + mean[c] * (1 - mom);
          this.runningMeanMag![c] = this.runningMeanMag![c] * mom + st.absMean[c] * (1 - mom);
          this.runningVar![c] = this.runningVar![c] * mom + variance[c] * corr * (1 - mom);
        }
      }
    } else {
      mean = [...this.runningMean!];
      variance = [...this.runningVar!];
      meanMag = this.runningMeanMag!.map((v, c) => Math.max(v, Math.abs(mean[c])));
    }
    const invstd = variance.map((v) => 1 / Math.sqrt(v + eps));
    const y = new Array<number>(N * C * S);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) {
      const i = (n * C + c) * S + s;
      y[i] = ((x[i] - mean[c]) * invstd[c]) * this.gamma[c] + this.beta[c];
    }
    this.yMag = y.map((_, i) => {
      const c = Math.floor(i / S) % C;
      return (Math.abs(x[i]) + meanMag[c]) * invstd[c] * Math.abs(this.gamma[c]) + Math.abs(this.beta[c]);
    });
    this.saved = { x: Array.from(x), shape: [...shape], mean, meanMag, invstd, batch: useBatch };
    return y;
  }

  /** Gradients of the last forward for upstream dy, by the closed forms of DESIGN.md, with their magnitudes. */
  backward(dy: ArrayLike<number>): Record<'dx' | 'dgamma' | 'dbeta' | 'dxMag' | 'dgammaMag' | 'dbetaMag', number[]> {
    if (!this.saved) throw new Error('RefBatchNorm.backward before forward');
    const { x, shape, mean, meanMag, invstd, batch } = this.saved;
    const { N, C, S } = refLayout(shape);
    const m = N * S;
    const dx = new Array<number>(x.length), dgamma: number[] = [], dbeta: number[] = [];
    const dxMag = new Array<number>(x.length), dgammaMag: number[] = [], dbetaMag: number[] = [];
    for (let c = 0; c < C; c++) {
      // dβ = Σdy, dγ = Σ(dy·x̂)
      let sdy = 0, sdyx = 0, mdy = 0, mdyx = 0;
      for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) {
        const i = (n * C + c) * S + s;
        sdy += dy[i];
        sdyx += dy[i] * (x[i] - mean[c]) * invstd[c];
        mdy += Math.abs(dy[i]);
        mdyx += Math.abs(dy[i]) * (Math.abs(x[i]) + meanMag[c]) * invstd[c];
      }
      dbeta.push(sdy); dbetaMag.push(mdy);
      dgamma.push(sdyx); dgammaMag.push(mdyx);
      const g = Math.abs(this.gamma[c]);
      for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) {
        const i = (n * C + c) * S + s;
        const xh = (x[i] - mean[c]) * invstd[c], xhMag = (Math.abs(x[i]) + meanMag[c]) * invstd[c];
        // training: dx = γ·invstd/m·(m·dy − Σdy − x̂·Σ(dy·x̂)); eval: dx = dy·γ·invstd_running
        dx[i] = batch
          ? this.gamma[c] * invstd[c] / m * (m * dy[i] - sdy - xh * sdyx)
          : dy[i] * this.gamma[c] * invstd[c];
        dxMag[i] = batch ? g * invstd[c] / m * (m * Math.abs(dy[i]) + mdy + xhMag * mdyx) : Math.abs(dx[i]);
      }
    }
    return { dx, dgamma, dbeta, dxMag, dgammaMag, dbetaMag };
  }
}

/* ---- Naive tensor operations (multi-index loops), for the tensor and kernel tests ---- */

/** Row-major multi-index of flat index i in `shape`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) { idx[d] = i % shape[d]; i = Math.floor(i / shape[d]); }
  return idx;
}

/** Flat index of multi-index idx in `shape`. */
export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let i = 0;
  for (let d = 0; d < shape.length; d++) i = i * shape[d] + idx[d];
  return i;
}

export const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** NumPy broadcasting of a and b under f, written out: each output index maps to an index of each operand. */
export function naiveBroadcast(f: (x: number, y: number) => number, a: ArrayLike<number>, aShape: readonly number[],
  b: ArrayLike<number>, bShape: readonly number[]): { out: number[]; shape: number[] } {
  const r = Math.max(aShape.length, bShape.length);
  const pa = [...new Array<number>(r - aShape.length).fill(1), ...aShape], pb = [...new Array<number>(r - bShape.length).fill(1), ...bShape];
  const shape = pa.map((d, i) => {
    if (d !== pb[i] && d !== 1 && pb[i] !== 1) throw new Error(`naiveBroadcast: [${aShape}] and [${bShape}]`);
    return d === 1 ? pb[i] : d;
  });
  const out = new Array<number>(size(shape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    out[i] = f(a[ravel(idx.map((v, d) => (pa[d] === 1 ? 0 : v)), pa)], b[ravel(idx.map((v, d) => (pb[d] === 1 ? 0 : v)), pb)]);
  }
  return { out, shape };
}

/** Reduce x over `axes` with f (starting from init), keeping the other axes in order. */
export function naiveReduce(f: (acc: number, v: number) => number, init: number, x: ArrayLike<number>, shape: readonly number[],
  axes: readonly number[]): { out: number[]; shape: number[] } {
  const kept = shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const outShape = kept.map((d) => shape[d]);
  const out = new Array<number>(size(outShape)).fill(init);
  for (let i = 0; i < x.length; i++) {
    const idx = unravel(i, shape);
    const o = ravel(kept.map((d) => idx[d]), outShape);
    out[o] = f(out[o], x[i]);
  }
  return { out, shape: outShape };
}

/** C[M, N] = op(A)·op(B), A [M, K] (or [K, M] when transA), B [K, N] (or [N, K] when transB); triple loop. */
export function naiveMatmul(a: ArrayLike<number>, b: ArrayLike<number>, M: number, K: number, N: number, transA = false, transB = false): number[] {
  const out = new Array<number>(M * N).fill(0);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += (transA ? a[k * M + i] : a[i * K + k]) * (transB ? b[j * K + k] : b[k * N + j]);
    out[i * N + j] = s;
  }
  return out;
}

/** out[idx] = x[idx permuted back]: output axis d is input axis perm[d]. */
export function naivePermute(x: ArrayLike<number>, shape: readonly number[], perm: readonly number[]): { out: number[]; shape: number[] } {
  const outShape = perm.map((p) => shape[p]);
  const out = new Array<number>(x.length);
  for (let i = 0; i < x.length; i++) {
    const idx = unravel(i, outShape), src = new Array<number>(shape.length);
    perm.forEach((p, d) => (src[p] = idx[d]));
    out[i] = x[ravel(src, shape)];
  }
  return { out, shape: outShape };
}

/**
 * The normalization family on [N, C, S] by its definition: group k of element (n, c, s) is c (groups = 0) or
 * n·G + ⌊c/(C/G)⌋ (groups = G). Two-pass statistics per group; y and the closed-form gradients.
 */
export function naiveGroupNorm(x: ArrayLike<number>, dy: ArrayLike<number>, N: number, C: number, S: number, groups: number,
  gamma: number[] | null, beta: number[] | null, eps: number) {
  const group = (n: number, c: number) => (groups === 0 ? c : n * groups + Math.floor(c / (C / groups)));
  const G = groups === 0 ? C : N * groups;
  const members: number[][] = Array.from({ length: G }, () => []);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) members[group(n, c)].push((n * C + c) * S + s);
  const mean = members.map((ix) => ix.reduce((p, i) => p + x[i], 0) / ix.length);
  const variance = members.map((ix, k) => ix.reduce((p, i) => p + (x[i] - mean[k]) ** 2, 0) / ix.length);
  const invstd = variance.map((v) => 1 / Math.sqrt(v + eps));
  const y = new Array<number>(x.length), dx = new Array<number>(x.length);
  const dgamma = new Array<number>(C).fill(0), dbeta = new Array<number>(C).fill(0);
  const chan = (i: number) => Math.floor(i / S) % C;
  const xhat = (i: number, k: number) => (x[i] - mean[k]) * invstd[k];
  members.forEach((ix, k) => {
    for (const i of ix) {
      const c = chan(i);
      y[i] = xhat(i, k) * (gamma ? gamma[c] : 1) + (beta ? beta[c] : 0);
      dgamma[c] += dy[i] * xhat(i, k);
      dbeta[c] += dy[i];
    }
    // with g = dy·γ: dx = invstd/m·(m·g − Σg − x̂·Σ(g·x̂)) over the group
    const g = (i: number) => dy[i] * (gamma ? gamma[chan(i)] : 1);
    const m = ix.length, sg = ix.reduce((p, i) => p + g(i), 0), sgx = ix.reduce((p, i) => p + g(i) * xhat(i, k), 0);
    for (const i of ix) dx[i] = invstd[k] / m * (m * g(i) - sg - xhat(i, k) * sgx);
  });
  return { mean, variance, invstd, y, dx, dgamma, dbeta };
}
