import { unhandledOp, type FloatArray, type ReduceOp, type Shape } from '../types.js';
import { reduceBlocks, sizeOf } from '../shape.js';

/** Each reduction's starting value (what an empty reduction gives). */
const INIT: { readonly [op in ReduceOp]: number } = { sum: 0, max: -Infinity, min: Infinity };

/**
 * Reduce x of `shape` over the sorted axes `axes`. The shape is collapsed to [outer, r, inner] runs where
 * possible; the general case walks the input once with an odometer. Sums accumulate in float64.
 */
export function reduce(op: ReduceOp, x: FloatArray, shape: Shape, axes: readonly number[], out: FloatArray): void {
  // Merge adjacent axes of the same kind: the result is alternating kept/reduced blocks.
  const { dims, red: isRed } = reduceBlocks(shape, axes);
  const acc = new Float64Array(out.length).fill(INIT[op]);
  if (sizeOf(shape) === 0) { out.set(acc); return; }
  // Output strides of the merged dims (0 along reduced ones).
  const ostr = new Array<number>(dims.length).fill(0);
  let s = 1;
  for (let i = dims.length - 1; i >= 0; i--) if (!isRed[i]) { ostr[i] = s; s *= dims[i]; }
  const r = dims.length;
  if (r === 0) { accumulate(op, acc, 0, 0, x, 0, 1); out.set(acc); return; }
  const n = dims[r - 1], lastRed = isRed[r - 1];
  const idx = new Array<number>(r).fill(0);
  let o = 0;
  for (let i = 0; i < x.length; i += n) {
    if (lastRed) accumulate(op, acc, o, 0, x, i, n);
    else accumulate(op, acc, o, 1, x, i, n);
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++; o += ostr[d];
      if (idx[d] < dims[d]) break;
      o -= ostr[d] * dims[d]; idx[d] = 0;
    }
  }
  out.set(acc);
}

/** acc[o + i·os] ∘= x[xo + i] for i < n; os = 0 folds the run into one accumulator. */
function accumulate(op: ReduceOp, acc: Float64Array, o: number, os: number, x: FloatArray, xo: number, n: number): void {
  if (os === 0) {
    let v = acc[o];
    switch (op) {
      case 'sum': for (let i = 0; i < n; i++) v += x[xo + i]; break;
      case 'max': for (let i = 0; i < n; i++) { const t = x[xo + i]; if (t > v || t !== t) v = t; } break;
      case 'min': for (let i = 0; i < n; i++) { const t = x[xo + i]; if (t < v || t !== t) v = t; } break;
      default: unhandledOp('reduce', op);
    }
    acc[o] = v;
    return;
  }
  switch (op) {
    case 'sum': for (let i = 0; i < n; i++) acc[o + i] += x[xo + i]; return;
    case 'max': for (let i = 0; i < n; i++) { const t = x[xo + i]; if (t > acc[o + i] || t !== t) acc[o + i] = t; } return;
    case 'min': for (let i = 0; i < n; i++) { const t = x[xo + i]; if (t < acc[o + i] || t !== t) acc[o + i] = t; } return;
    default: unhandledOp('reduce', op);
  }
}

export function argmax(x: FloatArray, R: number, C: number, out: FloatArray): void {
  for (let r = 0; r < R; r++) {
    const o = r * C;
    let best = 0, bv = x[o];
    for (let c = 1; c < C && bv === bv; c++) { const v = x[o + c]; if (v > bv || v !== v) { bv = v; best = c; } }
    out[r] = best;
  }
}
