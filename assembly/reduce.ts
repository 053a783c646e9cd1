// Reductions over float32: sum (accumulated in float64), max and min (NaN propagates, as in the js kernel)
// over everything, over the last axis of [R, K], or over the middle axis of [A, R, B]; argmax; sum of squares.

// The op codes: declared once, in src/kernels/opcodes.ts, which the TypeScript side compiles too.
import { ReduceCode } from '../src/kernels/opcodes';

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

// @ts-ignore: decorator
@inline function at8(p: usize, i: i32): usize {
  return p + (<usize>i << 3);
}

/** The four floats of v widened and added into two f64 lanes. */
// @ts-ignore: decorator
@inline function widen(v: v128): v128 {
  return f64x2.add(f64x2.promote_low_f32x4(v), f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)));
}

/** Σ x[0..n) in float64. */
function sumRun(p: usize, n: i32): f64 {
  let a = f64x2.splat(0), b = a;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const q = at(p, i);
    a = f64x2.add(a, widen(v128.load(q)));
    b = f64x2.add(b, widen(v128.load(q, 16)));
  }
  a = f64x2.add(a, b);
  let s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  for (; i < n; i++) s += <f64>load<f32>(at(p, i));
  return s;
}

// @ts-ignore: decorator
@inline function pick(r: f32, t: f32, isMax: bool): f32 {
  return (isMax ? t > r : t < r) || t != t ? t : r;
}

/** max (isMax) or min of x[0..n) and v, with NaN sticking once seen. */
function extremeRun(p: usize, n: i32, v: f32, isMax: bool): f32 {
  let acc = f32x4.splat(v);
  let i = 0;
  if (isMax) {
    for (; i + 4 <= n; i += 4) {
      const t = v128.load(at(p, i));
      acc = v128.bitselect(t, acc, v128.or(f32x4.gt(t, acc), f32x4.ne(t, t)));
    }
  } else {
    for (; i + 4 <= n; i += 4) {
      const t = v128.load(at(p, i));
      acc = v128.bitselect(t, acc, v128.or(f32x4.lt(t, acc), f32x4.ne(t, t)));
    }
  }
  let r = v;
  r = pick(r, f32x4.extract_lane(acc, 0), isMax); r = pick(r, f32x4.extract_lane(acc, 1), isMax);
  r = pick(r, f32x4.extract_lane(acc, 2), isMax); r = pick(r, f32x4.extract_lane(acc, 3), isMax);
  for (; i < n; i++) {
    const t = load<f32>(at(p, i));
    if ((isMax ? t > r : t < r) || t != t) r = t;
  }
  return r;
}

/** Reduce all n elements: sum in float64, or max/min. */
export function reduce_all(op: i32, x: usize, n: i32): f64 {
  if (op == ReduceCode.sum) return sumRun(x, n);
  return <f64>extremeRun(x, n, op == ReduceCode.max ? -Infinity : Infinity, op == ReduceCode.max);
}

/** out[r] = reduce over the last axis of x [R, K]. */
export function reduce_last(op: i32, x: usize, R: i32, K: i32, out: usize): void {
  for (let r = 0; r < R; r++) {
    const p = at(x, r * K);
    store<f32>(at(out, r), op == ReduceCode.sum ? <f32>sumRun(p, K) : extremeRun(p, K, op == ReduceCode.max ? -Infinity : Infinity, op == ReduceCode.max));
  }
}

/**
 * out[a, b] = reduce over r of x [A, R, B]. Sums accumulate in float64 in `scratch` (B float64), max/min
 * in out directly, row by row in x's memory order.
 */
export function reduce_middle(op: i32, x: usize, A: i32, R: i32, B: i32, out: usize, scratch: usize): void {
  for (let a = 0; a < A; a++) {
    const xa = at(x, a * R * B), oa = at(out, a * B);
    if (op == ReduceCode.sum) {
      memory.fill(scratch, 0, <usize>B << 3);
      for (let r = 0; r < R; r++) {
        const p = at(xa, r * B);
        let j = 0;
        for (; j + 4 <= B; j += 4) {
          const v = v128.load(at(p, j)), s = at8(scratch, j);
          v128.store(s, f64x2.add(v128.load(s), f64x2.promote_low_f32x4(v)));
          v128.store(s, f64x2.add(v128.load(s, 16), f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3))), 16);
        }
        for (; j < B; j++) store<f64>(at8(scratch, j), load<f64>(at8(scratch, j)) + <f64>load<f32>(at(p, j)));
      }
      for (let j = 0; j < B; j++) store<f32>(at(oa, j), <f32>load<f64>(at8(scratch, j)));
      continue;
    }
    const isMax = op == ReduceCode.max;
    const init = f32x4.splat(isMax ? -Infinity : Infinity);
    let j = 0;
    for (; j + 4 <= B; j += 4) v128.store(at(oa, j), init);
    for (; j < B; j++) store<f32>(at(oa, j), isMax ? -Infinity : Infinity);
    for (let r = 0; r < R; r++) {
      const p = at(xa, r * B);
      j = 0;
      for (; j + 4 <= B; j += 4) {
        const t = v128.load(at(p, j)), v = v128.load(at(oa, j));
        const take = v128.or(isMax ? f32x4.gt(t, v) : f32x4.lt(t, v), f32x4.ne(t, t));
        v128.store(at(oa, j), v128.bitselect(t, v, take));
      }
      for (; j < B; j++) {
        const t = load<f32>(at(p, j)), v = load<f32>(at(oa, j));
        if ((isMax ? t > v : t < v) || t != t) store<f32>(at(oa, j), t);
      }
    }
  }
}

/** Index of the first maximum of each row of x [R, C] (the first NaN counts as the maximum), as float32. */
export function argmax_rows(x: usize, R: i32, C: i32, out: usize): void {
  for (let r = 0; r < R; r++) {
    const p = at(x, r * C);
    let best = 0, bv = load<f32>(p);
    for (let c = 1; c < C && bv == bv; c++) {
      const v = load<f32>(at(p, c));
      if (v > bv || v != v) { bv = v; best = c; }
    }
    store<f32>(at(out, r), <f32>best);
  }
}

/** Σ x² in float64 (each square exact in float64). */
export function sum_squares(x: usize, n: i32): f64 {
  let a = f64x2.splat(0), b = a;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(at(x, i));
    const lo = f64x2.promote_low_f32x4(v), hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
    a = f64x2.add(a, f64x2.mul(lo, lo));
    b = f64x2.add(b, f64x2.mul(hi, hi));
  }
  a = f64x2.add(a, b);
  let s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  for (; i < n; i++) { const v = <f64>load<f32>(at(x, i)); s += v * v; }
  return s;
}
