// Elementwise kernels over float32: binary ops (same shape, scalar, row/column broadcast of [R, C]), unary ops
// and their backward, broadcast copies, blocked 2-D transposes, float32 ↔ float64 conversion, fill.
// Single binary ops (+ − × ÷, sqrt, comparisons) round once, so they equal the js kernel (which computes in
// float64 and rounds once) bit for bit; compound expressions differ by a few ulps.
// The op codes: declared once, in src/kernels/opcodes.ts, which the TypeScript side compiles too.
import { BinaryCode, Mode, UnaryCode } from '../src/kernels/opcodes';
import { expf4, logf4, sigmoidf4, tanhf4 } from './math';

/** Splat slots (16 bytes each) for broadcast operands and vector tails; the module's own static memory. */
const SLOTS: usize = memory.data(64, 16);

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

// @ts-ignore: decorator
@inline function vbin(op: i32, x: v128, y: v128): v128 {
  if (op == BinaryCode.add) return f32x4.add(x, y);
  if (op == BinaryCode.sub) return f32x4.sub(x, y);
  if (op == BinaryCode.mul) return f32x4.mul(x, y);
  if (op == BinaryCode.div) return f32x4.div(x, y);
  // js: x > y || x ≠ x ? x : y (NaN from either side; the second operand on ties, so ±0 follow js).
  if (op == BinaryCode.max) return v128.bitselect(x, y, v128.or(f32x4.gt(x, y), f32x4.ne(x, x)));
  if (op == BinaryCode.min) return v128.bitselect(x, y, v128.or(f32x4.lt(x, y), f32x4.ne(x, x)));
  return v128.and(f32x4.eq(x, y), f32x4.splat(1.0)); // BinaryCode.eq
}

// @ts-ignore: decorator
@inline function sbin(op: i32, x: f32, y: f32): f32 {
  if (op == BinaryCode.add) return x + y;
  if (op == BinaryCode.sub) return x - y;
  if (op == BinaryCode.mul) return x * y;
  if (op == BinaryCode.div) return x / y;
  if (op == BinaryCode.pow) return <f32>Math.pow(<f64>x, <f64>y);
  if (op == BinaryCode.max) return x > y || x != x ? x : y;
  if (op == BinaryCode.min) return x < y || x != x ? x : y;
  return x == y ? 1 : 0;
}

/** out[i] = a[i] ∘ b[i] for i < n; da, db are the byte steps per 4 elements (16, or 0 for a splat slot). */
// @ts-ignore: decorator
@inline function binLoop(op: i32, pa: usize, da: usize, pb: usize, db: usize, o: usize, n: i32): void {
  let i = 0;
  if (op != BinaryCode.pow) {
    for (; i + 4 <= n; i += 4) {
      v128.store(o, vbin(op, v128.load(pa), v128.load(pb)));
      pa += da; pb += db; o += 16;
    }
  }
  const sa = da >> 2, sb = db >> 2;
  for (; i < n; i++) {
    store<f32>(o, sbin(op, load<f32>(pa), load<f32>(pb)));
    pa += sa; pb += sb; o += 4;
  }
}

function binaryRun(op: i32, pa: usize, da: usize, pb: usize, db: usize, o: usize, n: i32): void {
  switch (op) {
    case BinaryCode.add: binLoop(BinaryCode.add, pa, da, pb, db, o, n); break;
    case BinaryCode.sub: binLoop(BinaryCode.sub, pa, da, pb, db, o, n); break;
    case BinaryCode.mul: binLoop(BinaryCode.mul, pa, da, pb, db, o, n); break;
    case BinaryCode.div: binLoop(BinaryCode.div, pa, da, pb, db, o, n); break;
    case BinaryCode.pow: binLoop(BinaryCode.pow, pa, da, pb, db, o, n); break;
    case BinaryCode.max: binLoop(BinaryCode.max, pa, da, pb, db, o, n); break;
    case BinaryCode.min: binLoop(BinaryCode.min, pa, da, pb, db, o, n); break;
    default: binLoop(BinaryCode.eq, pa, da, pb, db, o, n);
  }
}

// Operand modes of the 2-D form [R, C] (Mode, src/kernels/opcodes.ts): Full [R, C], Row [C] (repeated over rows),
// Col [R] (one value per row), Scalar [1].

/** out[r, c] = a(r, c) ∘ b(r, c) over [R, C] with each operand in one of the four modes. */
export function binary_2d(op: i32, a: usize, aMode: i32, b: usize, bMode: i32, out: usize, R: i32, C: i32): void {
  const sa = SLOTS, sb = SLOTS + 16;
  for (let r = 0; r < R; r++) {
    let pa = a, da: usize = 16, pb = b, db: usize = 16;
    if (aMode == Mode.Full) pa = at(a, r * C);
    else if (aMode != Mode.Row) { v128.store(sa, f32x4.splat(load<f32>(at(a, aMode == Mode.Col ? r : 0)))); pa = sa; da = 0; }
    if (bMode == Mode.Full) pb = at(b, r * C);
    else if (bMode != Mode.Row) { v128.store(sb, f32x4.splat(load<f32>(at(b, bMode == Mode.Col ? r : 0)))); pb = sb; db = 0; }
    binaryRun(op, pa, da, pb, db, at(out, r * C), C);
  }
}

/** out = a ∘ s (or s ∘ a) with a float32 scalar. */
export function binary_scalar(op: i32, a: usize, s: f32, out: usize, n: i32, scalarFirst: bool): void {
  v128.store(SLOTS, f32x4.splat(s));
  if (scalarFirst) binaryRun(op, SLOTS, 0, a, 16, out, n);
  else binaryRun(op, a, 16, SLOTS, 0, out, n);
}

/** out = f32(a ∘ s) computed in float64, for a float64 scalar that float32 cannot hold exactly (and pow). */
export function binary_scalar_f64(op: i32, a: usize, s: f64, out: usize, n: i32, scalarFirst: bool): void {
  for (let i = 0; i < n; i++) {
    const v = <f64>load<f32>(at(a, i));
    const x = scalarFirst ? s : v, y = scalarFirst ? v : s;
    let r: f64;
    switch (op) {
      case BinaryCode.add: r = x + y; break;
      case BinaryCode.sub: r = x - y; break;
      case BinaryCode.mul: r = x * y; break;
      case BinaryCode.div: r = x / y; break;
      case BinaryCode.pow: r = Math.pow(x, y); break;
      case BinaryCode.max: r = x > y || x != x ? x : y; break;
      case BinaryCode.min: r = x < y || x != x ? x : y; break;
      default: r = x == y ? 1 : 0;
    }
    store<f32>(at(out, i), <f32>r);
  }
}

// @ts-ignore: decorator
@inline function vun(op: i32, x: v128): v128 {
  if (op == UnaryCode.neg) return f32x4.neg(x);
  if (op == UnaryCode.exp) return expf4(x);
  if (op == UnaryCode.log) return logf4(x);
  if (op == UnaryCode.sqrt) return f32x4.sqrt(x);
  if (op == UnaryCode.abs) return f32x4.abs(x);
  if (op == UnaryCode.sigmoid) return sigmoidf4(x);
  // relu: x > 0 ? x : NaN stays NaN, else +0.
  if (op == UnaryCode.relu) return v128.and(x, v128.or(f32x4.gt(x, f32x4.splat(0)), f32x4.ne(x, x)));
  if (op == UnaryCode.tanh) return tanhf4(x);
  if (op == UnaryCode.square) return f32x4.mul(x, x);
  return f32x4.div(f32x4.splat(1.0), x); // UnaryCode.reciprocal
}

// @ts-ignore: decorator
@inline function unLoop(op: i32, x: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(out, i), vun(op, v128.load(at(x, i))));
  if (i < n) {
    // The tail goes through a slot, so every element sees the same vector code.
    const t = n - i;
    v128.store(SLOTS, f32x4.splat(0));
    memory.copy(SLOTS, at(x, i), <usize>t << 2);
    v128.store(SLOTS, vun(op, v128.load(SLOTS)));
    memory.copy(at(out, i), SLOTS, <usize>t << 2);
  }
}

export function unary(op: i32, x: usize, out: usize, n: i32): void {
  switch (op) {
    case UnaryCode.neg: unLoop(UnaryCode.neg, x, out, n); break;
    case UnaryCode.exp: unLoop(UnaryCode.exp, x, out, n); break;
    case UnaryCode.log: unLoop(UnaryCode.log, x, out, n); break;
    case UnaryCode.sqrt: unLoop(UnaryCode.sqrt, x, out, n); break;
    case UnaryCode.abs: unLoop(UnaryCode.abs, x, out, n); break;
    case UnaryCode.sigmoid: unLoop(UnaryCode.sigmoid, x, out, n); break;
    case UnaryCode.relu: unLoop(UnaryCode.relu, x, out, n); break;
    case UnaryCode.tanh: unLoop(UnaryCode.tanh, x, out, n); break;
    case UnaryCode.square: unLoop(UnaryCode.square, x, out, n); break;
    default: unLoop(UnaryCode.reciprocal, x, out, n);
  }
}

/** dy·f′ from x, y = f(x) and dy, as in the js kernel (tanh: (1 − y)(1 + y) keeps saturated units exact). */
// @ts-ignore: decorator
@inline function vunb(op: i32, x: v128, y: v128, g: v128): v128 {
  const zero = f32x4.splat(0), one = f32x4.splat(1.0);
  if (op == UnaryCode.neg) return f32x4.neg(g);
  if (op == UnaryCode.exp) return f32x4.mul(g, y);
  if (op == UnaryCode.log) return f32x4.div(g, x);
  if (op == UnaryCode.sqrt) return f32x4.div(f32x4.mul(g, f32x4.splat(0.5)), y);
  if (op == UnaryCode.abs) return v128.bitselect(g, v128.and(f32x4.neg(g), f32x4.lt(x, zero)), f32x4.gt(x, zero));
  if (op == UnaryCode.sigmoid) return f32x4.mul(f32x4.mul(g, y), f32x4.sub(one, y));
  if (op == UnaryCode.relu) return v128.and(g, f32x4.gt(x, zero));
  if (op == UnaryCode.tanh) return f32x4.mul(g, f32x4.mul(f32x4.sub(one, y), f32x4.add(one, y)));
  if (op == UnaryCode.square) return f32x4.mul(f32x4.add(x, x), g);
  return f32x4.mul(f32x4.mul(f32x4.neg(g), y), y); // UnaryCode.reciprocal
}

// @ts-ignore: decorator
@inline function sunb(op: i32, x: f64, y: f64, g: f64): f64 {
  if (op == UnaryCode.neg) return -g;
  if (op == UnaryCode.exp) return g * y;
  if (op == UnaryCode.log) return g / x;
  if (op == UnaryCode.sqrt) return g * 0.5 / y;
  if (op == UnaryCode.abs) return x > 0 ? g : x < 0 ? -g : 0;
  if (op == UnaryCode.sigmoid) return g * y * (1 - y);
  if (op == UnaryCode.relu) return x > 0 ? g : 0;
  if (op == UnaryCode.tanh) return g * (1 - y * y);
  if (op == UnaryCode.square) return 2 * x * g;
  return -g * y * y;
}

// @ts-ignore: decorator
@inline function unbLoop(op: i32, x: usize, y: usize, g: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(out, i), vunb(op, v128.load(at(x, i)), v128.load(at(y, i)), v128.load(at(g, i))));
  for (; i < n; i++) {
    store<f32>(at(out, i), <f32>sunb(op, <f64>load<f32>(at(x, i)), <f64>load<f32>(at(y, i)), <f64>load<f32>(at(g, i))));
  }
}

/** out = dy·f′(x); ops that do not read x (or y) get any valid pointer for it. */
export function unary_backward(op: i32, x: usize, y: usize, dy: usize, out: usize, n: i32): void {
  switch (op) {
    case UnaryCode.neg: unbLoop(UnaryCode.neg, x, y, dy, out, n); break;
    case UnaryCode.exp: unbLoop(UnaryCode.exp, x, y, dy, out, n); break;
    case UnaryCode.log: unbLoop(UnaryCode.log, x, y, dy, out, n); break;
    case UnaryCode.sqrt: unbLoop(UnaryCode.sqrt, x, y, dy, out, n); break;
    case UnaryCode.abs: unbLoop(UnaryCode.abs, x, y, dy, out, n); break;
    case UnaryCode.sigmoid: unbLoop(UnaryCode.sigmoid, x, y, dy, out, n); break;
    case UnaryCode.relu: unbLoop(UnaryCode.relu, x, y, dy, out, n); break;
    case UnaryCode.tanh: unbLoop(UnaryCode.tanh, x, y, dy, out, n); break;
    case UnaryCode.square: unbLoop(UnaryCode.square, x, y, dy, out, n); break;
    default: unbLoop(UnaryCode.reciprocal, x, y, dy, out, n);
  }
}

/** out[r, c] = x(r, c) for x in mode Row ([C] repeated), Col ([R], one value per row) or Scalar. */
export function broadcast_2d(x: usize, mode: i32, out: usize, R: i32, C: i32): void {
  for (let r = 0; r < R; r++) {
    const o = at(out, r * C);
    if (mode == Mode.Row) { memory.copy(o, x, <usize>C << 2); continue; }
    if (mode == Mode.Full) { memory.copy(o, at(x, r * C), <usize>C << 2); continue; }
    fill_f32(o, C, load<f32>(at(x, mode == Mode.Col ? r : 0)));
  }
}

export function fill_f32(y: usize, n: i32, v: f32): void {
  const vv = f32x4.splat(v);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const q = at(y, i);
    v128.store(q, vv); v128.store(q, vv, 16); v128.store(q, vv, 32); v128.store(q, vv, 48);
  }
  for (; i + 4 <= n; i += 4) v128.store(at(y, i), vv);
  for (; i < n; i++) store<f32>(at(y, i), v);
}

/** Zero `bytes` bytes at p (memory.fill: a memset, several times faster than TypedArray.fill on shared memory). */
export function zero_bytes(p: usize, bytes: usize): void {
  memory.fill(p, 0, bytes);
}

export function copy_f32(src: usize, dst: usize, n: i32): void {
  memory.copy(dst, src, <usize>n << 2);
}

export function f32_to_f64(src: usize, dst: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(at(src, i)), o = dst + (<usize>i << 3);
    v128.store(o, f64x2.promote_low_f32x4(v));
    v128.store(o, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)), 16);
  }
  for (; i < n; i++) store<f64>(dst + (<usize>i << 3), <f64>load<f32>(at(src, i)));
}

export function f64_to_f32(src: usize, dst: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const s = src + (<usize>i << 3);
    const lo = f32x4.demote_f64x2_zero(v128.load(s)), hi = f32x4.demote_f64x2_zero(v128.load(s, 16));
    v128.store(at(dst, i), v128.shuffle<f32>(lo, hi, 0, 1, 4, 5));
  }
  for (; i < n; i++) store<f32>(at(dst, i), <f32>load<f64>(src + (<usize>i << 3)));
}

/** out[b, c, r] = x[b, r, c] for b < B: 32×32 blocks of 4×4 register transposes, scalar edges. */
export function transpose_f32(x: usize, B: i32, R: i32, C: i32, out: usize): void {
  const R4 = R & ~3, C4 = C & ~3;
  for (let b = 0; b < B; b++) {
    const xb = at(x, b * R * C), ob = at(out, b * R * C);
    for (let r0 = 0; r0 < R4; r0 += 32) {
      const r1 = min(r0 + 32, R4);
      for (let c0 = 0; c0 < C4; c0 += 32) {
        const c1 = min(c0 + 32, C4);
        for (let r = r0; r < r1; r += 4) {
          for (let c = c0; c < c1; c += 4) {
            const p = at(xb, r * C + c), row = <usize>C << 2;
            const v0 = v128.load(p), v1 = v128.load(p + row), v2 = v128.load(p + 2 * row), v3 = v128.load(p + 3 * row);
            const t0 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5);
            const t2 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7);
            const q = at(ob, c * R + r), col = <usize>R << 2;
            v128.store(q, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
            v128.store(q + col, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
            v128.store(q + 2 * col, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
            v128.store(q + 3 * col, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
          }
        }
      }
    }
    // Edges: the last R % 4 rows and C % 4 columns.
    for (let r = 0; r < R; r++) {
      for (let c = r < R4 ? C4 : 0; c < C; c++) store<f32>(at(ob, c * R + r), load<f32>(at(xb, r * C + c)));
    }
  }
}
