import type { PoolAxis } from '../../kernels/types.js';
export { slidingAxis, adaptiveAxis } from '../../kernels/layout.js';
import type { OpDef } from '../types.js';
import { alloc, k } from './util.js';

/** The pooling windows along H and W (built by slidingAxis or adaptiveAxis). */
export interface PoolAttrs {
  readonly h: PoolAxis;
  readonly w: PoolAxis;
}

function outShape(x: { shape: readonly number[] }, { h, w }: PoolAttrs): number[] {
  const [N, C, H, W] = x.shape;
  if (x.shape.length !== 4 || H !== h.size || W !== w.size)
    throw new Error(`pool2d: input shape [${x.shape.join(', ')}] does not match windows built for ${h.size}×${w.size}`);
  return [N, C, h.start.length, w.start.length];
}

/** Max pooling of x [N, C, H, W] over the windows of attrs; the argmax positions are saved for backward. */
export const maxPool2d: OpDef<PoolAttrs> = {
  forward: ([x], attrs) => {
    const shape = outShape(x!, attrs);
    const out = alloc(x!.dtype, shape, false);
    const argmax = new Int32Array(out.storage.size);
    k().maxPool2d(x!.data, shape[0] * shape[1], attrs.h, attrs.w, out.data, argmax);
    return { out, saved: argmax };
  },
  // dx[argmax(window)] += dy (the first maximum of each window gets the whole gradient)
  backward: ({ inputs: [x], saved, attrs }, dy) => {
    const dx = alloc(x!.dtype, x!.shape, false);
    k().maxPool2dBackward(dy.data, saved as Int32Array, x!.shape[0] * x!.shape[1], attrs.h.size * attrs.w.size, dx.data);
    return [dx];
  },
};

/** Average pooling of x [N, C, H, W] over the windows of attrs (sliding or adaptive). */
export const avgPool2d: OpDef<PoolAttrs> = {
  forward: ([x], attrs) => {
    const shape = outShape(x!, attrs);
    const out = alloc(x!.dtype, shape, false);
    k().avgPool2d(x!.data, shape[0] * shape[1], attrs.h, attrs.w, out.data);
    return { out };
  },
  // dx[window(i, j)] += dy[i, j] / (divisor_h[i]·divisor_w[j])
  backward: ({ inputs: [x], attrs }, dy) => {
    const dx = alloc(x!.dtype, x!.shape, false);
    k().avgPool2dBackward(dy.data, x!.shape[0] * x!.shape[1], attrs.h, attrs.w, dx.data);
    return [dx];
  },
};
