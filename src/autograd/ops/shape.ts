import type { DType, Shape } from '../../kernels/types.js';
import type { OpDef } from '../types.js';
import { alloc, broadcastArr, k, reshapeArr, sumTo } from './util.js';

export const reshape: OpDef<{ shape: Shape }> = {
  forward: ([x], { shape }) => ({ out: reshapeArr(x!, shape) }),
  // dx = reshape(g, shape(x))
  backward: ({ inputs: [x] }, g) => [reshapeArr(g, x!.shape)],
};

export const permute: OpDef<{ perm: readonly number[] }> = {
  forward: ([x], { perm }) => {
    const out = alloc(x!.dtype, perm.map((p) => x!.shape[p]));
    k().permute(x!.data, x!.shape, perm, out.data);
    return { out };
  },
  // dx = permute(g, perm⁻¹)
  backward: ({ attrs: { perm } }, g) => {
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    const dx = alloc(g.dtype, inv.map((p) => g.shape[p]));
    k().permute(g.data, g.shape, inv, dx.data);
    return [dx];
  },
};

export const expand: OpDef<{ shape: Shape }> = {
  forward: ([x], { shape }) => ({ out: broadcastArr(x!, shape) }),
  // dx = g summed over the broadcast axes
  backward: ({ inputs: [x] }, g) => [sumTo(g, x!.shape)],
};

export const cast: OpDef<{ dtype: DType }> = {
  forward: ([x], { dtype }) => {
    const out = alloc(dtype, x!.shape);
    k().copy(x!.data, out.data);
    return { out };
  },
  // dx = g cast back to x's dtype
  backward: ({ inputs: [x] }, g) => {
    const dx = alloc(x!.dtype, x!.shape);
    k().copy(g.data, dx.data);
    return [dx];
  },
};
