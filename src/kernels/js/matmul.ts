import type { FloatArray } from '../types.js';

// Block sizes: a KB×NB panel of B (≤ 64 KiB in float32) stays in L2 while rows of A stream past it.
const KB = 128, NB = 128;

/**
 * out[M,N] (+)= op(A)·op(B). Four loop orders, one per transpose case, each reading its operands in
 * memory order so no transposed copy is ever made:
 *   NN: C[i,:] += A[i,k]·B[k,:]       (rows of B contiguous; 4 rows of C per pass over B)
 *   NT: C[i,j]  = A[i,:]·B[j,:]       (dot products of contiguous rows; 4 columns per pass over A's row)
 *   TN: C[i,:] += A[k,i]·B[k,:]       (rank-1 updates, k outermost)
 *   TT: C[i,j]  = Σ A[k,i]·B[j,k]     (rare; plain loops)
 */
export function matmul(a: FloatArray, b: FloatArray, out: FloatArray, M: number, K: number, N: number,
  transA: boolean, transB: boolean, accumulate: boolean): void {
  if (out instanceof Float32Array) {
    // Accumulate float32 products in float64 (JavaScript computes in double anyway) and round once at the
    // end: the NN and TN orders would otherwise round the running sum to float32 at every k.
    const acc = scratch(M * N);
    if (accumulate) for (let i = 0; i < M * N; i++) acc[i] = out[i];
    else acc.fill(0, 0, M * N);
    gemm(a, b, acc, M, K, N, transA, transB);
    for (let i = 0; i < M * N; i++) out[i] = acc[i];
    return;
  }
  if (!accumulate) out.fill(0, 0, M * N);
  gemm(a, b, out, M, K, N, transA, transB);
}

let scratchBuf = new Float64Array(0);
function scratch(n: number): Float64Array {
  if (scratchBuf.length < n) scratchBuf = new Float64Array(n);
  return scratchBuf;
}

function gemm(a: FloatArray, b: FloatArray, out: FloatArray, M: number, K: number, N: number, transA: boolean, transB: boolean): void {
  if (!transA && !transB) return mmNN(a, b, out, M, K, N);
  if (!transA && transB) return mmNT(a, b, out, M, K, N);
  if (transA && !transB) return mmTN(a, b, out, M, K, N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += a[k * M + i] * b[j * K + k];
    out[i * N + j] += s;
  }
}

function mmNN(a: FloatArray, b: FloatArray, c: FloatArray, M: number, K: number, N: number): void {
  for (let k0 = 0; k0 < K; k0 += KB) {
    const k1 = Math.min(K, k0 + KB);
    for (let j0 = 0; j0 < N; j0 += NB) {
      const j1 = Math.min(N, j0 + NB);
      let i = 0;
      for (; i + 4 <= M; i += 4) {
        const r0 = i * N, r1 = r0 + N, r2 = r1 + N, r3 = r2 + N;
        for (let k = k0; k < k1; k++) {
          const a0 = a[i * K + k], a1 = a[(i + 1) * K + k], a2 = a[(i + 2) * K + k], a3 = a[(i + 3) * K + k];
          const bo = k * N;
          for (let j = j0; j < j1; j++) {
            const bv = b[bo + j];
            c[r0 + j] += a0 * bv; c[r1 + j] += a1 * bv; c[r2 + j] += a2 * bv; c[r3 + j] += a3 * bv;
          }
        }
      }
      for (; i < M; i++) {
        const r0 = i * N;
        for (let k = k0; k < k1; k++) {
          const a0 = a[i * K + k], bo = k * N;
          for (let j = j0; j < j1; j++) c[r0 + j] += a0 * b[bo + j];
        }
      }
    }
  }
}

function mmNT(a: FloatArray, b: FloatArray, c: FloatArray, M: number, K: number, N: number): void {
  for (let i = 0; i < M; i++) {
    const ao = i * K, co = i * N;
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      const b0 = j * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < K; k++) {
        const av = a[ao + k];
        s0 += av * b[b0 + k]; s1 += av * b[b1 + k]; s2 += av * b[b2 + k]; s3 += av * b[b3 + k];
      }
      c[co + j] += s0; c[co + j + 1] += s1; c[co + j + 2] += s2; c[co + j + 3] += s3;
    }
    for (; j < N; j++) {
      const bo = j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += a[ao + k] * b[bo + k];
      c[co + j] += s;
    }
  }
}

function mmTN(a: FloatArray, b: FloatArray, c: FloatArray, M: number, K: number, N: number): void {
  // Block over rows of C so the rows being updated stay in cache across the k loop.
  const IB = Math.max(1, Math.floor(16384 / Math.max(1, N)));
  for (let i0 = 0; i0 < M; i0 += IB) {
    const i1 = Math.min(M, i0 + IB);
    for (let k = 0; k < K; k++) {
      const ao = k * M, bo = k * N;
      for (let i = i0; i < i1; i++) {
        const av = a[ao + i];
        const co = i * N;
        for (let j = 0; j < N; j++) c[co + j] += av * b[bo + j];
      }
    }
  }
}
