// Vector math in f32x4 for exp, log, tanh and sigmoid: Cephes-style range reduction and minimax polynomials
// (https://www.netlib.org/cephes/, single-precision expf/logf/tanhf), about 1–3 float32 ulps from the
// correctly rounded result (test/kernels/wasm-math.test.ts measures it against Math.*).

// @ts-ignore: decorator
@inline const LOG2E: f32 = 1.44269504088896341;
// ln 2 split so that n·LN2_HI is exact for |n| ≤ 256 (LN2_HI has 9 significant bits).
// @ts-ignore: decorator
@inline const LN2_HI: f32 = 0.693359375;
// @ts-ignore: decorator
@inline const LN2_LO: f32 = -2.12194440e-4;

/** 2^n for integer lanes n in [−126, 127], as float32 bits. */
// @ts-ignore: decorator
@inline function pow2i(n: v128): v128 {
  return i32x4.shl(i32x4.add(n, i32x4.splat(127)), 23);
}

/** e^x lanewise; overflow gives +Inf, underflow 0 (through the subnormals, rounded once), NaN stays NaN. */
// @ts-ignore: decorator
@inline export function expf4(x0: v128): v128 {
  // Clamp (NaN propagates through wasm min/max): e^88.8 overflows, e^−104 rounds to 0.
  const x = f32x4.max(f32x4.min(x0, f32x4.splat(88.8)), f32x4.splat(-104.0));
  const fx = f32x4.nearest(f32x4.mul(x, f32x4.splat(LOG2E)));
  // r = x − n·ln2 in two steps (n·LN2_HI exact), |r| ≤ ln2/2.
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(fx, f32x4.splat(LN2_HI))), f32x4.mul(fx, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const y = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), f32x4.splat(1.0));
  // Scale by 2^n as 2^(n>>1)·2^(n − n>>1): both factors normal for n in [−150, 128], one rounding at the end.
  const n = i32x4.trunc_sat_f32x4_s(fx);
  const n1 = i32x4.shr_s(n, 1);
  return f32x4.mul(f32x4.mul(y, pow2i(n1)), pow2i(i32x4.sub(n, n1)));
}

/** Natural log lanewise: log 0 = −Inf, log(x < 0) = NaN, log Inf = Inf, NaN stays NaN; subnormals handled. */
// @ts-ignore: decorator
@inline export function logf4(x0: v128): v128 {
  // Subnormals: scale by 2^23 first and take 23 off the exponent.
  const sub = f32x4.lt(x0, f32x4.splat(1.17549435e-38));
  const x = v128.bitselect(f32x4.mul(x0, f32x4.splat(8388608.0)), x0, sub);
  let e = i32x4.sub(i32x4.shr_u(x, 23), i32x4.splat(126));
  e = i32x4.sub(e, v128.and(sub, i32x4.splat(23)));
  // m in [0.5, 1); below √½ use 2m − 1 and e − 1, so the reduced argument stays in [√½ − 1, √2 − 1).
  const m = v128.or(v128.and(x, i32x4.splat(0x007fffff)), i32x4.splat(0x3f000000));
  const small = f32x4.lt(m, f32x4.splat(0.707106781186547524));
  e = i32x4.add(e, small); // true lanes are −1
  const f = f32x4.sub(f32x4.add(m, v128.and(m, small)), f32x4.splat(1.0));
  const fe = f32x4.convert_i32x4_s(e);
  const z = f32x4.mul(f, f);
  let p = f32x4.splat(7.0376836292e-2);
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(-1.1514610310e-1));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(1.1676998740e-1));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(-1.2420140846e-1));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(1.4249322787e-1));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(-1.6668057665e-1));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(2.0000714765e-1));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(-2.4999993993e-1));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(3.3333331174e-1));
  let y = f32x4.mul(f32x4.mul(p, f), z);
  y = f32x4.add(y, f32x4.mul(fe, f32x4.splat(LN2_LO)));
  y = f32x4.sub(y, f32x4.mul(z, f32x4.splat(0.5)));
  let r = f32x4.add(f32x4.add(f, y), f32x4.mul(fe, f32x4.splat(LN2_HI)));
  // Special values: 0 → −Inf, negative → NaN, +Inf → +Inf, NaN → NaN.
  r = v128.bitselect(f32x4.splat(-Infinity), r, f32x4.eq(x0, f32x4.splat(0)));
  r = v128.bitselect(f32x4.splat(NaN), r, f32x4.lt(x0, f32x4.splat(0)));
  r = v128.bitselect(x0, r, v128.or(f32x4.eq(x0, f32x4.splat(Infinity)), f32x4.ne(x0, x0)));
  return r;
}

/** tanh lanewise: an odd polynomial below |x| = 0.625, 1 − 2/(e^{2|x|} + 1) (with the sign) above. */
// @ts-ignore: decorator
@inline export function tanhf4(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-3.33332819422e-1));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x);
  const e = expf4(f32x4.add(ax, ax));
  const big = f32x4.sub(f32x4.splat(1.0), f32x4.div(f32x4.splat(2.0), f32x4.add(e, f32x4.splat(1.0))));
  // Copy the sign of x onto the large-argument branch (NaN goes through the large branch and stays NaN).
  const signed = v128.or(big, v128.and(x, i32x4.splat(0x80000000)));
  return v128.bitselect(small, signed, f32x4.lt(ax, f32x4.splat(0.625)));
}

/** 1/(1 + e^−x) for x ≥ 0 and e^x/(1 + e^x) below, one division each, so neither branch overflows. */
// @ts-ignore: decorator
@inline export function sigmoidf4(x: v128): v128 {
  const e = expf4(f32x4.neg(f32x4.abs(x)));
  const num = v128.bitselect(f32x4.splat(1.0), e, f32x4.ge(x, f32x4.splat(0)));
  return f32x4.div(num, f32x4.add(f32x4.splat(1.0), e));
}
