import type { PoolAxis } from '../../kernels/types.js';
import type { OpDef } from '../types.js';
import { alloc, k } from './util.js';

/** The pooling windows along H and W (built by slidingAxis or adaptiveAxis). */
export interface PoolAttrs {
  readonly h: PoolAxis;
  readonly w: PoolAxis;
}

/**
 * Windows of a sliding pool along an axis of length n: kernel k, stride s, padding p, ⌊(n + 2p − k)/s⌋ + 1
 * outputs. Output i covers [i·s − p, min(i·s − p + k, n + p)) of the padded axis, clipped to [0, n); its
 * divisor is the padded window length when `countPad`, else the clipped one (PyTorch's avg_pool2d).
 */
export function slidingAxis(n: number, k: number, s: number, p: number, countPad: boolean): PoolAxis {
  const out = Math.floor((n + 2 * p - k) / s) + 1;
  const start = new Int32Array(out), end = new Int32Array(out), divisor = new Float64Array(out);
  for (let i = 0; i < out; i++) {
    const a = i * s - p, b = Math.min(a + k, n + p);
    start[i] = Math.max(a, 0);
    end[i] = Math.min(b, n);
    divisor[i] = countPad ? b - a : end[i] - start[i];
  }
  return { size: n, start, end, divisor };
}

/** Adaptive windows: output i of `out` covers [⌊i·n/out⌋, ⌈(i + 1)·n/out⌉) (PyTorch's adaptive pooling). */
export function adaptiveAxis(n: number, out: number): PoolAxis {
  const start = new Int32Array(out), end = new Int32Array(out), divisor = new Float64Array(out);
  for (let i = 0; i < out; i++) {
    start[i] = Math.floor((i * n) / out);
    end[i] = Math.ceil(((i + 1) * n) / out);
    divisor[i] = end[i] - start[i];
  }
  return { size: n, start, end, divisor };
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
