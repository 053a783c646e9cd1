/** Shape arithmetic shared by every layer: element counts, row-major strides, broadcasting, reduction blocks. */
import type { Shape } from './types.js';

/** Number of elements of a shape (1 for a scalar). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides: element i of axis a is `stride[a]` elements after element i − 1. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
  return s;
}

/** NumPy broadcast of two shapes, or null when they do not broadcast. */
export function broadcastShapes(a: Shape, b: Shape): number[] | null {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1, db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** A reduction as blocks of merged axes, size-1 axes dropped: `dims` sizes, `red` whether each is reduced. */
export function reduceBlocks(shape: Shape, axes: readonly number[]): { dims: number[]; red: boolean[] } {
  const isRed = new Array<boolean>(shape.length).fill(false);
  for (const a of axes) isRed[a] = true;
  const dims: number[] = [], red: boolean[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    if (dims.length && red[red.length - 1] === isRed[i]) dims[dims.length - 1] *= shape[i];
    else { dims.push(shape[i]); red.push(isRed[i]); }
  }
  return { dims, red };
}
