import { getBackend } from '../../kernels/index.js';
import type { BinaryOp, DType, Kernels, Shape, UnaryOp } from '../../kernels/types.js';
import { broadcastShapes } from '../../kernels/shape.js';
import { allocStorage } from '../../memory/index.js';
import { Arr } from '../types.js';

/** Helpers for op rules: allocate through the active backend and call its kernels, Arr in, Arr out. */
export function k(): Kernels {
  return getBackend().kernels;
}

/** An array for an op's result; `zero` false when the kernel that fills it overwrites every element. */
export function alloc(dtype: DType, shape: Shape, zero = true): Arr {
  return new Arr(allocStorage(dtype, shape, zero), [...shape]);
}

export function binaryArr(op: BinaryOp, a: Arr, b: Arr): Arr {
  const shape = broadcastShapes(a.shape, b.shape);
  if (!shape) throw new Error(`${op}: shapes [${a.shape}] and [${b.shape}] do not broadcast`);
  const out = alloc(a.dtype, shape, false);
  k().binary(op, a.data, a.shape, b.data, b.shape, out.data, shape);
  return out;
}

export function scalarArr(op: BinaryOp, a: Arr, s: number, scalarFirst = false): Arr {
  const out = alloc(a.dtype, a.shape, false);
  k().binaryScalar(op, a.data, s, out.data, scalarFirst);
  return out;
}

export function unaryArr(op: UnaryOp, a: Arr): Arr {
  const out = alloc(a.dtype, a.shape, false);
  k().unary(op, a.data, out.data);
  return out;
}

/** View a's data under another shape of the same size (no copy). */
export function reshapeArr(a: Arr, shape: Shape): Arr {
  return new Arr(a.storage, [...shape]);
}

/** Sum g over the axes that broadcasting added or stretched, so it has `shape` again. */
export function sumTo(g: Arr, shape: Shape): Arr {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.shape.length; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  const out = alloc(g.dtype, shape, false);
  k().reduce('sum', g.data, g.shape, axes, out.data);
  return out;
}

export function broadcastArr(a: Arr, shape: Shape): Arr {
  const out = alloc(a.dtype, shape, false);
  k().broadcastTo(a.data, a.shape, out.data, shape);
  return out;
}
