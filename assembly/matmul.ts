// Single-precision GEMM: C[M,N] (+)= op(A)·op(B), op = identity or transpose, for all four variants.
// BLIS-style: blocks of KC×NC of op(B) are packed into panels of NR = 8 columns ([k][8], zero-padded), blocks of
// MC×KC of op(A) into slivers of MR = 4 rows ([k][4], zero-padded); a 4×8 register tile (eight f32x4
// accumulators) runs over each sliver/panel pair. The transposes happen while packing, so the caller never
// makes transposed copies.
//
// Two builds (scripts/build-wasm.mjs): the relaxed-SIMD one multiplies and adds in one relaxed_madd (fused on
// hardware with FMA: one rounding per product-sum, and half the instructions), the baseline one cannot.
//
// Accuracy. Baseline wasm SIMD has no FMA, so each product and each addition rounds. A tile therefore sums
// chunks of KB = 8 (16 when K ≥ 48) products from zero and adds each chunk into C: two-level summation, whose
// error is clearly below that of a sequential dot product, with or without FMA, once K ≥ 16 (simulated rms
// error 9% below FMA's at K = 16, 30–40% below at K ≥ 32; test/kernels/wasm-matmul.test.ts checks it against a
// sequential FMA dot product, as BLAS computes). Below K = 16 product roundings dominate, so small K, and
// problems too small for speed to matter, accumulate in float64 instead (exact products, one rounding at the
// end, like the js kernel).

// @ts-ignore: decorator
@inline const MR = 4;
// @ts-ignore: decorator
@inline const NR = 8;
// @ts-ignore: decorator
@inline const KC = 256;
// @ts-ignore: decorator
@inline const MC = 128;
// @ts-ignore: decorator
@inline const NC = 2048;

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

// @ts-ignore: decorator
@inline function roundUp(x: i32, m: i32): i32 {
  return (x + m - 1) / m * m;
}

/** Bytes of the work area matmul_f32 needs for these sizes (packed A block, packed B block, one tile). */
export function matmul_work_bytes(M: i32, K: i32, N: i32): i32 {
  const kc = min(K, KC), mc = roundUp(min(M, MC), MR), nc = roundUp(min(N, NC), NR);
  return (mc * kc + kc * nc + MR * NR) * 4 + 16;
}

/** 4×4 transpose of rows r0..r3, stored as 4 vectors at out, out + stride, ... */
// @ts-ignore: decorator
@inline function transpose4(r0: v128, r1: v128, r2: v128, r3: v128, out: usize, stride: usize): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(out, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  v128.store(out + stride, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  v128.store(out + 2 * stride, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
  v128.store(out + 3 * stride, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
}

/**
 * Pack rows [i0, i0 + mc) × k in [k0, k0 + kc) of op(A) into slivers of MR rows: element (i, k) of sliver s
 * at out[(s·kc + k)·MR + i]. A(i, k) = a[i·K + k], or a[k·M + i] when transA. Rows past M are zero.
 */
function packA(a: usize, M: i32, K: i32, transA: bool, i0: i32, mc: i32, k0: i32, kc: i32, out: usize): void {
  const zero = f32x4.splat(0);
  for (let s = 0; s < mc; s += MR) {
    const i = i0 + s, rows = min(MR, M - i);
    const o = at(out, s * kc);
    if (transA) {
      if (rows == MR) {
        for (let k = 0; k < kc; k++) v128.store(at(o, k * MR), v128.load(at(a, (k0 + k) * M + i)));
      } else {
        for (let k = 0; k < kc; k++) {
          v128.store(at(o, k * MR), zero);
          for (let r = 0; r < rows; r++) store<f32>(at(o, k * MR + r), load<f32>(at(a, (k0 + k) * M + i + r)));
        }
      }
    } else if (rows == MR) {
      const p0 = at(a, i * K + k0), p1 = at(p0, K), p2 = at(p1, K), p3 = at(p2, K);
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        transpose4(v128.load(at(p0, k)), v128.load(at(p1, k)), v128.load(at(p2, k)), v128.load(at(p3, k)), at(o, k * MR), 16);
      }
      for (; k < kc; k++) {
        const q = at(o, k * MR);
        store<f32>(q, load<f32>(at(p0, k))); store<f32>(q, load<f32>(at(p1, k)), 4);
        store<f32>(q, load<f32>(at(p2, k)), 8); store<f32>(q, load<f32>(at(p3, k)), 12);
      }
    } else {
      for (let k = 0; k < kc; k++) {
        v128.store(at(o, k * MR), zero);
        for (let r = 0; r < rows; r++) store<f32>(at(o, k * MR + r), load<f32>(at(a, (i + r) * K + k0 + k)));
      }
    }
  }
}

/**
 * Pack k in [k0, k0 + kc) × columns [j0, j0 + nc) of op(B) into panels of NR columns: element (k, j) of panel p
 * at out[(p·kc + k)·NR + j]. B(k, j) = b[k·N + j], or b[j·K + k] when transB. Columns past N are zero.
 */
function packB(b: usize, K: i32, N: i32, transB: bool, k0: i32, kc: i32, j0: i32, nc: i32, out: usize): void {
  const zero = f32x4.splat(0);
  for (let p = 0; p < nc; p += NR) {
    const j = j0 + p, cols = min(NR, N - j);
    const o = at(out, p * kc);
    if (!transB) {
      if (cols == NR) {
        for (let k = 0; k < kc; k++) {
          const q = at(b, (k0 + k) * N + j), d = at(o, k * NR);
          v128.store(d, v128.load(q)); v128.store(d, v128.load(q, 16), 16);
        }
      } else {
        for (let k = 0; k < kc; k++) {
          const d = at(o, k * NR);
          v128.store(d, zero); v128.store(d, zero, 16);
          for (let c = 0; c < cols; c++) store<f32>(at(d, c), load<f32>(at(b, (k0 + k) * N + j + c)));
        }
      }
    } else if (cols == NR) {
      const q0 = at(b, j * K + k0), q1 = at(q0, K), q2 = at(q1, K), q3 = at(q2, K);
      const q4 = at(q3, K), q5 = at(q4, K), q6 = at(q5, K), q7 = at(q6, K);
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const d = at(o, k * NR);
        transpose4(v128.load(at(q0, k)), v128.load(at(q1, k)), v128.load(at(q2, k)), v128.load(at(q3, k)), d, 32);
        transpose4(v128.load(at(q4, k)), v128.load(at(q5, k)), v128.load(at(q6, k)), v128.load(at(q7, k)), d + 16, 32);
      }
      for (; k < kc; k++) {
        const d = at(o, k * NR);
        store<f32>(d, load<f32>(at(q0, k))); store<f32>(d, load<f32>(at(q1, k)), 4);
        store<f32>(d, load<f32>(at(q2, k)), 8); store<f32>(d, load<f32>(at(q3, k)), 12);
        store<f32>(d, load<f32>(at(q4, k)), 16); store<f32>(d, load<f32>(at(q5, k)), 20);
        store<f32>(d, load<f32>(at(q6, k)), 24); store<f32>(d, load<f32>(at(q7, k)), 28);
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const d = at(o, k * NR);
        v128.store(d, zero); v128.store(d, zero, 16);
        for (let c = 0; c < cols; c++) store<f32>(at(d, c), load<f32>(at(b, (j + c) * K + k0 + k)));
      }
    }
  }
}

/**
 * c + a·b: one fused multiply-add in the relaxed-SIMD build (one rounding; FMA where the hardware has it), a
 * multiply and an add in the baseline build.
 */
// @ts-ignore: decorator
@inline function mac(c: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

// @ts-ignore: decorator
@inline function put(cp: usize, v: v128, first: bool): void {
  v128.store(cp, first ? v : f32x4.add(v128.load(cp), v));
}

/**
 * 4×8 tile over kc: chunks of kb products summed from zero, each added into C[rows, cols] (the first chunk
 * stores when `first`). Partial tiles (rows < 4 or cols < 8) sum into `tile` and are written element by element.
 */
function micro(kc: i32, kb: i32, pa: usize, pb: usize, c: usize, N: i32, rows: i32, cols: i32, first: bool, tile: usize): void {
  const full = rows == MR && cols == NR;
  if (!full) memory.fill(tile, 0, MR * NR * 4);
  const row = <usize>N << 2;
  for (let k0 = 0; k0 < kc; k0 += kb) {
    const k1 = min(kc, k0 + kb);
    let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    for (let k = k0; k < k1; k++) {
      const b0 = v128.load(pb), b1 = v128.load(pb, 16);
      const a0 = v128.load32_splat(pa), a1 = v128.load32_splat(pa, 4);
      c00 = mac(c00, a0, b0); c01 = mac(c01, a0, b1);
      c10 = mac(c10, a1, b0); c11 = mac(c11, a1, b1);
      const a2 = v128.load32_splat(pa, 8), a3 = v128.load32_splat(pa, 12);
      c20 = mac(c20, a2, b0); c21 = mac(c21, a2, b1);
      c30 = mac(c30, a3, b0); c31 = mac(c31, a3, b1);
      pa += MR * 4; pb += NR * 4;
    }
    if (full) {
      const f = first && k0 == 0;
      let q = c;
      put(q, c00, f); put(q + 16, c01, f); q += row;
      put(q, c10, f); put(q + 16, c11, f); q += row;
      put(q, c20, f); put(q + 16, c21, f); q += row;
      put(q, c30, f); put(q + 16, c31, f);
    } else {
      put(tile, c00, false); put(tile + 16, c01, false); put(tile + 32, c10, false); put(tile + 48, c11, false);
      put(tile + 64, c20, false); put(tile + 80, c21, false); put(tile + 96, c30, false); put(tile + 112, c31, false);
    }
  }
  if (full) return;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const q = at(c, r * N + j), v = load<f32>(at(tile, r * NR + j));
      store<f32>(q, first ? v : load<f32>(q) + v);
    }
  }
}

/**
 * Rows [i0, i1) × columns [j0, j1) of C = op(A)·op(B) (+ C) with float64 accumulation: exact products, one
 * rounding per element. Four or two columns per step, the same arithmetic per element in every loop (so a
 * split of the columns between threads changes no result); for small K and small problems.
 */
function matmulF64(a: usize, b: usize, c: usize, M: i32, K: i32, N: i32, transA: bool, transB: bool, accumulate: bool,
  i0: i32, i1: i32, j0: i32, j1: i32): void {
  // Element strides in bytes: A(i, k) at a + i·ai + k·ak, B(k, j) at b + k·bk + j·bj.
  const ai: usize = transA ? 4 : <usize>K << 2, ak: usize = transA ? <usize>M << 2 : 4;
  const bk: usize = transB ? 4 : <usize>N << 2, bj: usize = transB ? <usize>K << 2 : 4;
  for (let i = i0; i < i1; i++) {
    const pa = a + <usize>i * ai, pc = at(c, i * N);
    let j = j0;
    if (!transB) {
      // B's columns are contiguous: four columns per step, two floats per load.
      for (; j + 4 <= j1; j += 4) {
        let s0 = f64x2.splat(0), s1 = s0;
        let qa = pa, qb = at(b, j);
        for (let k = 0; k < K; k++) {
          const av = f64x2.splat(<f64>load<f32>(qa));
          s0 = f64x2.add(s0, f64x2.mul(av, f64x2.promote_low_f32x4(v128.load64_zero(qb))));
          s1 = f64x2.add(s1, f64x2.mul(av, f64x2.promote_low_f32x4(v128.load64_zero(qb + 8))));
          qa += ak; qb += bk;
        }
        if (accumulate) {
          s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v128.load64_zero(at(pc, j))));
          s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.load64_zero(at(pc, j + 2))));
        }
        v128.store_lane<i64>(at(pc, j), f32x4.demote_f64x2_zero(s0), 0);
        v128.store_lane<i64>(at(pc, j + 2), f32x4.demote_f64x2_zero(s1), 0);
      }
    }
    for (; j + 2 <= j1; j += 2) {
      let s = f64x2.splat(0);
      let qa = pa, qb = b + <usize>j * bj;
      for (let k = 0; k < K; k++) {
        const bv = f64x2.replace_lane(f64x2.splat(<f64>load<f32>(qb)), 1, <f64>load<f32>(qb + bj));
        s = f64x2.add(s, f64x2.mul(f64x2.splat(<f64>load<f32>(qa)), bv));
        qa += ak; qb += bk;
      }
      if (accumulate) s = f64x2.add(s, f64x2.promote_low_f32x4(v128.load64_zero(at(pc, j))));
      v128.store_lane<i64>(at(pc, j), f32x4.demote_f64x2_zero(s), 0);
    }
    for (; j < j1; j++) {
      let s: f64 = 0;
      let qa = pa, qb = b + <usize>j * bj;
      for (let k = 0; k < K; k++) { s += <f64>load<f32>(qa) * <f64>load<f32>(qb); qa += ak; qb += bk; }
      if (accumulate) s += <f64>load<f32>(at(pc, j));
      store<f32>(at(pc, j), <f32>s);
    }
  }
}

/**
 * C[M,N] = op(A)·op(B), or C += op(A)·op(B) when `accumulate`. A is [M,K] ([K,M] when transA), B is [K,N]
 * ([N,K] when transB), all row-major float32. `work` holds matmul_work_bytes(M, K, N) bytes.
 */
export function matmul_f32(a: usize, b: usize, c: usize, M: i32, K: i32, N: i32, transA: bool, transB: bool,
  accumulate: bool, work: usize): void {
  matmul_f32_part(a, b, c, M, K, N, transA, transB, accumulate, work, 0, M, 0, N);
}

/**
 * Rows [i0, i1) × columns [j0, j1) of matmul_f32's C (one thread's part). Every choice — the float64 path for
 * small problems, the blocking of K — depends on M, K, N only, and with i0 a multiple of 4 and j0 of 8 (whole
 * tiles) each element is computed exactly as by the whole call: results do not depend on how C is split.
 */
export function matmul_f32_part(a: usize, b: usize, c: usize, M: i32, K: i32, N: i32, transA: bool, transB: bool,
  accumulate: bool, work: usize, i0: i32, i1: i32, j0: i32, j1: i32): void {
  if (i1 <= i0 || j1 <= j0) return;
  if (K <= 0) {
    if (!accumulate) for (let i = i0; i < i1; i++) memory.fill(at(c, i * N + j0), 0, <usize>(j1 - j0) << 2);
    return;
  }
  if (K < 16 || <f64>M * <f64>N * <f64>K <= 32768) {
    matmulF64(a, b, c, M, K, N, transA, transB, accumulate, i0, i1, j0, j1);
    return;
  }
  const kb = K >= 48 ? 16 : 8;
  const kcMax = min(K, KC), mcMax = roundUp(min(M, MC), MR), ncMax = roundUp(min(N, NC), NR);
  const base = (work + 15) & ~15;
  const pa = base, pb = at(pa, mcMax * kcMax), tile = at(pb, kcMax * ncMax);
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = min(NC, j1 - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      const first = pc == 0 && !accumulate;
      packB(b, K, N, transB, pc, kc, jc, nc, pb);
      for (let ic = i0; ic < i1; ic += MC) {
        const mc = min(MC, i1 - ic);
        packA(a, M, K, transA, ic, mc, pc, kc, pa);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min(NR, nc - jr), panel = at(pb, jr * kc);
          for (let ir = 0; ir < mc; ir += MR) {
            micro(kc, kb, at(pa, ir * kc), panel, at(c, (ic + ir) * N + jc + jr), N, min(MR, mc - ir), cols, first, tile);
          }
        }
      }
    }
  }
}
