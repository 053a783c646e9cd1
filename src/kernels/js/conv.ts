import type { Conv2dGeometry, FloatArray } from '../types.js';
import { matmul as jsMatmul } from './matmul.js';

/*
 * 2-D convolution over NCHW as im2col + the blocked matmul, one GEMM per (image, group):
 *   cols [K, P] with K = (C/groups)·kh·kw rows ordered (c, u, v) like the weight, P = OH·OW columns;
 *   y[n, group] [Og, P] = W[group] [Og, K] · cols.
 * A 1×1 kernel with stride 1 and no padding needs no im2col: the image itself is cols.
 */

function isPointwise(g: Conv2dGeometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.ph === 0 && g.pw === 0;
}

/** Output columns j whose input column j·sw + off lies in [0, W): [j0, j1). */
function validRange(off: number, stride: number, W: number, OW: number): [number, number] {
  const j0 = Math.min(OW, Math.max(0, Math.ceil(-off / stride)));
  const j1 = Math.max(j0, Math.min(OW, Math.floor((W - 1 - off) / stride) + 1));
  return [j0, j1];
}

/** cols[(c·kh + u)·kw + v, i·OW + j] = x[xo + c·H·W + (i·sh − ph + u·dh)·W + j·sw − pw + v·dw], 0 outside. */
export function im2col(x: FloatArray, xo: number, Cg: number, g: Conv2dGeometry, cols: FloatArray): void {
  const { H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw } = g;
  const P = OH * OW;
  let ro = 0;
  for (let c = 0; c < Cg; c++) {
    const xc = xo + c * H * W;
    for (let u = 0; u < kh; u++) {
      for (let v = 0; v < kw; v++, ro += P) {
        const off = v * dw - pw;
        const [j0, j1] = validRange(off, sw, W, OW);
        for (let i = 0; i < OH; i++) {
          const ih = i * sh - ph + u * dh, co = ro + i * OW;
          if (ih < 0 || ih >= H) { for (let j = 0; j < OW; j++) cols[co + j] = 0; continue; }
          const xr = xc + ih * W + off;
          for (let j = 0; j < j0; j++) cols[co + j] = 0;
          if (sw === 1) for (let j = j0; j < j1; j++) cols[co + j] = x[xr + j];
          else for (let j = j0; j < j1; j++) cols[co + j] = x[xr + j * sw];
          for (let j = j1; j < OW; j++) cols[co + j] = 0;
        }
      }
    }
  }
}

/** The adjoint of im2col: dx[xo + …] += cols[…] over every (row, column) that im2col read from x. */
export function col2im(cols: FloatArray, dx: FloatArray, xo: number, Cg: number, g: Conv2dGeometry): void {
  const { H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw } = g;
  const P = OH * OW;
  let ro = 0;
  for (let c = 0; c < Cg; c++) {
    const xc = xo + c * H * W;
    for (let u = 0; u < kh; u++) {
      for (let v = 0; v < kw; v++, ro += P) {
        const off = v * dw - pw;
        const [j0, j1] = validRange(off, sw, W, OW);
        for (let i = 0; i < OH; i++) {
          const ih = i * sh - ph + u * dh;
          if (ih < 0 || ih >= H) continue;
          const xr = xc + ih * W + off, co = ro + i * OW;
          if (sw === 1) for (let j = j0; j < j1; j++) dx[xr + j] += cols[co + j];
          else for (let j = j0; j < j1; j++) dx[xr + j * sw] += cols[co + j];
        }
      }
    }
  }
}

/** The GEMM the convolution runs on: matmul's signature (the js one, or a faster backend's). */
export type Gemm = (a: FloatArray, b: FloatArray, out: FloatArray, M: number, K: number, N: number,
  transA: boolean, transB: boolean, accumulate: boolean) => void;

/** The data-movement loops the convolution runs on (the js ones above, or a backend's own). */
export interface ConvLoops {
  im2col: typeof im2col;
  col2im: typeof col2im;
}

/**
 * Convolution kernels over a given GEMM, work-area allocator (`release` returns a work area after the call)
 * and im2col loops: the js backend passes its blocked matmul, plain arrays and the loops above, the wasm
 * backend its SIMD matmul, blocks of its memory and its wasm loops, so the convolution's structure exists once.
 */
export function makeConvKernels(matmul: Gemm, scratch: (like: FloatArray, n: number) => FloatArray, release: (a: FloatArray) => void = () => {},
  { im2col: toCols, col2im: fromCols }: ConvLoops = { im2col, col2im }) {
  function conv2d(x: FloatArray, w: FloatArray, b: FloatArray | null, g: Conv2dGeometry, y: FloatArray): void {
    const { N, C, H, W, O, OH, OW, kh, kw, groups } = g;
    const Cg = C / groups, Og = O / groups, K = Cg * kh * kw, P = OH * OW;
    const pointwise = isPointwise(g);
    const cols = pointwise ? null : scratch(x, K * P);
    for (let n = 0; n < N; n++) {
      for (let gi = 0; gi < groups; gi++) {
        const xo = (n * C + gi * Cg) * H * W, yo = (n * O + gi * Og) * P;
        const yv = y.subarray(yo, yo + Og * P);
        if (b) for (let o = 0; o < Og; o++) yv.fill(b[gi * Og + o], o * P, (o + 1) * P);
        let src: FloatArray;
        if (cols) { toCols(x, xo, Cg, g, cols); src = cols; } else src = x.subarray(xo, xo + K * P);
        matmul(w.subarray(gi * Og * K, (gi + 1) * Og * K), src, yv, Og, K, P, false, false, b !== null);
      }
    }
    if (cols) release(cols);
  }

  function conv2dBackward(x: FloatArray, w: FloatArray, dy: FloatArray, g: Conv2dGeometry,
    dx: FloatArray | null, dw: FloatArray | null, db: FloatArray | null): void {
    const { N, C, H, W, O, OH, OW, kh, kw, groups } = g;
    const Cg = C / groups, Og = O / groups, K = Cg * kh * kw, P = OH * OW;
    if (db) for (let o = 0; o < O; o++) {
      let s = 0;
      for (let n = 0; n < N; n++) { const r = (n * O + o) * P; for (let p = 0; p < P; p++) s += dy[r + p]; }
      db[o] = s;
    }
    if (!dx && !dw) return;
    const pointwise = isPointwise(g);
    const cols = dw && !pointwise ? scratch(x, K * P) : null;
    const dcols = dx && !pointwise ? scratch(x, K * P) : null;
    if (dx) dx.fill(0);
    if (dw && N === 0) dw.fill(0);
    // Wᵀ per group [K, Og], made once per call (O(weights), not O(activations)): dcols = Wᵀ·dy then runs as
    // the NN kernel, measured 2–3× faster than the transA kernel at conv shapes (e.g. K = 288, Og = 64, P = 784).
    const wt = dx ? scratch(w, w.length) : null;
    if (wt) for (let gi = 0; gi < groups; gi++) {
      const base = gi * Og * K;
      for (let o = 0; o < Og; o++) for (let c = 0; c < K; c++) wt[base + c * Og + o] = w[base + o * K + c];
    }
    for (let n = 0; n < N; n++) {
      for (let gi = 0; gi < groups; gi++) {
        const xo = (n * C + gi * Cg) * H * W, yo = (n * O + gi * Og) * P;
        const dyv = dy.subarray(yo, yo + Og * P);
        if (dw) {
          let src: FloatArray;
          if (cols) { toCols(x, xo, Cg, g, cols); src = cols; } else src = x.subarray(xo, xo + K * P);
          // dW[group] (+)= dy[n, group] · colsᵀ
          matmul(dyv, src, dw.subarray(gi * Og * K, (gi + 1) * Og * K), Og, P, K, false, true, n > 0);
        }
        if (wt && dx) {
          // dcols = W[group]ᵀ · dy[n, group], scattered back into dx
          const wtv = wt.subarray(gi * Og * K, (gi + 1) * Og * K);
          if (dcols) { matmul(wtv, dyv, dcols, K, Og, P, false, false, false); fromCols(dcols, dx, xo, Cg, g); }
          else matmul(wtv, dyv, dx.subarray(xo, xo + K * P), K, Og, P, false, false, false);
        }
      }
    }
    for (const a of [cols, dcols, wt]) if (a) release(a);
  }

  return { conv2d, conv2dBackward };
}

const jsConv = makeConvKernels(jsMatmul, (like, n) => (like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n)));
export const conv2d = jsConv.conv2d;
export const conv2dBackward = jsConv.conv2dBackward;
