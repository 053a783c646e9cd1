import type { DType, FloatArray, Shape } from '../../kernels/types.js';
import type { Arr, OpDef } from '../types.js';
import { alloc, broadcastArr, k, reshapeArr, sumTo } from './util.js';

export const reshape: OpDef<{ shape: Shape }> = {
  forward: ([x], { shape }) => ({ out: reshapeArr(x!, shape) }),
  // dx = reshape(g, shape(x))
  backward: ({ inputs: [x] }, g) => [reshapeArr(g, x!.shape)],
};

export const permute: OpDef<{ perm: readonly number[] }> = {
  forward: ([x], { perm }) => {
    const out = alloc(x!.dtype, perm.map((p) => x!.shape[p]), false);
    k().permute(x!.data, x!.shape, perm, out.data);
    return { out };
  },
  // dx = permute(g, perm⁻¹)
  backward: ({ attrs: { perm } }, g) => {
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    const dx = alloc(g.dtype, inv.map((p) => g.shape[p]), false);
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
    const out = alloc(dtype, x!.shape, false);
    k().copy(x!.data, out.data);
    return { out };
  },
  // dx = g cast back to x's dtype
  backward: ({ inputs: [x] }, g) => {
    const dx = alloc(x!.dtype, x!.shape, false);
    k().copy(g.data, dx.data);
    return [dx];
  },
};

/** A shape seen as [outer, D, inner] around `axis`. */
function around(shape: Shape, axis: number): { outer: number; D: number; inner: number } {
  let outer = 1, inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return { outer, D: shape[axis], inner };
}

/** Copy `runs` runs of `len` contiguous elements: dst[dOff + r·dStride + i] = src[sOff + r·sStride + i]. */
function copyRuns(src: FloatArray, sOff: number, sStride: number, dst: FloatArray, dOff: number, dStride: number, runs: number, len: number): void {
  if (len === 0) return;
  for (let r = 0; r < runs; r++) k().copy(src.subarray(sOff + r * sStride, sOff + r * sStride + len), dst.subarray(dOff + r * dStride));
}

export interface NarrowAttrs { readonly axis: number; readonly start: number; readonly length: number }

/** The slice [start, start + length) of x along `axis` (a copy). */
export const narrow: OpDef<NarrowAttrs> = {
  forward: ([x], { axis, start, length }) => {
    const { outer, D, inner } = around(x!.shape, axis);
    const out = alloc(x!.dtype, x!.shape.map((d, i) => (i === axis ? length : d)), false);
    copyRuns(x!.data, start * inner, D * inner, out.data, 0, length * inner, outer, length * inner);
    return { out };
  },
  // dx = g at [start, start + length) along axis, 0 elsewhere
  backward: ({ inputs: [x], attrs: { axis, start, length } }, g) => {
    const { outer, D, inner } = around(x!.shape, axis);
    const dx = alloc(x!.dtype, x!.shape, false);
    k().fill(dx.data, 0);
    copyRuns(g.data, 0, length * inner, dx.data, start * inner, D * inner, outer, length * inner);
    return [dx];
  },
};

/** Inputs x₀, x₁, … (equal shapes except along `axis`, one dtype) joined along `axis`. */
export const cat: OpDef<{ readonly axis: number }> = {
  forward: (xs, { axis }) => {
    const shape = [...xs[0]!.shape];
    shape[axis] = xs.reduce((s, x) => s + x!.shape[axis], 0);
    const out = alloc(xs[0]!.dtype, shape, false);
    const { outer, D, inner } = around(shape, axis);
    let off = 0;
    for (const x of xs) {
      const len = x!.shape[axis] * inner;
      copyRuns(x!.data, 0, len, out.data, off, D * inner, outer, len);
      off += len;
    }
    return { out };
  },
  // dxᵢ = g narrowed to xᵢ's range along axis
  backward: ({ inputs, attrs: { axis }, needs }, g) => {
    const { outer, D, inner } = around(g.shape, axis);
    let off = 0;
    return inputs.map((x, i) => {
      const len = x!.shape[axis] * inner;
      let dx: Arr | null = null;
      if (needs[i]) {
        dx = alloc(g.dtype, x!.shape, false);
        copyRuns(g.data, off, D * inner, dx.data, 0, len, outer, len);
      }
      off += len;
      return dx;
    });
  },
};
