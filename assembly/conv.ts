import { matmul_f32, matmul_work_bytes } from './matmul';

// Convolution and pooling loops over NCHW float32 (the twins of src/kernels/js/conv.ts and pool.ts): im2col and
// its adjoint for the GEMM-based convolution, and max/average pooling over precomputed windows. They move
// data, so they are memory-bound; results equal the js kernels bit for bit (the same float64 sums for
// average pooling, the same first-maximum rule for max pooling).

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/** Output columns j whose input column j·sw + off lies in [0, W): r1 = j0, r2 = j1. */
let r1: i32 = 0;
let r2: i32 = 0;
// @ts-ignore: decorator
@inline function validRange(off: i32, stride: i32, W: i32, OW: i32): void {
  // ceil(−off / stride) and floor((W − 1 − off) / stride) for either sign, as the js kernel's Math.ceil/floor.
  const lo = -off, hi = W - 1 - off;
  const c = lo > 0 ? (lo + stride - 1) / stride : -((-lo) / stride);
  const f = hi >= 0 ? hi / stride : -((-hi + stride - 1) / stride);
  const j0 = min(OW, max(0, c));
  r1 = j0;
  r2 = max(j0, min(OW, f + 1));
}

/** cols[(c·kh + u)·kw + v, i·OW + j] = x[c·H·W + (i·sh − ph + u·dh)·W + j·sw − pw + v·dw], 0 outside. */
export function im2col_f32(x: usize, Cg: i32, H: i32, W: i32, OH: i32, OW: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  ph: i32, pw: i32, dh: i32, dw: i32, cols: usize): void {
  const P = OH * OW;
  let ro = 0;
  for (let c = 0; c < Cg; c++) {
    const xc = c * H * W;
    for (let u = 0; u < kh; u++) {
      for (let v = 0; v < kw; v++, ro += P) {
        const off = v * dw - pw;
        validRange(off, sw, W, OW);
        const j0 = r1, j1 = r2;
        for (let i = 0; i < OH; i++) {
          const ih = i * sh - ph + u * dh, co = at(cols, ro + i * OW);
          if (ih < 0 || ih >= H) { memory.fill(co, 0, <usize>OW << 2); continue; }
          const xr = at(x, xc + ih * W + off);
          for (let j = 0; j < j0; j++) store<f32>(at(co, j), 0);
          if (sw == 1) {
            // rows are short (a feature map's width): inline copies beat memory.copy's call
            let j = j0;
            for (; j + 4 <= j1; j += 4) v128.store(at(co, j), v128.load(at(xr, j)));
            for (; j < j1; j++) store<f32>(at(co, j), load<f32>(at(xr, j)));
          } else for (let j = j0; j < j1; j++) store<f32>(at(co, j), load<f32>(at(xr, j * sw)));
          for (let j = j1; j < OW; j++) store<f32>(at(co, j), 0);
        }
      }
    }
  }
}

/** The adjoint of im2col: dx[…] += cols[…] over every (row, column) that im2col read from x. */
export function col2im_f32(cols: usize, dx: usize, Cg: i32, H: i32, W: i32, OH: i32, OW: i32, kh: i32, kw: i32, sh: i32,
  sw: i32, ph: i32, pw: i32, dh: i32, dw: i32): void {
  const P = OH * OW;
  let ro = 0;
  for (let c = 0; c < Cg; c++) {
    const xc = c * H * W;
    for (let u = 0; u < kh; u++) {
      for (let v = 0; v < kw; v++, ro += P) {
        const off = v * dw - pw;
        validRange(off, sw, W, OW);
        const j0 = r1, j1 = r2;
        for (let i = 0; i < OH; i++) {
          const ih = i * sh - ph + u * dh;
          if (ih < 0 || ih >= H) continue;
          const xr = at(dx, xc + ih * W + off), co = at(cols, ro + i * OW);
          if (sw == 1) {
            let j = j0;
            for (; j + 4 <= j1; j += 4) v128.store(at(xr, j), f32x4.add(v128.load(at(xr, j)), v128.load(at(co, j))));
            for (; j < j1; j++) store<f32>(at(xr, j), load<f32>(at(xr, j)) + load<f32>(at(co, j)));
          } else for (let j = j0; j < j1; j++) store<f32>(at(xr, j * sw), load<f32>(at(xr, j * sw)) + load<f32>(at(co, j)));
        }
      }
    }
  }
}

/**
 * Max over each window of `planes` planes [H, W] into y [planes, OH, OW]; argmax (int32) gets the in-plane index
 * of the window's first maximum (NaN counts as the maximum). Windows: rows [hs[i], he[i]), columns [ws[j], we[j])
 * (int32 arrays).
 */
export function maxpool_f32(x: usize, planes: i32, H: i32, W: i32, OH: i32, OW: i32, hs: usize, he: usize, ws: usize, we: usize,
  y: usize, argmax: usize): void {
  const inPlane = H * W;
  let yo = 0;
  for (let p = 0; p < planes; p++) {
    const xo = at(x, p * inPlane);
    for (let i = 0; i < OH; i++) {
      const ra = load<i32>(at(hs, i)), rb = load<i32>(at(he, i));
      for (let j = 0; j < OW; j++, yo++) {
        const ca = load<i32>(at(ws, j)), cb = load<i32>(at(we, j));
        let m: f32 = -Infinity, best = ra * W + ca;
        for (let r = ra; r < rb; r++) {
          for (let c = ca; c < cb; c++) {
            const v = load<f32>(at(xo, r * W + c));
            if (v > m || v != v) { m = v; best = r * W + c; }
          }
        }
        store<f32>(at(y, yo), m);
        store<i32>(at(argmax, yo), best);
      }
    }
  }
}

/**
 * maxpool_f32 for 2×2 windows at stride 2 without padding (windows rows [2i, 2i + 2), columns [2j, 2j + 2)), four
 * outputs per step. The same rule lane by lane: start from the window's first element, take each later one
 * that is greater or NaN, so results (maximum and argmax) equal the general loop's.
 */
export function maxpool2x2_f32(x: usize, planes: i32, H: i32, W: i32, OH: i32, OW: i32, y: usize, argmax: usize): void {
  const inPlane = H * W;
  const step = i32x4(0, 2, 4, 6);
  let yo = 0;
  for (let p = 0; p < planes; p++) {
    const xo = at(x, p * inPlane);
    for (let i = 0; i < OH; i++) {
      const r0 = at(xo, 2 * i * W), r1 = at(r0, W), base = 2 * i * W;
      let j = 0;
      for (; j + 4 <= OW; j += 4, yo += 4) {
        const a0 = v128.load(at(r0, 2 * j)), a1 = v128.load(at(r0, 2 * j + 4));
        const b0 = v128.load(at(r1, 2 * j)), b1 = v128.load(at(r1, 2 * j + 4));
        const e00 = v128.shuffle<f32>(a0, a1, 0, 2, 4, 6), e01 = v128.shuffle<f32>(a0, a1, 1, 3, 5, 7);
        const e10 = v128.shuffle<f32>(b0, b1, 0, 2, 4, 6), e11 = v128.shuffle<f32>(b0, b1, 1, 3, 5, 7);
        const i00 = i32x4.add(i32x4.splat(base + 2 * j), step);
        let m = e00, idx = i00;
        let k = v128.or(f32x4.gt(e01, m), f32x4.ne(e01, e01));
        m = v128.bitselect(e01, m, k); idx = v128.bitselect(i32x4.add(i00, i32x4.splat(1)), idx, k);
        k = v128.or(f32x4.gt(e10, m), f32x4.ne(e10, e10));
        m = v128.bitselect(e10, m, k); idx = v128.bitselect(i32x4.add(i00, i32x4.splat(W)), idx, k);
        k = v128.or(f32x4.gt(e11, m), f32x4.ne(e11, e11));
        m = v128.bitselect(e11, m, k); idx = v128.bitselect(i32x4.add(i00, i32x4.splat(W + 1)), idx, k);
        v128.store(at(y, yo), m);
        v128.store(at(argmax, yo), idx);
      }
      for (; j < OW; j++, yo++) {
        let m = load<f32>(at(r0, 2 * j)), best = base + 2 * j;
        const v1 = load<f32>(at(r0, 2 * j + 1)), v2 = load<f32>(at(r1, 2 * j)), v3 = load<f32>(at(r1, 2 * j + 1));
        if (v1 > m || v1 != v1) { m = v1; best = base + 2 * j + 1; }
        if (v2 > m || v2 != v2) { m = v2; best = base + W + 2 * j; }
        if (v3 > m || v3 != v3) { m = v3; best = base + W + 2 * j + 1; }
        store<f32>(at(y, yo), m);
        store<i32>(at(argmax, yo), best);
      }
    }
  }
}

/** dx = 0, then dx[p, argmax[p, q]] += dy[p, q]. */
export function maxpool_backward_f32(dy: usize, argmax: usize, planes: i32, inPlane: i32, outPlane: i32, dx: usize): void {
  memory.fill(dx, 0, <usize>planes * <usize>inPlane << 2);
  for (let p = 0; p < planes; p++) {
    const xo = at(dx, p * inPlane), yo = p * outPlane;
    for (let q = 0; q < outPlane; q++) {
      const d = at(xo, load<i32>(at(argmax, yo + q)));
      store<f32>(d, load<f32>(d) + load<f32>(at(dy, yo + q)));
    }
  }
}

/** y[p, i, j] = Σ_window x / (hd[i]·wd[j]) with float64 sums (hd, wd float64 arrays). */
export function avgpool_f32(x: usize, planes: i32, H: i32, W: i32, OH: i32, OW: i32, hs: usize, he: usize, hd: usize,
  ws: usize, we: usize, wd: usize, y: usize): void {
  const inPlane = H * W;
  let yo = 0;
  for (let p = 0; p < planes; p++) {
    const xo = at(x, p * inPlane);
    for (let i = 0; i < OH; i++) {
      const ra = load<i32>(at(hs, i)), rb = load<i32>(at(he, i)), di = load<f64>(hd + (<usize>i << 3));
      for (let j = 0; j < OW; j++, yo++) {
        const ca = load<i32>(at(ws, j)), cb = load<i32>(at(we, j));
        let s: f64 = 0;
        for (let r = ra; r < rb; r++) { const o = at(xo, r * W); for (let c = ca; c < cb; c++) s += <f64>load<f32>(at(o, c)); }
        store<f32>(at(y, yo), <f32>(s / (di * load<f64>(wd + (<usize>j << 3)))));
      }
    }
  }
}

/** dx = 0, then dx[p, window(i, j)] += dy[p, i, j] / (hd[i]·wd[j]), in float64 per addition as the js kernel. */
export function avgpool_backward_f32(dy: usize, planes: i32, H: i32, W: i32, OH: i32, OW: i32, hs: usize, he: usize, hd: usize,
  ws: usize, we: usize, wd: usize, dx: usize): void {
  const inPlane = H * W;
  memory.fill(dx, 0, <usize>planes * <usize>inPlane << 2);
  let yo = 0;
  for (let p = 0; p < planes; p++) {
    const xo = at(dx, p * inPlane);
    for (let i = 0; i < OH; i++) {
      const ra = load<i32>(at(hs, i)), rb = load<i32>(at(he, i)), di = load<f64>(hd + (<usize>i << 3));
      for (let j = 0; j < OW; j++, yo++) {
        const ca = load<i32>(at(ws, j)), cb = load<i32>(at(we, j));
        const gv = <f64>load<f32>(at(dy, yo)) / (di * load<f64>(wd + (<usize>j << 3)));
        for (let r = ra; r < rb; r++) {
          const o = at(xo, r * W);
          for (let c = ca; c < cb; c++) store<f32>(at(o, c), <f32>(<f64>load<f32>(at(o, c)) + gv));
        }
      }
    }
  }
}

// ---- whole convolutions over a range of images (one thread's part) ----
// Geometry arguments as Conv2dGeometry (src/kernels/types.ts). `work` is the calling thread's work area: cols (and
// dcols) [K, P] floats, then the matmul's work area.


/** Bytes of work area the image-range convolution functions need (cols, dcols, matmul work; 16-aligned). */
export function conv_work_bytes(C: i32, O: i32, OH: i32, OW: i32, kh: i32, kw: i32, groups: i32): i32 {
  const Cg = C / groups, Og = O / groups, K = Cg * kh * kw, P = OH * OW;
  const mm = max(matmul_work_bytes(Og, K, P), max(matmul_work_bytes(K, Og, P), matmul_work_bytes(Og, P, K)));
  return 2 * (((K * P * 4) + 15) & ~15) + ((mm + 15) & ~15) + 16;
}

// @ts-ignore: decorator
@inline function pointwise(kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32): bool {
  return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0;
}

/** y[n] = W ⊛ x[n] + b for images n in [n0, n1): im2col, then one GEMM per group (as the js conv2d). */
export function conv2d_images(x: usize, w: usize, b: usize, y: usize, C: i32, H: i32, W: i32, O: i32, OH: i32, OW: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, groups: i32, n0: i32, n1: i32, work: usize): void {
  const Cg = C / groups, Og = O / groups, K = Cg * kh * kw, P = OH * OW;
  const base = (work + 15) & ~15, cols = base, mm = base + 2 * ((<usize>(K * P * 4) + 15) & ~15);
  const pwise = pointwise(kh, kw, sh, sw, ph, pw);
  for (let n = n0; n < n1; n++) {
    for (let g = 0; g < groups; g++) {
      const xo = at(x, (n * C + g * Cg) * H * W), yo = at(y, (n * O + g * Og) * P);
      if (b) for (let o = 0; o < Og; o++) {
        const v = f32x4.splat(load<f32>(at(b, g * Og + o))), row = at(yo, o * P);
        let p = 0;
        for (; p + 4 <= P; p += 4) v128.store(at(row, p), v);
        for (; p < P; p++) store<f32>(at(row, p), load<f32>(at(b, g * Og + o)));
      }
      let src = xo;
      if (!pwise) { im2col_f32(xo, Cg, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw, cols); src = cols; }
      matmul_f32(at(w, g * Og * K), src, yo, Og, K, P, false, false, b != 0, mm);
    }
  }
}

/**
 * dx[n] for images n in [n0, n1) (dx zero on entry): dcols = Wᵀ·dy[n] per group (wt holds Wᵀ per group, [K, Og]),
 * scattered back with col2im (as the js conv2dBackward).
 */
export function conv2d_backward_dx_images(wt: usize, dy: usize, dx: usize, C: i32, H: i32, W: i32, O: i32, OH: i32, OW: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, groups: i32, n0: i32, n1: i32, work: usize): void {
  const Cg = C / groups, Og = O / groups, K = Cg * kh * kw, P = OH * OW;
  const base = (work + 15) & ~15, dcols = base + ((<usize>(K * P * 4) + 15) & ~15), mm = base + 2 * ((<usize>(K * P * 4) + 15) & ~15);
  const pwise = pointwise(kh, kw, sh, sw, ph, pw);
  for (let n = n0; n < n1; n++) {
    for (let g = 0; g < groups; g++) {
      const xo = at(dx, (n * C + g * Cg) * H * W), dyv = at(dy, (n * O + g * Og) * P), wtv = at(wt, g * Og * K);
      if (pwise) { matmul_f32(wtv, dyv, xo, K, Og, P, false, false, false, mm); continue; }
      matmul_f32(wtv, dyv, dcols, K, Og, P, false, false, false, mm);
      col2im_f32(dcols, xo, Cg, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw);
    }
  }
}

/**
 * One block's partial weight and bias gradients: dwp = Σ_{n ∈ [n0, n1)} dy[n]·colsᵀ per group, dbp = Σ_{n, p} dy
 * (dbp 0: not needed). The caller sums the blocks' partials in block order: a fixed partition of the reduction
 * over images, whatever the number of threads.
 */
export function conv2d_backward_dw_block(x: usize, dy: usize, dwp: usize, dbp: usize, C: i32, H: i32, W: i32, O: i32, OH: i32,
  OW: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, groups: i32, n0: i32, n1: i32, work: usize): void {
  const Cg = C / groups, Og = O / groups, K = Cg * kh * kw, P = OH * OW;
  const base = (work + 15) & ~15, cols = base, mm = base + 2 * ((<usize>(K * P * 4) + 15) & ~15);
  const pwise = pointwise(kh, kw, sh, sw, ph, pw);
  if (dbp) for (let o = 0; o < O; o++) store<f64>(dbp + (<usize>o << 3), 0);
  for (let n = n0; n < n1; n++) {
    for (let g = 0; g < groups; g++) {
      const xo = at(x, (n * C + g * Cg) * H * W), dyv = at(dy, (n * O + g * Og) * P);
      let src = xo;
      if (!pwise) { im2col_f32(xo, Cg, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw, cols); src = cols; }
      matmul_f32(dyv, src, at(dwp, g * Og * K), Og, P, K, false, true, n > n0, mm);
      if (dbp) for (let o = 0; o < Og; o++) {
        const row = at(dyv, o * P);
        let s: f64 = 0;
        for (let p = 0; p < P; p++) s += <f64>load<f32>(at(row, p));
        const q = dbp + (<usize>(g * Og + o) << 3);
        store<f64>(q, load<f64>(q) + s);
      }
    }
  }
}
