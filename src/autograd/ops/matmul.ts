import { Arr, type OpDef } from '../types.js';
import { alloc, k, sumTo } from './util.js';

type NoAttrs = Record<string, never>;

/**
 * a [..., M, K] · b [K, N] or [..., K, N] (the same leading dims). Batches run as one GEMM when b is a
 * matrix (leading dims folded into M), else one GEMM per batch.
 */
function dims(a: Arr, b: Arr) {
  const M = a.shape[a.shape.length - 2], K = a.shape[a.shape.length - 1], N = b.shape[b.shape.length - 1];
  const batch = a.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  return { M, K, N, batch, shared: b.shape.length === 2 };
}

export const matmul: OpDef<NoAttrs> = {
  forward: ([a, b]) => {
    const { M, K, N, batch, shared } = dims(a!, b!);
    const out = alloc(a!.dtype, [...a!.shape.slice(0, -1), N], K === 0); // the kernel writes every output (K = 0: zeros needed)
    if (shared) k().matmul(a!.data, b!.data, out.data, batch * M, K, N, false, false, false);
    else for (let i = 0; i < batch; i++)
      k().matmul(a!.data.subarray(i * M * K), b!.data.subarray(i * K * N), out.data.subarray(i * M * N), M, K, N, false, false, false);
    return { out };
  },
  // da = g·bᵀ, db = aᵀ·g (transposed kernels, no copies)
  backward: ({ inputs: [a, b], needs }, g) => {
    const { M, K, N, batch, shared } = dims(a!, b!);
    const da = needs[0] ? alloc(a!.dtype, a!.shape, N === 0) : null, db = needs[1] ? alloc(b!.dtype, b!.shape, batch * M === 0) : null;
    if (shared) {
      if (da) k().matmul(g.data, b!.data, da.data, batch * M, N, K, false, true, false);
      if (db) k().matmul(a!.data, g.data, db.data, K, batch * M, N, true, false, false);
    } else for (let i = 0; i < batch; i++) {
      const gi = g.data.subarray(i * M * N);
      if (da) k().matmul(gi, b!.data.subarray(i * K * N), da.data.subarray(i * M * K), M, N, K, false, true, false);
      if (db) k().matmul(a!.data.subarray(i * M * K), gi, db.data.subarray(i * K * N), K, M, N, true, false, false);
    }
    return [da, db];
  },
};

/** y = x·Wᵀ + b for x [..., in], W [out, in] (PyTorch layout), b [out] or null. */
export const linear: OpDef<NoAttrs> = {
  forward: ([x, w, b]) => {
    const O = w!.shape[0], I = w!.shape[1], R = x!.storage.size / I;
    const out = alloc(x!.dtype, [...x!.shape.slice(0, -1), O], I === 0);
    if (b) k().broadcastTo(b.data, [O], out.data, [R, O]);
    k().matmul(x!.data, w!.data, out.data, R, I, O, false, true, b !== null);
    return { out };
  },
  // dx = g·W, dW = gᵀ·x, db = Σ_rows g
  backward: ({ inputs: [x, w, b], needs }, g) => {
    const O = w!.shape[0], I = w!.shape[1], R = x!.storage.size / I;
    let dx: Arr | null = null, dw: Arr | null = null, db: Arr | null = null;
    if (needs[0]) { dx = alloc(x!.dtype, x!.shape, O === 0); k().matmul(g.data, w!.data, dx.data, R, O, I, false, false, false); }
    if (needs[1]) { dw = alloc(w!.dtype, w!.shape, R === 0); k().matmul(g.data, x!.data, dw.data, O, R, I, true, false, false); }
    if (needs[2] && b) db = sumTo(new Arr(g.storage, [R, O]), [O]);
    return [dx, dw, db];
  },
};
