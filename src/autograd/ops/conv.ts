import type { Conv2dGeometry, Shape } from '../../kernels/types.js';
import type { Arr, OpDef } from '../types.js';
import { alloc, k } from './util.js';

/** conv2d attributes as [h, w] pairs; validated by nn.functional.conv2d before the op runs. */
export interface Conv2dAttrs {
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
}

/** Output length of a convolution along one axis: ⌊(n + 2p − d·(k − 1) − 1)/s⌋ + 1 (PyTorch's formula). */
export function convOutSize(n: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
}

/** The kernel geometry of x [N, C, H, W] convolved with weight [O, C/groups, kh, kw]. */
export function conv2dGeometry(x: Shape, w: Shape, { stride: [sh, sw], padding: [ph, pw], dilation: [dh, dw], groups }: Conv2dAttrs): Conv2dGeometry {
  const [N, C, H, W] = x, [O, , kh, kw] = w;
  return { N, C, H, W, O, kh, kw, sh, sw, ph, pw, dh, dw, groups,
    OH: convOutSize(H, kh, sh, ph, dh), OW: convOutSize(W, kw, sw, pw, dw) };
}

/** 2-D convolution (cross-correlation, as PyTorch) of x [N, C, H, W] with weight [O, C/groups, kh, kw] and bias [O] or null. */
export const conv2d: OpDef<Conv2dAttrs> = {
  forward: ([x, w, b], attrs) => {
    const g = conv2dGeometry(x!.shape, w!.shape, attrs);
    const out = alloc(x!.dtype, [g.N, g.O, g.OH, g.OW], false); // the kernels write every output
    k().conv2d(x!.data, w!.data, b ? b.data : null, g, out.data);
    return { out, saved: g };
  },
  // dx = col2im(Wᵀ·dy), dW = Σ_n dy·im2col(x)ᵀ, db = Σ_{n,h,w} dy
  backward: ({ inputs: [x, w, b], saved, needs }, dy) => {
    const g = saved as Conv2dGeometry;
    const dx: Arr | null = needs[0] ? alloc(x!.dtype, x!.shape, false) : null;
    const dw: Arr | null = needs[1] ? alloc(w!.dtype, w!.shape, false) : null;
    const db: Arr | null = needs[2] && b ? alloc(b.dtype, b.shape, false) : null;
    k().conv2dBackward(x!.data, w!.data, dy.data, g, dx?.data ?? null, dw?.data ?? null, db?.data ?? null);
    return [dx, dw, db];
  },
};
