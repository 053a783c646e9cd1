// The normalization family's three kernels over x viewed as [N, C, S] (see NormLayout in src/kernels/types.ts):
// statistics, normalize, fused backward. Data float32; statistics (mean, invstd, variance) float64.
//
// The arithmetic is float64 (f64x2, two elements per instruction), like the js kernel and like PyTorch's
// double accumulation of BN statistics: x − μ is exact, sums accumulate in float64, and every output is rounded
// to float32 once. float32 arithmetic (two roundings per multiply-add, no FMA in baseline wasm SIMD) was
// measurably less accurate than PyTorch's float32 in test/nn/*.pytorch.test.ts (BN y, running_var). The price: the kernels
// become compute-bound (BN2d [32, 64, 56, 56]: statistics ≈ 2 ms, about 2× one memory pass; training forward
// + backward ≈ 1.35× the copy floor instead of ≈ 1.0× in float32).
// Runs of S contiguous elements share one statistic and one channel; S = 1 (features [N, C], LayerNorm
// [N, D, 1]) vectorizes over channel pairs instead.

// Two results of the run helpers (single-threaded instance globals).
let r1: f64 = 0;
let r2: f64 = 0;

// @ts-ignore: decorator
@inline function hsum(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

// @ts-ignore: decorator
@inline function at8(p: usize, i: i32): usize {
  return p + (<usize>i << 3);
}

/** The two floats at p as f64x2 (an 8-byte load and a conversion: no shuffle on the FP ports). */
// @ts-ignore: decorator
@inline function ld2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

/** f64x2 rounded to float32 and stored as two floats at p. */
// @ts-ignore: decorator
@inline function st2(p: usize, a: v128): void {
  v128.store_lane<i64>(p, f32x4.demote_f64x2_zero(a), 0);
}

/**
 * r1 = Σ(x − K), r2 = Σ(x − K)² over n floats at p: x − K and its square in float32 lanes (x − K is exact for data
 * near K: Sterbenz), summed in float32 over blocks of 32 elements (8 per lane), the block sums added in float64.
 * Exact 0 for a constant run equal to K.
 */
function shiftedSums(p: usize, n: i32, K: f64): void {
  const kv = f32x4.splat(<f32>K);
  let s1 = f64x2.splat(0), s2 = s1;
  let i = 0;
  for (; i + 32 <= n; i += 32) {
    let a1 = f32x4.splat(0), a2 = a1, b1 = a1, b2 = a1;
    for (let j = 0; j < 32; j += 8) {
      const q = at(p, i + j);
      const d0 = f32x4.sub(v128.load(q), kv), d1 = f32x4.sub(v128.load(q, 16), kv);
      a1 = f32x4.add(a1, d0); a2 = f32x4.add(a2, f32x4.mul(d0, d0));
      b1 = f32x4.add(b1, d1); b2 = f32x4.add(b2, f32x4.mul(d1, d1));
    }
    const c1 = f32x4.add(a1, b1), c2 = f32x4.add(a2, b2);
    s1 = f64x2.add(s1, f64x2.add(f64x2.promote_low_f32x4(c1), f64x2.promote_low_f32x4(v128.shuffle<f32>(c1, c1, 2, 3, 0, 1))));
    s2 = f64x2.add(s2, f64x2.add(f64x2.promote_low_f32x4(c2), f64x2.promote_low_f32x4(v128.shuffle<f32>(c2, c2, 2, 3, 0, 1))));
  }
  let t1 = hsum(s1), t2 = hsum(s2);
  for (; i < n; i++) { const d = <f64>load<f32>(at(p, i)) - K; t1 += d; t2 += d * d; }
  r1 = t1; r2 = t2;
}

/** mean = K + s1/m, variance = (s2 − s1·(s1/m))/m clamped at 0 (NaN passes), as the js kernel. */
// @ts-ignore: decorator
@inline function finish(mean: usize, vari: usize, k: i32, K: f64, s1: f64, s2: f64, m: f64): void {
  const d = s1 / m;
  store<f64>(at8(mean, k), K + d);
  const v = (s2 - s1 * d) / m;
  store<f64>(at8(vari, k), v < 0 ? 0 : v);
}

/** Statistics group of channel c in sample n. */
// @ts-ignore: decorator
@inline function groupOf(n: i32, c: i32, C: i32, groups: i32, V: i32): i32 {
  return groups == 0 ? (n / V) * C + c : n * groups + c / (C / groups);
}

/**
 * Per-group mean and biased variance (shifted sums, shift = the group's first element), for part [lo, hi) of the
 * statistics: channels c ∈ [lo, hi) when groups = 0 (every ghost batch of those channels), statistics groups
 * k ∈ [lo, hi) of the N·groups otherwise. Each statistic is summed by one part in one order, so results do
 * not depend on how the range is split (for S = 1, groups = 0, split at even channels: pairs share a vector).
 */
export function norm_stats(x: usize, N: i32, C: i32, S: i32, groups: i32, V: i32, mean: usize, vari: usize, lo: i32, hi: i32): void {
  if (groups > 0) {
    // Each group is one contiguous block of (C/groups)·S elements.
    const m = (C / groups) * S;
    for (let k = lo; k < hi; k++) {
      const p = at(x, k * m), K = <f64>load<f32>(p);
      shiftedSums(p, m, K);
      finish(mean, vari, k, K, r1, r2, <f64>m);
    }
    return;
  }
  const B = N / V;
  for (let b = 0; b < B; b++) for (let c = lo; c < hi; c++) { store<f64>(at8(mean, b * C + c), 0); store<f64>(at8(vari, b * C + c), 0); }
  if (S == 1) {
    statsFeatures(x, N, C, V, mean, vari, lo, hi);
  } else {
    // Memory order (n outer, c inner) streams x once; the sums accumulate in the outputs.
    for (let n = 0; n < N; n++) {
      const n0 = (n / V) * V, kb = (n / V) * C;
      for (let c = lo; c < hi; c++) {
        const K = <f64>load<f32>(at(x, (n0 * C + c) * S));
        shiftedSums(at(x, (n * C + c) * S), S, K);
        const k = kb + c;
        store<f64>(at8(mean, k), load<f64>(at8(mean, k)) + r1);
        store<f64>(at8(vari, k), load<f64>(at8(vari, k)) + r2);
      }
    }
  }
  const m = <f64>(V * S);
  for (let b = 0; b < B; b++) {
    for (let c = lo; c < hi; c++) {
      const k = b * C + c;
      finish(mean, vari, k, <f64>load<f32>(at(x, (b * V * C + c) * S)), load<f64>(at8(mean, k)), load<f64>(at8(vari, k)), m);
    }
  }
}

/** S = 1, groups = 0: per-channel shifted sums over rows, two channels per f64x2 (accumulated in mean/vari). */
function statsFeatures(x: usize, N: i32, C: i32, V: i32, mean: usize, vari: usize, lo: i32, hi: i32): void {
  for (let n = 0; n < N; n++) {
    const n0 = (n / V) * V, kb = (n / V) * C;
    const row = at(x, n * C), row0 = at(x, n0 * C);
    let c = lo;
    for (; c + 2 <= hi; c += 2) {
      const d = f64x2.sub(ld2(at(row, c)), ld2(at(row0, c)));
      const pm = at8(mean, kb + c), pv = at8(vari, kb + c);
      v128.store(pm, f64x2.add(v128.load(pm), d));
      v128.store(pv, f64x2.add(v128.load(pv), f64x2.mul(d, d)));
    }
    for (; c < hi; c++) {
      const d = <f64>load<f32>(at(row, c)) - <f64>load<f32>(at(row0, c));
      const pm = at8(mean, kb + c), pv = at8(vari, kb + c);
      store<f64>(pm, load<f64>(pm) + d);
      store<f64>(pv, load<f64>(pv) + d * d);
    }
  }
}

/** y = (x − μ)·sc + b over a run of n floats, in float64 (the js kernel's arithmetic). */
function applyRun(xp: usize, yp: usize, n: i32, mu: f64, sc: f64, b: f64): void {
  const mv = f64x2.splat(mu), sv = f64x2.splat(sc), bv = f64x2.splat(b);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const q = at(xp, i), o = at(yp, i);
    st2(o, f64x2.add(f64x2.mul(f64x2.sub(ld2(q), mv), sv), bv));
    st2(o + 8, f64x2.add(f64x2.mul(f64x2.sub(ld2(q + 8), mv), sv), bv));
  }
  for (; i < n; i++) store<f32>(at(yp, i), <f32>((<f64>load<f32>(at(xp, i)) - mu) * sc + b));
}

/**
 * y = (x − mean[k])·invstd[k]·γ[c] + β[c]; gamma/beta 0 mean γ = 1, β = 0. Part [lo, hi) as norm_stats: channels
 * when groups = 0, statistics groups k otherwise.
 */
export function norm_apply(x: usize, N: i32, C: i32, S: i32, groups: i32, V: i32, mean: usize, invstd: usize,
  gamma: usize, beta: usize, y: usize, lo: i32, hi: i32): void {
  if (S == 1) {
    if (groups == 0) applyFeatures(x, N, C, V, mean, invstd, gamma, beta, y, lo, hi);
    else applyRows(x, N, C, groups, mean, invstd, gamma, beta, y, lo, hi);
    return;
  }
  if (groups > 0) {
    const cpg = C / groups;
    for (let k = lo; k < hi; k++) {
      const n = k / groups, c0 = (k % groups) * cpg;
      for (let c = c0; c < c0 + cpg; c++) applyPlane(x, y, n, c, C, S, k, mean, invstd, gamma, beta);
    }
    return;
  }
  for (let n = 0; n < N; n++) for (let c = lo; c < hi; c++) applyPlane(x, y, n, c, C, S, groupOf(n, c, C, 0, V), mean, invstd, gamma, beta);
}

/** One (n, c) run of S elements with statistic k. */
// @ts-ignore: decorator
@inline function applyPlane(x: usize, y: usize, n: i32, c: i32, C: i32, S: i32, k: i32, mean: usize, invstd: usize, gamma: usize, beta: usize): void {
  const sc = load<f64>(at8(invstd, k)) * (gamma ? <f64>load<f32>(at(gamma, c)) : 1.0);
  const b = beta ? <f64>load<f32>(at(beta, c)) : 0.0;
  const o = (n * C + c) * S;
  applyRun(at(x, o), at(y, o), S, load<f64>(at8(mean, k)), sc, b);
}

/** S = 1, groups = 0: two channels per f64x2, the js kernel's float64 arithmetic. */
function applyFeatures(x: usize, N: i32, C: i32, V: i32, mean: usize, invstd: usize, gamma: usize, beta: usize, y: usize, lo: i32, hi: i32): void {
  const one = f64x2.splat(1), zero = f64x2.splat(0);
  for (let n = 0; n < N; n++) {
    const kb = (n / V) * C, xr = at(x, n * C), yr = at(y, n * C);
    let c = lo;
    for (; c + 2 <= hi; c += 2) {
      const g = gamma ? ld2(at(gamma, c)) : one;
      const b = beta ? ld2(at(beta, c)) : zero;
      const sc = f64x2.mul(v128.load(at8(invstd, kb + c)), g);
      const xv = ld2(at(xr, c));
      const yv = f64x2.add(f64x2.mul(f64x2.sub(xv, v128.load(at8(mean, kb + c))), sc), b);
      st2(at(yr, c), yv);
    }
    for (; c < hi; c++) {
      const sc = load<f64>(at8(invstd, kb + c)) * (gamma ? <f64>load<f32>(at(gamma, c)) : 1.0);
      const b = beta ? <f64>load<f32>(at(beta, c)) : 0.0;
      store<f32>(at(yr, c), <f32>((<f64>load<f32>(at(xr, c)) - load<f64>(at8(mean, kb + c))) * sc + b));
    }
  }
}

/** S = 1, groups > 0 (LayerNorm [N, D, 1], GroupNorm of features): y = (x − μ)·(invstd·γ[c]) + β[c], f64x2. */
function applyRows(x: usize, N: i32, C: i32, groups: i32, mean: usize, invstd: usize, gamma: usize, beta: usize, y: usize, lo: i32, hi: i32): void {
  const cpg = C / groups;
  const zero = f64x2.splat(0);
  {
    for (let k = lo; k < hi; k++) {
      const n = k / groups, g = k % groups, c0 = g * cpg;
      const mu = load<f64>(at8(mean, k)), is = load<f64>(at8(invstd, k));
      const mv = f64x2.splat(mu), iv = f64x2.splat(is);
      const xp = at(x, n * C + c0), yp = at(y, n * C + c0), gp = at(gamma, c0), bp = at(beta, c0);
      let i = 0;
      // One loop per affine case, so no loads or multiplies are spent on absent γ, β.
      if (gamma && beta) {
        for (; i + 2 <= cpg; i += 2) {
          st2(at(yp, i), f64x2.add(f64x2.mul(f64x2.sub(ld2(at(xp, i)), mv), f64x2.mul(iv, ld2(at(gp, i)))), ld2(at(bp, i))));
        }
      } else if (!gamma && !beta) {
        for (; i + 2 <= cpg; i += 2) st2(at(yp, i), f64x2.add(f64x2.mul(f64x2.sub(ld2(at(xp, i)), mv), iv), zero));
      } else {
        for (; i + 2 <= cpg; i += 2) {
          const sc = gamma ? f64x2.mul(iv, ld2(at(gp, i))) : iv, b = beta ? ld2(at(bp, i)) : zero;
          st2(at(yp, i), f64x2.add(f64x2.mul(f64x2.sub(ld2(at(xp, i)), mv), sc), b));
        }
      }
      for (; i < cpg; i++) {
        const sc = is * (gamma ? <f64>load<f32>(at(gp, i)) : 1.0), b = beta ? <f64>load<f32>(at(bp, i)) : 0.0;
        store<f32>(at(yp, i), <f32>((<f64>load<f32>(at(xp, i)) - mu) * sc + b));
      }
    }
  }
}

/** r1 = Σ dy, r2 = Σ dy·(x − μ) over a run, in float64. */
function backwardSums(xp: usize, gp: usize, n: i32, mu: f64): void {
  const mv = f64x2.splat(mu);
  let a1 = f64x2.splat(0), a2 = a1, b1 = a1, b2 = a1;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const q = at(xp, i), g = at(gp, i);
    const g0 = ld2(g), g1 = ld2(g + 8);
    a1 = f64x2.add(a1, g0); a2 = f64x2.add(a2, f64x2.mul(g0, f64x2.sub(ld2(q), mv)));
    b1 = f64x2.add(b1, g1); b2 = f64x2.add(b2, f64x2.mul(g1, f64x2.sub(ld2(q + 8), mv)));
  }
  let s1 = hsum(f64x2.add(a1, b1)), s2 = hsum(f64x2.add(a2, b2));
  for (; i < n; i++) {
    const g = <f64>load<f32>(at(gp, i));
    s1 += g; s2 += g * (<f64>load<f32>(at(xp, i)) - mu);
  }
  r1 = s1; r2 = s2;
}

/**
 * dx = invstd·(γ·dy − a − x̂·b) over a run (a = Σg/m, b = Σg·x̂/m), evaluated in float64 as P·dy + Q·(x − μ) + R
 * with P = invstd·γ, Q = −invstd²·b, R = −invstd·a, then rounded once.
 */
function backwardRun(xp: usize, gp: usize, dp: usize, n: i32, mu: f64, is: f64, gm: f64, a: f64, b: f64): void {
  const mv = f64x2.splat(mu), P = f64x2.splat(is * gm), Q = f64x2.splat(-is * is * b), R = f64x2.splat(-is * a);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const q = at(xp, i), g = at(gp, i), o = at(dp, i);
    st2(o, f64x2.add(f64x2.add(f64x2.mul(ld2(g), P), f64x2.mul(f64x2.sub(ld2(q), mv), Q)), R));
    st2(o + 8, f64x2.add(f64x2.add(f64x2.mul(ld2(g + 8), P), f64x2.mul(f64x2.sub(ld2(q + 8), mv), Q)), R));
  }
  for (; i < n; i++) {
    const xh = (<f64>load<f32>(at(xp, i)) - mu) * is;
    store<f32>(at(dp, i), <f32>(is * (gm * <f64>load<f32>(at(gp, i)) - a - xh * b)));
  }
}

/**
 * Fused training backward (see Kernels.normBackward). `scratch` holds 2·G + 2·C float64 (G = statistics
 * count): Σg and Σg·x̂ per group, then dγ and dβ per channel, left there for the caller (float64 outputs).
 * dx, dgamma, dbeta may be 0 (not needed); dgamma/dbeta are written as float32 when given.
 *
 * Part [lo, hi): channels when groups = 0 (split S = 1 at even channels); whole channel groups g ∈ [lo, hi)
 * (over every sample) when groups > 0 and S > 1; for groups > 0 and S = 1 (LayerNorm rows) only the whole range
 * [0, groups). A part touches only its channels' dγ, dβ and its statistics' sums, each accumulated in one order.
 */
export function norm_backward(x: usize, dy: usize, N: i32, C: i32, S: i32, groups: i32, V: i32, mean: usize, invstd: usize,
  gamma: usize, dx: usize, dgamma: usize, dbeta: usize, scratch: usize, lo: i32, hi: i32): void {
  const G = groups == 0 ? (N / V) * C : N * groups;
  const m = <f64>(groups == 0 ? V * S : (C / groups) * S);
  const sumG = scratch, sumGX = at8(scratch, G), dg = at8(scratch, 2 * G), db = at8(scratch, 2 * G + C);
  const cpg = groups == 0 ? 1 : C / groups;
  const c0 = groups == 0 ? lo : lo * cpg, c1 = groups == 0 ? hi : hi * cpg;
  for (let c = c0; c < c1; c++) { store<f64>(at8(dg, c), 0); store<f64>(at8(db, c), 0); }
  if (groups == 0) {
    const B = N / V;
    for (let b = 0; b < B; b++) for (let c = c0; c < c1; c++) { store<f64>(at8(sumG, b * C + c), 0); store<f64>(at8(sumGX, b * C + c), 0); }
  } else {
    for (let n = 0; n < N; n++) for (let g = lo; g < hi; g++) { store<f64>(at8(sumG, n * groups + g), 0); store<f64>(at8(sumGX, n * groups + g), 0); }
  }
  if (S == 1 && groups == 0) backwardFeaturesSums(x, dy, N, C, V, mean, invstd, gamma, sumG, sumGX, dg, db, c0, c1);
  else if (S == 1) backwardRowsSums(x, dy, N, C, groups, mean, invstd, gamma, sumG, sumGX, dg, db);
  else {
    // Pass 1: per (n, c) Σdy and Σdy·x̂, folded into dγ, dβ per channel and Σg, Σg·x̂ per group.
    for (let n = 0; n < N; n++) {
      for (let c = c0; c < c1; c++) {
        const k = groupOf(n, c, C, groups, V), o = (n * C + c) * S;
        const is = load<f64>(at8(invstd, k));
        backwardSums(at(x, o), at(dy, o), S, load<f64>(at8(mean, k)));
        const sdy = r1, sdyx = r2 * is;
        const gm = gamma ? <f64>load<f32>(at(gamma, c)) : 1.0;
        store<f64>(at8(db, c), load<f64>(at8(db, c)) + sdy);
        store<f64>(at8(dg, c), load<f64>(at8(dg, c)) + sdyx);
        store<f64>(at8(sumG, k), load<f64>(at8(sumG, k)) + gm * sdy);
        store<f64>(at8(sumGX, k), load<f64>(at8(sumGX, k)) + gm * sdyx);
      }
    }
  }
  if (dgamma) for (let c = c0; c < c1; c++) store<f32>(at(dgamma, c), <f32>load<f64>(at8(dg, c)));
  if (dbeta) for (let c = c0; c < c1; c++) store<f32>(at(dbeta, c), <f32>load<f64>(at8(db, c)));
  if (!dx) return;
  if (S == 1 && groups == 0) { backwardFeaturesDx(x, dy, N, C, V, mean, invstd, gamma, sumG, sumGX, m, dx, c0, c1); return; }
  if (S == 1) { backwardRowsDx(x, dy, N, C, groups, mean, invstd, gamma, sumG, sumGX, m, dx); return; }
  // Pass 2: dx = invstd·(γ·dy − (Σg + x̂·Σg·x̂)/m).
  for (let n = 0; n < N; n++) {
    for (let c = c0; c < c1; c++) {
      const k = groupOf(n, c, C, groups, V), o = (n * C + c) * S;
      const gm = gamma ? <f64>load<f32>(at(gamma, c)) : 1.0;
      backwardRun(at(x, o), at(dy, o), at(dx, o), S, load<f64>(at8(mean, k)), load<f64>(at8(invstd, k)), gm,
        load<f64>(at8(sumG, k)) / m, load<f64>(at8(sumGX, k)) / m);
    }
  }
}

/** S = 1, groups = 0, pass 1 in f64x2 over channel pairs. */
function backwardFeaturesSums(x: usize, dy: usize, N: i32, C: i32, V: i32, mean: usize, invstd: usize, gamma: usize,
  sumG: usize, sumGX: usize, dg: usize, db: usize, c0: i32, c1: i32): void {
  const one = f64x2.splat(1);
  for (let n = 0; n < N; n++) {
    const kb = (n / V) * C, xr = at(x, n * C), gr = at(dy, n * C);
    let c = c0;
    for (; c + 2 <= c1; c += 2) {
      const k = kb + c;
      const g = ld2(at(gr, c));
      const xv = ld2(at(xr, c));
      const t = f64x2.mul(f64x2.mul(g, f64x2.sub(xv, v128.load(at8(mean, k)))), v128.load(at8(invstd, k)));
      const gm = gamma ? ld2(at(gamma, c)) : one;
      v128.store(at8(db, c), f64x2.add(v128.load(at8(db, c)), g));
      v128.store(at8(dg, c), f64x2.add(v128.load(at8(dg, c)), t));
      v128.store(at8(sumG, k), f64x2.add(v128.load(at8(sumG, k)), f64x2.mul(gm, g)));
      v128.store(at8(sumGX, k), f64x2.add(v128.load(at8(sumGX, k)), f64x2.mul(gm, t)));
    }
    for (; c < c1; c++) {
      const k = kb + c;
      const g = <f64>load<f32>(at(gr, c));
      const t = g * (<f64>load<f32>(at(xr, c)) - load<f64>(at8(mean, k))) * load<f64>(at8(invstd, k));
      const gm = gamma ? <f64>load<f32>(at(gamma, c)) : 1.0;
      store<f64>(at8(db, c), load<f64>(at8(db, c)) + g);
      store<f64>(at8(dg, c), load<f64>(at8(dg, c)) + t);
      store<f64>(at8(sumG, k), load<f64>(at8(sumG, k)) + gm * g);
      store<f64>(at8(sumGX, k), load<f64>(at8(sumGX, k)) + gm * t);
    }
  }
}

/** S = 1, groups = 0, pass 2: dx = invstd·(γ·dy − a − x̂·b), a = Σg/m, b = Σg·x̂/m, in f64x2. */
function backwardFeaturesDx(x: usize, dy: usize, N: i32, C: i32, V: i32, mean: usize, invstd: usize, gamma: usize,
  sumG: usize, sumGX: usize, m: f64, dx: usize, c0: i32, c1: i32): void {
  const one = f64x2.splat(1), mv = f64x2.splat(m);
  for (let n = 0; n < N; n++) {
    const kb = (n / V) * C, xr = at(x, n * C), gr = at(dy, n * C), dr = at(dx, n * C);
    let c = c0;
    for (; c + 2 <= c1; c += 2) {
      const k = kb + c;
      const is = v128.load(at8(invstd, k));
      const gm = gamma ? ld2(at(gamma, c)) : one;
      const a = f64x2.div(v128.load(at8(sumG, k)), mv), b = f64x2.div(v128.load(at8(sumGX, k)), mv);
      const xh = f64x2.mul(f64x2.sub(ld2(at(xr, c)), v128.load(at8(mean, k))), is);
      const g = ld2(at(gr, c));
      const d = f64x2.mul(is, f64x2.sub(f64x2.sub(f64x2.mul(gm, g), a), f64x2.mul(xh, b)));
      st2(at(dr, c), d);
    }
    for (; c < c1; c++) {
      const k = kb + c, is = load<f64>(at8(invstd, k));
      const gm = gamma ? <f64>load<f32>(at(gamma, c)) : 1.0;
      const xh = (<f64>load<f32>(at(xr, c)) - load<f64>(at8(mean, k))) * is;
      store<f32>(at(dr, c), <f32>(is * (gm * <f64>load<f32>(at(gr, c)) - load<f64>(at8(sumG, k)) / m - xh * (load<f64>(at8(sumGX, k)) / m))));
    }
  }
}

/**
 * S = 1, groups > 0 (LayerNorm), pass 1, over blocks of 4096 channels: the block's dγ, dβ (float64, 64 KiB) stay in L2
 * while the rows stream past; per-group sums of γ·dy and γ·dy·x̂ accumulate in sumG, sumGX.
 */
function backwardRowsSums(x: usize, dy: usize, N: i32, C: i32, groups: i32, mean: usize, invstd: usize, gamma: usize,
  sumG: usize, sumGX: usize, dg: usize, db: usize): void {
  const cpg = C / groups, one = f64x2.splat(1);
  for (let c0 = 0; c0 < C; c0 += 4096) {
    const c1 = min(C, c0 + 4096);
    for (let n = 0; n < N; n++) {
      // The groups this block overlaps in row n, one sub-run each.
      for (let c = c0; c < c1;) {
        const gi = c / cpg, e = min(c1, (gi + 1) * cpg), k = n * groups + gi;
        const mu = load<f64>(at8(mean, k)), is = load<f64>(at8(invstd, k));
        const muv = f64x2.splat(mu), isv = f64x2.splat(is);
        const xr = at(x, n * C), gr = at(dy, n * C);
        let sg = f64x2.splat(0), sgx = f64x2.splat(0);
        let s1: f64 = 0, s2: f64 = 0;
        if (gamma) {
          for (; c + 2 <= e; c += 2) {
            const g = ld2(at(gr, c)), gm = ld2(at(gamma, c));
            const t = f64x2.mul(f64x2.mul(g, f64x2.sub(ld2(at(xr, c)), muv)), isv);
            v128.store(at8(db, c), f64x2.add(v128.load(at8(db, c)), g));
            v128.store(at8(dg, c), f64x2.add(v128.load(at8(dg, c)), t));
            sg = f64x2.add(sg, f64x2.mul(gm, g));
            sgx = f64x2.add(sgx, f64x2.mul(gm, t));
          }
        } else {
          for (; c + 2 <= e; c += 2) {
            const g = ld2(at(gr, c));
            const t = f64x2.mul(f64x2.mul(g, f64x2.sub(ld2(at(xr, c)), muv)), isv);
            v128.store(at8(db, c), f64x2.add(v128.load(at8(db, c)), g));
            v128.store(at8(dg, c), f64x2.add(v128.load(at8(dg, c)), t));
            sg = f64x2.add(sg, g);
            sgx = f64x2.add(sgx, t);
          }
        }
        for (; c < e; c++) {
          const g = <f64>load<f32>(at(gr, c));
          const t = g * (<f64>load<f32>(at(xr, c)) - mu) * is;
          const gm = gamma ? <f64>load<f32>(at(gamma, c)) : 1.0;
          store<f64>(at8(db, c), load<f64>(at8(db, c)) + g);
          store<f64>(at8(dg, c), load<f64>(at8(dg, c)) + t);
          s1 += gm * g; s2 += gm * t;
        }
        store<f64>(at8(sumG, k), load<f64>(at8(sumG, k)) + hsum(sg) + s1);
        store<f64>(at8(sumGX, k), load<f64>(at8(sumGX, k)) + hsum(sgx) + s2);
      }
    }
  }
}

/** S = 1, groups > 0, pass 2 in f64x2: dx = invstd·γ[c]·dy + Q·(x − μ) + R with Q = −invstd²·b, R = −invstd·a. */
function backwardRowsDx(x: usize, dy: usize, N: i32, C: i32, groups: i32, mean: usize, invstd: usize, gamma: usize,
  sumG: usize, sumGX: usize, m: f64, dx: usize): void {
  const cpg = C / groups;
  for (let n = 0; n < N; n++) {
    for (let gi = 0; gi < groups; gi++) {
      const k = n * groups + gi, c0 = gi * cpg;
      const mu = load<f64>(at8(mean, k)), is = load<f64>(at8(invstd, k));
      const a = load<f64>(at8(sumG, k)) / m, b = load<f64>(at8(sumGX, k)) / m;
      const muv = f64x2.splat(mu), isv = f64x2.splat(is), Q = f64x2.splat(-is * is * b), R = f64x2.splat(-is * a);
      const xr = at(x, n * C + c0), gr = at(dy, n * C + c0), dr = at(dx, n * C + c0), gp = at(gamma, c0);
      let i = 0;
      if (gamma) {
        for (; i + 2 <= cpg; i += 2) {
          const P = f64x2.mul(isv, ld2(at(gp, i)));
          st2(at(dr, i), f64x2.add(f64x2.add(f64x2.mul(ld2(at(gr, i)), P), f64x2.mul(f64x2.sub(ld2(at(xr, i)), muv), Q)), R));
        }
      } else {
        for (; i + 2 <= cpg; i += 2) {
          st2(at(dr, i), f64x2.add(f64x2.add(f64x2.mul(ld2(at(gr, i)), isv), f64x2.mul(f64x2.sub(ld2(at(xr, i)), muv), Q)), R));
        }
      }
      for (; i < cpg; i++) {
        const gm = gamma ? <f64>load<f32>(at(gp, i)) : 1.0;
        const xh = (<f64>load<f32>(at(xr, i)) - mu) * is;
        store<f32>(at(dr, i), <f32>(is * (gm * <f64>load<f32>(at(gr, i)) - a - xh * b)));
      }
    }
  }
}
