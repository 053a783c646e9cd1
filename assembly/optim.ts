// Fused optimizer updates over float32 parameters and state, in float64 arithmetic with the js kernel's
// operation order and the same float32 rounding points (stored values are re-read), so the results equal the
// js kernel's bit for bit. Two elements per f64x2 step, an odd last element in scalar code.

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/** Two float32 at p as f64x2. */
// @ts-ignore: decorator
@inline function ld2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

/** Store f64x2 as two float32 at p and return the stored (rounded) values as f64x2. */
// @ts-ignore: decorator
@inline function st2(p: usize, v: v128): v128 {
  const f = f32x4.demote_f64x2_zero(v);
  v128.store_lane<i64>(p, f, 0);
  return f64x2.promote_low_f32x4(f);
}

// @ts-ignore: decorator
@inline function st1(p: usize, v: f64): f64 {
  const f = <f32>v;
  store<f32>(p, f);
  return <f64>f;
}

/** clamp(g, −c, c)·s lanewise; NaN stays NaN. */
// @ts-ignore: decorator
@inline function clip2(g: v128, c: v128, s: v128): v128 {
  const nc = f64x2.neg(c);
  return f64x2.mul(v128.bitselect(c, v128.bitselect(nc, g, f64x2.lt(g, nc)), f64x2.gt(g, c)), s);
}

// @ts-ignore: decorator
@inline function clip1(g: f64, c: f64, s: f64): f64 {
  return (g > c ? c : g < -c ? -c : g) * s;
}

/** One SGD step (Kernels.sgdUpdate); buf may be 0 when momentum is 0. keep = 1 − dampening. */
export function sgd_update(param: usize, grad: usize, buf: usize, n: i32, lr: f64, mu: f64, keep: f64, wd: f64,
  nesterov: bool, initBuf: bool, c: f64, s: f64): void {
  const vlr = f64x2.splat(-lr), vwd = f64x2.splat(wd), vc = f64x2.splat(c), vs = f64x2.splat(s);
  const vmu = f64x2.splat(mu), vkeep = f64x2.splat(keep);
  let i = 0;
  if (mu == 0) {
    for (; i + 2 <= n; i += 2) {
      const pp = at(param, i), p = ld2(pp);
      st2(pp, f64x2.add(p, f64x2.mul(vlr, f64x2.add(clip2(ld2(at(grad, i)), vc, vs), f64x2.mul(vwd, p)))));
    }
    for (; i < n; i++) {
      const pp = at(param, i), p = <f64>load<f32>(pp);
      st1(pp, p + -lr * (clip1(<f64>load<f32>(at(grad, i)), c, s) + wd * p));
    }
    return;
  }
  for (; i + 2 <= n; i += 2) {
    const pp = at(param, i), bp = at(buf, i), p = ld2(pp);
    const d = f64x2.add(clip2(ld2(at(grad, i)), vc, vs), f64x2.mul(vwd, p));
    const b = st2(bp, initBuf ? d : f64x2.add(f64x2.mul(ld2(bp), vmu), f64x2.mul(vkeep, d)));
    st2(pp, f64x2.add(p, f64x2.mul(vlr, nesterov ? f64x2.add(d, f64x2.mul(vmu, b)) : b)));
  }
  for (; i < n; i++) {
    const pp = at(param, i), bp = at(buf, i), p = <f64>load<f32>(pp);
    const d = clip1(<f64>load<f32>(at(grad, i)), c, s) + wd * p;
    const b = st1(bp, initBuf ? d : <f64>load<f32>(bp) * mu + keep * d);
    st1(pp, p + -lr * (nesterov ? d + mu * b : b));
  }
}

/**
 * One Adam/AdamW step (Kernels.adamUpdate) with stepSize = lr/(1 − β1^t), bc2Sqrt = √(1 − β2^t), k1 = 1 − β1,
 * k2 = 1 − β2, l2 = weight decay added to the gradient (Adam), shrink = 1 − lr·wd (AdamW) or 1.
 */
export function adam_update(param: usize, grad: usize, m: usize, v: usize, vmax: usize, n: i32, stepSize: f64, bc2Sqrt: f64,
  b1: f64, b2: f64, k1: f64, k2: f64, eps: f64, l2: f64, shrink: f64, amsgrad: bool, c: f64, s: f64): void {
  const vss = f64x2.splat(-stepSize), vbc = f64x2.splat(bc2Sqrt), vb1 = f64x2.splat(b1), vb2 = f64x2.splat(b2);
  const vk1 = f64x2.splat(k1), vk2 = f64x2.splat(k2), veps = f64x2.splat(eps), vl2 = f64x2.splat(l2);
  const vshrink = f64x2.splat(shrink), vc = f64x2.splat(c), vs = f64x2.splat(s);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const pp = at(param, i), mp = at(m, i), vp = at(v, i);
    const p = st2(pp, f64x2.mul(ld2(pp), vshrink));
    const g = f64x2.add(clip2(ld2(at(grad, i)), vc, vs), f64x2.mul(vl2, p));
    const mi = st2(mp, f64x2.add(f64x2.mul(ld2(mp), vb1), f64x2.mul(vk1, g)));
    let vh = st2(vp, f64x2.add(f64x2.mul(ld2(vp), vb2), f64x2.mul(f64x2.mul(vk2, g), g)));
    if (amsgrad) {
      const wp = at(vmax, i), w = ld2(wp);
      vh = st2(wp, v128.bitselect(w, vh, v128.or(f64x2.gt(w, vh), f64x2.ne(w, w))));
    }
    st2(pp, f64x2.add(p, f64x2.mul(vss, f64x2.div(mi, f64x2.add(f64x2.div(f64x2.sqrt(vh), vbc), veps)))));
  }
  for (; i < n; i++) {
    const pp = at(param, i), mp = at(m, i), vp = at(v, i);
    const p = st1(pp, <f64>load<f32>(pp) * shrink);
    const g = clip1(<f64>load<f32>(at(grad, i)), c, s) + l2 * p;
    const mi = st1(mp, <f64>load<f32>(mp) * b1 + k1 * g);
    let vh = st1(vp, <f64>load<f32>(vp) * b2 + k2 * g * g);
    if (amsgrad) {
      const wp = at(vmax, i), w = <f64>load<f32>(wp);
      vh = st1(wp, w > vh || w != w ? w : vh);
    }
    st1(pp, p + -stepSize * (mi / (Math.sqrt(vh) / bc2Sqrt + eps)));
  }
}
