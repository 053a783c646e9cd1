import { unhandledOp, type BinaryOp, type FloatArray, type Shape, type UnaryOp } from '../types.js';
import { sizeOf } from '../shape.js';

/** One strided run: out[oo + i] = a[ao + i·as] ∘ b[bo + i·bs] for i < n. The switch sits outside the loop. */
function binaryRun(op: BinaryOp, a: FloatArray, ao: number, as: number, b: FloatArray, bo: number, bs: number,
  out: FloatArray, oo: number, n: number): void {
  switch (op) {
    case 'add': for (let i = 0; i < n; i++) out[oo + i] = a[ao + i * as] + b[bo + i * bs]; return;
    case 'sub': for (let i = 0; i < n; i++) out[oo + i] = a[ao + i * as] - b[bo + i * bs]; return;
    case 'mul': for (let i = 0; i < n; i++) out[oo + i] = a[ao + i * as] * b[bo + i * bs]; return;
    case 'div': for (let i = 0; i < n; i++) out[oo + i] = a[ao + i * as] / b[bo + i * bs]; return;
    case 'pow': for (let i = 0; i < n; i++) out[oo + i] = Math.pow(a[ao + i * as], b[bo + i * bs]); return;
    case 'max': for (let i = 0; i < n; i++) { const x = a[ao + i * as], y = b[bo + i * bs]; out[oo + i] = x > y || x !== x ? x : y; } return;
    case 'min': for (let i = 0; i < n; i++) { const x = a[ao + i * as], y = b[bo + i * bs]; out[oo + i] = x < y || x !== x ? x : y; } return;
    case 'eq': for (let i = 0; i < n; i++) out[oo + i] = a[ao + i * as] === b[bo + i * bs] ? 1 : 0; return;
    default: unhandledOp('binary', op);
  }
}

/** Strides of `shape` aligned right to an output of rank `rank`, 0 along broadcast axes. */
function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const rank = outShape.length, st = new Array<number>(rank).fill(0);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const o = rank - shape.length + i;
    st[o] = shape[i] === 1 && outShape[o] !== 1 ? 0 : acc;
    acc *= shape[i];
  }
  return st;
}

/**
 * Walk an output of `outShape` row by row (the last axis is the run), calling `run(offsets..., n)` with
 * the starting offset of every operand (strides given per operand) and the output offset.
 */
function forEachRun(outShape: Shape, strides: number[][], run: (offs: number[], oo: number, n: number) => void): void {
  const rank = outShape.length;
  const total = sizeOf(outShape);
  if (total === 0) return;
  if (rank === 0) { run(strides.map(() => 0), 0, 1); return; }
  const n = outShape[rank - 1];
  const idx = new Array<number>(rank - 1).fill(0);
  const offs = strides.map(() => 0);
  for (let oo = 0; oo < total; oo += n) {
    run(offs, oo, n);
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      for (let k = 0; k < offs.length; k++) offs[k] += strides[k][d];
      if (idx[d] < outShape[d]) break;
      for (let k = 0; k < offs.length; k++) offs[k] -= strides[k][d] * outShape[d];
      idx[d] = 0;
    }
  }
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function binary(op: BinaryOp, a: FloatArray, aShape: Shape, b: FloatArray, bShape: Shape, out: FloatArray, outShape: Shape): void {
  if (sameShape(aShape, outShape) && sameShape(bShape, outShape)) return binaryRun(op, a, 0, 1, b, 0, 1, out, 0, out.length);
  if (sameShape(aShape, outShape) && b.length === 1) return binaryRun(op, a, 0, 1, b, 0, 0, out, 0, out.length);
  if (sameShape(bShape, outShape) && a.length === 1) return binaryRun(op, a, 0, 0, b, 0, 1, out, 0, out.length);
  const sa = broadcastStrides(aShape, outShape), sb = broadcastStrides(bShape, outShape);
  const r = outShape.length;
  const la = r ? sa[r - 1] : 0, lb = r ? sb[r - 1] : 0;
  forEachRun(outShape, [sa, sb], (o, oo, n) => binaryRun(op, a, o[0], la, b, o[1], lb, out, oo, n));
}

export function binaryScalar(op: BinaryOp, a: FloatArray, s: number, out: FloatArray, scalarFirst: boolean): void {
  const sb = new Float64Array([s]);
  if (scalarFirst) binaryRun(op, sb, 0, 0, a, 0, 1, out, 0, out.length);
  else binaryRun(op, a, 0, 1, sb, 0, 0, out, 0, out.length);
}

export function broadcastTo(x: FloatArray, shape: Shape, out: FloatArray, outShape: Shape): void {
  const sx = broadcastStrides(shape, outShape);
  const r = outShape.length, l = r ? sx[r - 1] : 0;
  forEachRun(outShape, [sx], (o, oo, n) => { for (let i = 0; i < n; i++) out[oo + i] = x[o[0] + i * l]; });
}

export function permute(x: FloatArray, shape: Shape, perm: readonly number[], out: FloatArray): void {
  const inStr = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { inStr[i] = acc; acc *= shape[i]; }
  const outShape = perm.map((p) => shape[p]);
  const st = perm.map((p) => inStr[p]);
  const r = outShape.length, l = r ? st[r - 1] : 0;
  forEachRun(outShape, [st], (o, oo, n) => { for (let i = 0; i < n; i++) out[oo + i] = x[o[0] + i * l]; });
}

export function unary(op: UnaryOp, x: FloatArray, out: FloatArray): void {
  const n = x.length;
  switch (op) {
    case 'neg': for (let i = 0; i < n; i++) out[i] = -x[i]; return;
    case 'exp': for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]); return;
    case 'log': for (let i = 0; i < n; i++) out[i] = Math.log(x[i]); return;
    case 'sqrt': for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]); return;
    case 'abs': for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]); return;
    // 1/(1+e^-x) for x ≥ 0 and e^x/(1+e^x) below, so neither branch overflows.
    case 'sigmoid': for (let i = 0; i < n; i++) { const v = x[i]; if (v >= 0) out[i] = 1 / (1 + Math.exp(-v)); else { const e = Math.exp(v); out[i] = e / (1 + e); } } return;
    case 'relu': for (let i = 0; i < n; i++) { const v = x[i]; out[i] = v > 0 ? v : v !== v ? v : 0; } return;
    case 'tanh': for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]); return;
    case 'square': for (let i = 0; i < n; i++) out[i] = x[i] * x[i]; return;
    case 'reciprocal': for (let i = 0; i < n; i++) out[i] = 1 / x[i]; return;
    default: unhandledOp('unary', op);
  }
}

export function unaryBackward(op: UnaryOp, x: FloatArray, y: FloatArray, dy: FloatArray, out: FloatArray): void {
  const n = dy.length;
  switch (op) {
    case 'neg': for (let i = 0; i < n; i++) out[i] = -dy[i]; return;
    case 'exp': for (let i = 0; i < n; i++) out[i] = dy[i] * y[i]; return;
    case 'log': for (let i = 0; i < n; i++) out[i] = dy[i] / x[i]; return;
    case 'sqrt': for (let i = 0; i < n; i++) out[i] = dy[i] * 0.5 / y[i]; return;
    case 'abs': for (let i = 0; i < n; i++) out[i] = x[i] > 0 ? dy[i] : x[i] < 0 ? -dy[i] : 0; return;
    case 'sigmoid': for (let i = 0; i < n; i++) out[i] = dy[i] * y[i] * (1 - y[i]); return;
    case 'relu': for (let i = 0; i < n; i++) out[i] = x[i] > 0 ? dy[i] : 0; return;
    case 'tanh': for (let i = 0; i < n; i++) out[i] = dy[i] * (1 - y[i] * y[i]); return;
    case 'square': for (let i = 0; i < n; i++) out[i] = 2 * x[i] * dy[i]; return;
    case 'reciprocal': for (let i = 0; i < n; i++) out[i] = -dy[i] * y[i] * y[i]; return;
    default: unhandledOp('unaryBackward', op);
  }
}

export function copy(src: FloatArray, dst: FloatArray): void {
  if (src.constructor === dst.constructor) (dst as Float64Array).set(src as Float64Array);
  else for (let i = 0; i < src.length; i++) dst[i] = src[i];
}

export function fill(dst: FloatArray, value: number): void {
  dst.fill(value);
}

export function sumSquares(x: FloatArray): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}
