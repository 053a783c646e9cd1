import { conv2dGeometry } from '../../kernels/layout.js';
import type { Conv2dGeometry } from '../../kernels/types.js';
export { convOutSize, conv2dGeometry } from '../../kernels/layout.js';
import type { Arr, OpDef } from '../types.js';
import { alloc, k } from './util.js';

/** conv2d attributes as [h, w] pairs; validated by nn.functional.conv2d before the op runs. */
export interface Conv2dAttrs {
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
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
