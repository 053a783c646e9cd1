import type { FloatArray, PoolAxis } from '../types.js';

/*
 * 2-D pooling over `planes` planes (N·C for NCHW) of h.size × w.size values. Output (i, j) reads the
 * window rows [h.start[i], h.end[i]) × columns [w.start[j], w.end[j]); padding is whatever the windows
 * leave out (−∞ for max, zeros counted through the divisor for average).
 */

export function maxPool2d(x: FloatArray, planes: number, h: PoolAxis, w: PoolAxis, y: FloatArray, argmax: Int32Array): void {
  const W = w.size, inPlane = h.size * W, OH = h.start.length, OW = w.start.length;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    let yo = p * OH * OW;
    for (let i = 0; i < OH; i++) {
      const r0 = h.start[i], r1 = h.end[i];
      for (let j = 0; j < OW; j++, yo++) {
        const c0 = w.start[j], c1 = w.end[j];
        let m = -Infinity, at = r0 * W + c0;
        for (let r = r0; r < r1; r++) {
          for (let c = c0; c < c1; c++) {
            const v = x[xo + r * W + c];
            // first maximum wins ties; NaN propagates (as PyTorch's CPU kernel)
            if (v > m || v !== v) { m = v; at = r * W + c; }
          }
        }
        y[yo] = m;
        argmax[yo] = at;
      }
    }
  }
}

export function maxPool2dBackward(dy: FloatArray, argmax: Int32Array, planes: number, inPlane: number, dx: FloatArray): void {
  dx.fill(0);
  const outPlane = dy.length / planes;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane, yo = p * outPlane;
    for (let q = 0; q < outPlane; q++) dx[xo + argmax[yo + q]] += dy[yo + q];
  }
}

export function avgPool2d(x: FloatArray, planes: number, h: PoolAxis, w: PoolAxis, y: FloatArray): void {
  const W = w.size, inPlane = h.size * W, OH = h.start.length, OW = w.start.length;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    let yo = p * OH * OW;
    for (let i = 0; i < OH; i++) {
      const r0 = h.start[i], r1 = h.end[i], di = h.divisor[i];
      for (let j = 0; j < OW; j++, yo++) {
        const c0 = w.start[j], c1 = w.end[j];
        let s = 0;
        for (let r = r0; r < r1; r++) { const o = xo + r * W; for (let c = c0; c < c1; c++) s += x[o + c]; }
        y[yo] = s / (di * w.divisor[j]);
      }
    }
  }
}

export function avgPool2dBackward(dy: FloatArray, planes: number, h: PoolAxis, w: PoolAxis, dx: FloatArray): void {
  dx.fill(0);
  const W = w.size, inPlane = h.size * W, OH = h.start.length, OW = w.start.length;
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane;
    let yo = p * OH * OW;
    for (let i = 0; i < OH; i++) {
      const r0 = h.start[i], r1 = h.end[i], di = h.divisor[i];
      for (let j = 0; j < OW; j++, yo++) {
        const c0 = w.start[j], c1 = w.end[j], gv = dy[yo] / (di * w.divisor[j]);
        for (let r = r0; r < r1; r++) { const o = xo + r * W; for (let c = c0; c < c1; c++) dx[o + c] += gv; }
      }
    }
  }
}
