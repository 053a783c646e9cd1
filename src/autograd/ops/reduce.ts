import type { Shape } from '../../kernels/types.js';
import type { Arr, OpDef } from '../types.js';
import { alloc, binaryArr, broadcastArr, k, reshapeArr, scalarArr } from './util.js';

/** Axes are normalized (sorted, unique, non-negative) by the Tensor layer. */
export interface ReduceAttrs {
  readonly axes: readonly number[];
  readonly keepdim: boolean;
}

function reducedShape(shape: Shape, axes: readonly number[], keepdim: boolean): number[] {
  return keepdim ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

function count(shape: Shape, axes: readonly number[]): number {
  return axes.reduce((n, a) => n * shape[a], 1);
}

function reduceForward(op: 'sum' | 'max', x: Arr, { axes, keepdim }: ReduceAttrs): Arr {
  const out = alloc(x.dtype, reducedShape(x.shape, axes, keepdim), false);
  k().reduce(op, x.data, x.shape, axes, out.data);
  return out;
}

/** g (reduced shape) broadcast back to x's shape. */
function spread(g: Arr, x: Arr, axes: readonly number[]): Arr {
  return broadcastArr(reshapeArr(g, reducedShape(x.shape, axes, true)), x.shape);
}

export const sum: OpDef<ReduceAttrs> = {
  forward: ([x], attrs) => ({ out: reduceForward('sum', x!, attrs) }),
  // dx = broadcast(g)
  backward: ({ inputs: [x], attrs }, g) => [spread(g, x!, attrs.axes)],
};

export const mean: OpDef<ReduceAttrs> = {
  forward: ([x], attrs) => {
    const s = reduceForward('sum', x!, attrs);
    k().binaryScalar('div', s.data, count(x!.shape, attrs.axes), s.data, false);
    return { out: s };
  },
  // dx = broadcast(g)/n
  backward: ({ inputs: [x], attrs }, g) => [scalarArr('div', spread(g, x!, attrs.axes), count(x!.shape, attrs.axes))],
};

export const max: OpDef<ReduceAttrs> = {
  forward: ([x], attrs) => ({ out: reduceForward('max', x!, attrs) }),
  // dx = broadcast(g)·[x = max]/#ties (the gradient is split evenly among tied maxima)
  backward: ({ inputs: [x], out, attrs }, g) => {
    const mask = binaryArr('eq', x!, spread(out, x!, attrs.axes));
    const ties = reduceForward('sum', mask, { axes: attrs.axes, keepdim: attrs.keepdim });
    return [binaryArr('mul', mask, spread(binaryArr('div', g, ties), x!, attrs.axes))];
  },
};
