/**
 * The wasm backend's kernels: the `Kernels` interface over the AssemblyScript SIMD module (assembly/).
 *
 * ABI: array arguments are byte offsets into the shared memory, sizes i32, scalars f32/f64, flags 0/1, and a
 * pointer 0 means "absent". Data is float32; normalization statistics (mean, invstd, variance) are float64.
 *
 * Every call goes one of three ways:
 * - wasm, direct: all arrays are views on the wasm memory with the dtype the ABI wants;
 * - wasm, staged: some arrays live on the JavaScript heap (or statistics come as float32, or γ/β as float64,
 *   as Batch Renormalization passes them): they are copied into temporary blocks, and outputs copied back;
 * - js fallback (jsKernels), explicitly, when a data array is float64 (float64 tensors are the js backend's
 *   job), for shape patterns the wasm kernels do not cover (general n-d broadcasting, permutations other than
 *   (batched) 2-D transposes, reductions other than over all / the last / the first or a middle block of axes),
 *   for out-of-range class indices (js gives NaN), and for the error cases the js kernels report.
 */
import type { AdamHyper, BinaryOp, Conv2dGeometry, FloatArray, Kernels, PoolAxis, ReduceOp, SgdHyper, UnaryOp } from '../types.js';
import { BinaryCode, Mode, ReduceCode, UnaryCode } from '../opcodes.js';
import { ghostSize, statCount } from '../layout.js';
import { reduceBlocks, sizeOf } from '../shape.js';
import { jsKernels } from '../js/index.js';
import type { WasmMemory } from './memory.js';
import type { WasmExports } from './module.js';
import type { KernelExports } from './exports.generated.js';
import { mergePermutation, modeSize, plan2d } from './patterns.js';
import { IN, INOUT, OUT, Stager } from './staging.js';
import type { KernelPool } from './pool.js';

/**
 * Each op's code in the wasm ABI (../opcodes.ts, which assembly/ compiles too). The mapped types make a missing op
 * or a wrong code a type error.
 */
const BINARY: { readonly [op in BinaryOp]: (typeof BinaryCode)[op] } = {
  add: BinaryCode.add, sub: BinaryCode.sub, mul: BinaryCode.mul, div: BinaryCode.div, pow: BinaryCode.pow,
  max: BinaryCode.max, min: BinaryCode.min, eq: BinaryCode.eq,
};
const UNARY: { readonly [op in UnaryOp]: (typeof UnaryCode)[op] } = {
  neg: UnaryCode.neg, exp: UnaryCode.exp, log: UnaryCode.log, sqrt: UnaryCode.sqrt, abs: UnaryCode.abs,
  sigmoid: UnaryCode.sigmoid, relu: UnaryCode.relu, tanh: UnaryCode.tanh, square: UnaryCode.square, reciprocal: UnaryCode.reciprocal,
};
const REDUCE: { readonly [op in ReduceOp]: (typeof ReduceCode)[op] } = { sum: ReduceCode.sum, max: ReduceCode.max, min: ReduceCode.min };
/** Every op of each kind with its code (the tests iterate over these: an added op is tested on both backends). */
export const opCodes = { binary: BINARY, unary: UNARY, reduce: REDUCE } as const;
/**
 * Whether `binary_scalar` (float32 arithmetic) equals the js kernel (float64, rounded once) for a scalar float32
 * holds exactly: true for ops that round once; false sends the op to `binary_scalar_f64`.
 */
const SCALAR_F32: { readonly [op in BinaryOp]: boolean } = {
  add: true, sub: true, mul: true, div: true, pow: false, max: true, min: true, eq: true,
};
/** Which of x and y each unary backward reads besides dy (the other is not staged). */
const UNARY_READS: { readonly [op in UnaryOp]: 'x' | 'y' | 'neither' } = {
  neg: 'neither', exp: 'y', log: 'x', sqrt: 'y', abs: 'x', sigmoid: 'y', relu: 'x', tanh: 'y', square: 'x', reciprocal: 'y',
};

const f32 = (a: FloatArray | null): boolean => a === null || a instanceof Float32Array;

/**
 * Sizes below which a kernel runs on the calling thread alone: a parallel call costs a few microseconds of
 * dispatch (workers spinning) and splits the data between two cores' caches. Chosen from the bench's crossover
 * table (bench/thresholds.ts: kernels with 1 and 2 threads at sizes around the thresholds, the thresholds forced
 * to 0; 2-core EPYC, Node 20):
 * - `elements` — kernels with arithmetic per element (unary functions and their backward, normalizations,
 *   pooling, Adam): a sigmoid gains ≥ 10% from 8 Ki elements and 2× from 32 Ki; 64 Ki keeps the small
 *   normalizations (unmeasured) on one thread.
 * - `streaming` — kernels that only stream memory (binary ops, scalar ops, SGD): both cores share one memory
 *   bus and the data fits each core's cache, so an add gains nothing below 512 Ki elements (≈ 1.0 from 8 Ki to
 *   256 Ki, 1.13 at 512 Ki); splitting them earlier only burns a second core.
 * - `matmul` — multiply-adds M·N·K: a 48³ product (110 Ki) is 0.73× split, 64³ (256 Ki) 1.03–1.12×, 96³ 1.3–1.5×.
 * Mutable only for that measurement.
 */
export const parallelThresholds = { elements: 1 << 16, streaming: 1 << 19, matmul: 1 << 18 };

/** Images per block of the convolution's weight-gradient partial sums (a fixed partition of that reduction). */
const CONV_BLOCK = 4;

/** A convolution's geometry as the wasm functions take it: C, H, W, O, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw, groups. */
function geom(g: Conv2dGeometry): [C: number, H: number, W: number, O: number, OH: number, OW: number, kh: number, kw: number,
  sh: number, sw: number, ph: number, pw: number, dh: number, dw: number, groups: number] {
  return [g.C, g.H, g.W, g.O, g.OH, g.OW, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.groups];
}

/** Byte offset of row r0 of an operand of `mode` in the 2-D form [R, C]. */
function rowOffset(mode: Mode, r0: number, C: number): number {
  return mode === Mode.Full ? 4 * r0 * C : mode === Mode.Col ? 4 * r0 : 0;
}

/** The `Kernels` of the wasm backend over `mem`, calling the instantiated module `exports`. */
export function createWasmKernels(mem: WasmMemory, exports: WasmExports, pool: KernelPool | null = null): Kernels {
  const w = exports as unknown as KernelExports;
  const st = new Stager(mem);
  const threads = () => pool?.size ?? 1;
  /**
   * Run `fn` over [0, n) split into ranges of whole `align`-element units (one range below `min` elements or with
   * one thread); `args(r0, r1)` gives a range's arguments. Elementwise kernels: a range's result does not depend
   * on the split.
   */
  const ranges = (fn: keyof KernelExports, n: number, min: number, align: number, args: (r0: number, r1: number) => number[]) => {
    const T = threads(), units = Math.ceil(n / align);
    const want = T > 1 && n >= min ? Math.min(2 * T, units, Math.ceil(n / (min / 2))) : 1;
    if (want <= 1) { (exports[fn] as (...x: number[]) => void)(...args(0, n)); return; }
    const cuts: number[] = [0]; // balanced, whole units, no empty part
    for (let p = 1; p <= want; p++) { const c = Math.min(n, Math.round((p * units) / want) * align); if (c > cuts[cuts.length - 1]) cuts.push(c); }
    if (cuts[cuts.length - 1] < n) cuts.push(n);
    const first = args(0, 0);
    pool!.run(fn, cuts.length - 1, first.length, (p, A, o) => { const v = args(cuts[p], cuts[p + 1]); for (let i = 0; i < v.length; i++) A[o + i] = v[i]; });
  };
  const p32 = (a: FloatArray, n: number, dir = IN) => st.ptr(a, 'float32', n, dir);
  const p64 = (a: FloatArray, n: number, dir = IN) => st.ptr(a, 'float64', n, dir);
  const opt32 = (a: FloatArray | null, n: number, dir = IN) => (a ? p32(a, n, dir) : 0);

  /** Pooling windows as int32/float64 arrays in the scratch area, from byte `off` on; returns their pointers. */
  const windows = (h: PoolAxis, wa: PoolAxis, withDivisors: boolean) => {
    const OH = h.start.length, OW = wa.start.length;
    const ints = [h.start, h.end, wa.start, wa.end], dbl = withDivisors ? [h.divisor, wa.divisor] : [];
    const intBytes = 4 * 2 * (OH + OW) + 64, bytes = intBytes + 8 * (OH + OW) + 32;
    const base = st.scratch(bytes);
    let off = 0;
    const ptrs = ints.map((a) => { const p = base + off; new Int32Array(mem.memory.buffer, p, a.length).set(a); off += (a.length * 4 + 15) & ~15; return p; });
    off = (off + 15) & ~15;
    const dptrs = dbl.map((a) => { const p = base + off; new Float64Array(mem.memory.buffer, p, a.length).set(a); off += (a.length * 8 + 15) & ~15; return p; });
    return { hs: ptrs[0], he: ptrs[1], ws: ptrs[2], we: ptrs[3], hd: dptrs[0] ?? 0, wd: dptrs[1] ?? 0 };
  };
  /** Windows [2i, 2i + 2) along an axis (2×2 pooling at stride 2 without padding). */
  const is2x2 = (a: PoolAxis) => {
    for (let i = 0; i < a.start.length; i++) if (a.start[i] !== 2 * i || a.end[i] !== 2 * i + 2) return false;
    return true;
  };
  /** Int32 data staged in a temporary block (argmax indices live on the JavaScript heap). */
  const int32Block = (a: Int32Array, copyIn: boolean) => {
    const t = mem.alloc('float32', Math.max(a.length, 1), false);
    const v = new Int32Array(t.buffer, t.byteOffset, a.length);
    if (copyIn) v.set(a);
    return { t, v, p: t.byteOffset };
  };
  const k: Kernels = {
    binary(op, a, aShape, b, bShape, out, outShape) {
      const plan = f32(a) && f32(b) && f32(out) ? plan2d(outShape, [aShape, bShape]) : null;
      if (!plan) return jsKernels.binary(op, a, aShape, b, bShape, out, outShape);
      const { R, C, modes: [ma, mb] } = plan;
      if (R * C === 0) return;
      st.run(() => {
        const pa = p32(a, modeSize(ma, R, C)), pb = p32(b, modeSize(mb, R, C)), po = p32(out, R * C, OUT);
        ranges('binary_2d', R, Math.ceil(parallelThresholds.streaming / C), 1, (r0, r1) => [BINARY[op], pa + rowOffset(ma, r0, C), ma, pb + rowOffset(mb, r0, C), mb, po + 4 * r0 * C, r1 - r0, C]);
      });
    },

    binaryScalar(op, a, s, out, scalarFirst) {
      if (!f32(a) || !f32(out)) return jsKernels.binaryScalar(op, a, s, out, scalarFirst);
      const n = out.length;
      // float32 arithmetic equals the js kernel's float64-then-round only for a scalar float32 holds exactly.
      const exact = Math.fround(s) === s || Number.isNaN(s);
      st.run(() => {
        const pa = p32(a, n), po = p32(out, n, OUT);
        ranges(exact && SCALAR_F32[op] ? 'binary_scalar' : 'binary_scalar_f64', n, parallelThresholds.streaming, 4, (r0, r1) => [BINARY[op], pa + 4 * r0, s, po + 4 * r0, r1 - r0, +scalarFirst]);
      });
    },

    unary(op, x, out) {
      if (!f32(x) || !f32(out)) return jsKernels.unary(op, x, out);
      const n = x.length;
      st.run(() => {
        const px = p32(x, n), po = p32(out, n, OUT);
        ranges('unary', n, parallelThresholds.elements, 4, (r0, r1) => [UNARY[op], px + 4 * r0, po + 4 * r0, r1 - r0]);
      });
    },

    unaryBackward(op, x, y, dy, out) {
      if (!f32(x) || !f32(y) || !f32(dy) || !f32(out)) return jsKernels.unaryBackward(op, x, y, dy, out);
      const n = dy.length;
      st.run(() => {
        const pg = p32(dy, n);
        const px = UNARY_READS[op] === 'x' ? p32(x, n) : pg, py = UNARY_READS[op] === 'y' ? p32(y, n) : pg, po = p32(out, n, OUT);
        ranges('unary_backward', n, parallelThresholds.elements, 4, (r0, r1) => [UNARY[op], px + 4 * r0, py + 4 * r0, pg + 4 * r0, po + 4 * r0, r1 - r0]);
      });
    },

    reduce(op, x, shape, axes, out) {
      const { dims, red } = reduceBlocks(shape, axes);
      const pattern = red.map((r) => (r ? 'r' : 'k')).join('');
      if (!f32(x) || !f32(out) || sizeOf(shape) === 0 || !['r', 'kr', 'rk', 'krk'].includes(pattern)) {
        return jsKernels.reduce(op, x, shape, axes, out);
      }
      const n = sizeOf(shape), code = REDUCE[op];
      st.run(() => {
        const px = p32(x, n);
        if (pattern === 'r') out[0] = w.reduce_all(code, px, n);
        else if (pattern === 'kr') w.reduce_last(code, px, dims[0], dims[1], p32(out, dims[0], OUT));
        else {
          const [A, R, B] = pattern === 'rk' ? [1, dims[0], dims[1]] : dims;
          w.reduce_middle(code, px, A, R, B, p32(out, A * B, OUT), st.scratch(B * 8));
        }
      });
    },

    argmax(x, R, C, out) {
      if (!f32(x) || !f32(out) || C === 0) return jsKernels.argmax(x, R, C, out);
      st.run(() => w.argmax_rows(p32(x, R * C), R, C, p32(out, R, OUT)));
    },

    broadcastTo(x, shape, out, outShape) {
      const plan = f32(x) && f32(out) ? plan2d(outShape, [shape]) : null;
      if (!plan) return jsKernels.broadcastTo(x, shape, out, outShape);
      const { R, C, modes: [m] } = plan;
      if (R * C === 0) return;
      st.run(() => w.broadcast_2d(p32(x, modeSize(m, R, C)), m, p32(out, R * C, OUT), R, C));
    },

    permute(x, shape, perm, out) {
      const n = sizeOf(shape);
      const { shape: s, perm: p } = mergePermutation(shape, perm);
      const key = p.join(',');
      if (!f32(x) || !f32(out) || n === 0 || !['', '0', '1,0', '0,2,1'].includes(key)) return jsKernels.permute(x, shape, perm, out);
      st.run(() => {
        const px = p32(x, n), po = p32(out, n, OUT);
        if (key === '1,0') w.transpose_f32(px, 1, s[0], s[1], po);
        else if (key === '0,2,1') w.transpose_f32(px, s[0], s[1], s[2], po);
        else w.copy_f32(px, po, n);
      });
    },

    matmul(a, b, out, M, K, N, transA, transB, accumulate) {
      if (!f32(a) || !f32(b) || !f32(out)) return jsKernels.matmul(a, b, out, M, K, N, transA, transB, accumulate);
      if (M * N === 0) return;
      st.run(() => {
        const pa = p32(a, M * K), pb = p32(b, K * N), pc = p32(out, M * N, accumulate ? INOUT : OUT);
        const T = threads(), bytes = (w.matmul_work_bytes(M, K, N) + 15) & ~15;
        // Threads take panels of whole tiles: columns in multiples of 8, else rows in multiples of 4.
        const byCols = N >= 16 * T, units = byCols ? Math.ceil(N / 8) : Math.ceil(M / 4);
        const parts = T > 1 && M * N * K >= parallelThresholds.matmul ? Math.min(units, 2 * T) : 1;
        if (parts === 1) { w.matmul_f32(pa, pb, pc, M, K, N, +transA, +transB, +accumulate, st.scratch(bytes)); return; }
        const base = st.scratch(bytes * T);
        pool!.run('matmul_f32_part', parts, 14, (p, A, o) => {
          const u0 = Math.round((p * units) / parts), u1 = Math.round(((p + 1) * units) / parts); // balanced panels
          const [i0, i1, j0, j1] = byCols ? [0, M, u0 * 8, Math.min(N, u1 * 8)] : [u0 * 4, Math.min(M, u1 * 4), 0, N];
          A.set([pa, pb, pc, M, K, N, +transA, +transB, +accumulate, 0, i0, i1, j0, j1], o);
        }, { arg: 9, base, stride: bytes });
      });
    },

    copy(src, dst) {
      const ps = mem.ptr(src), pd = mem.ptr(dst), n = src.length;
      if (ps < 0 || pd < 0) return jsKernels.copy(src, dst);
      if (src instanceof Float32Array) {
        if (dst instanceof Float32Array) w.copy_f32(ps, pd, n);
        else w.f32_to_f64(ps, pd, n);
      } else if (dst instanceof Float32Array) w.f64_to_f32(ps, pd, n);
      else jsKernels.copy(src, dst);
    },

    fill(dst, value) {
      const p = mem.ptr(dst);
      if (p < 0 || !f32(dst)) return jsKernels.fill(dst, value);
      w.fill_f32(p, dst.length, value);
    },

    sumSquares(x) {
      if (!f32(x)) return jsKernels.sumSquares(x);
      return st.run(() => w.sum_squares(p32(x, x.length), x.length));
    },

    // Normalizations split by channel (BN: every statistic of a channel in one part) or by statistics group
    // (GroupNorm, LayerNorm); the backward of GroupNorm by whole channel groups (see assembly/norm.ts).
    normStats(x, l, mean, variance) {
      if (!f32(x)) return jsKernels.normStats(x, l, mean, variance);
      const G = statCount(l), n = l.N * l.C * l.S;
      st.run(() => {
        const px = p32(x, n), pm = p64(mean, G, OUT), pv = p64(variance, G, OUT);
        const [units, align] = l.groups === 0 ? [l.C, 2] : [l.N * l.groups, 1];
        ranges('norm_stats', units, Math.ceil(parallelThresholds.elements * units / Math.max(n, 1)), align, (lo, hi) => [px, l.N, l.C, l.S, l.groups, ghostSize(l), pm, pv, lo, hi]);
      });
    },

    normApply(x, l, mean, invstd, gamma, beta, y) {
      if (!f32(x) || !f32(y)) return jsKernels.normApply(x, l, mean, invstd, gamma, beta, y);
      const G = statCount(l), n = l.N * l.C * l.S;
      // γ, β are float32 in the ABI: float64 ones (Batch Renormalization's effective γ·r, β + γ·d) are rounded.
      st.run(() => {
        const px = p32(x, n), pm = p64(mean, G), pi = p64(invstd, G), pg = opt32(gamma, l.C), pb = opt32(beta, l.C), py = p32(y, n, OUT);
        const [units, align] = l.groups === 0 ? [l.C, 2] : [l.N * l.groups, 1];
        ranges('norm_apply', units, Math.ceil(parallelThresholds.elements * units / Math.max(n, 1)), align, (lo, hi) => [px, l.N, l.C, l.S, l.groups, ghostSize(l), pm, pi, pg, pb, py, lo, hi]);
      });
    },

    normBackward(x, dy, l, mean, invstd, gamma, dx, dgamma, dbeta) {
      if (!f32(x) || !f32(dy) || !f32(dx)) return jsKernels.normBackward(x, dy, l, mean, invstd, gamma, dx, dgamma, dbeta);
      const G = statCount(l), n = l.N * l.C * l.S, C = l.C;
      st.run(() => {
        const scratch = st.scratch((2 * G + 2 * C) * 8);
        // float32 dγ/dβ are written by the kernel; float64 ones are read from its float64 sums in scratch.
        const pdg = dgamma instanceof Float32Array ? p32(dgamma, C, OUT) : 0;
        const pdb = dbeta instanceof Float32Array ? p32(dbeta, C, OUT) : 0;
        const px = p32(x, n), pg = p32(dy, n), pm = p64(mean, G), pi = p64(invstd, G), pgm = opt32(gamma, C), pdx = opt32(dx, n, OUT);
        // LayerNorm rows (groups, S = 1) sum dγ over every row: one part.
        const [units, align] = l.groups === 0 ? [C, 2] : l.S > 1 ? [l.groups, 1] : [l.groups, l.groups];
        ranges('norm_backward', units, Math.ceil(parallelThresholds.elements * units / Math.max(n, 1)), align,
          (lo, hi) => [px, pg, l.N, C, l.S, l.groups, ghostSize(l), pm, pi, pgm, pdx, pdg, pdb, scratch, lo, hi]);
        if (dgamma instanceof Float64Array) dgamma.set(st.scratchF64(scratch + 2 * G * 8, C));
        if (dbeta instanceof Float64Array) dbeta.set(st.scratchF64(scratch + (2 * G + C) * 8, C));
      });
    },

    softmaxCrossEntropy(logits, N, C, target, dlogits, scale) {
      let ok = f32(logits) && f32(dlogits) && N > 0;
      for (let r = 0; ok && r < N; r++) ok = target[r] >= 0 && target[r] < C;
      if (!ok) return jsKernels.softmaxCrossEntropy(logits, N, C, target, dlogits, scale);
      return st.run(() => {
        const pl = p32(logits, N * C), pd = opt32(dlogits, N * C, OUT);
        return w.softmax_ce(pl, N, C, st.int32(target.subarray(0, N), 0), pd, scale);
      });
    },

    logSoftmax(x, R, C, out) {
      if (!f32(x) || !f32(out)) return jsKernels.logSoftmax(x, R, C, out);
      st.run(() => w.log_softmax(p32(x, R * C), R, C, p32(out, R * C, OUT)));
    },

    sgdUpdate(param, grad, buf, h: SgdHyper) {
      if (!f32(param) || !f32(grad) || !f32(buf) || (h.momentum !== 0 && !buf)) return jsKernels.sgdUpdate(param, grad, buf, h);
      const n = param.length;
      st.run(() => {
        const pp = p32(param, n, INOUT), pg = p32(grad, n), pb = h.momentum !== 0 ? p32(buf!, n, INOUT) : 0;
        ranges('sgd_update', n, parallelThresholds.streaming, 4, (r0, r1) => [pp + 4 * r0, pg + 4 * r0, pb && pb + 4 * r0, r1 - r0,
          h.lr, h.momentum, 1 - h.dampening, h.weightDecay, +h.nesterov, +h.initBuf, h.clipValue, h.gradScale]);
      });
    },

    adamUpdate(param, grad, m, v, vMax, h: AdamHyper) {
      if (!f32(param) || !f32(grad) || !f32(m) || !f32(v) || !f32(vMax) || (h.amsgrad && !vMax)) {
        return jsKernels.adamUpdate(param, grad, m, v, vMax, h);
      }
      const n = param.length;
      // The same scalar setup as the js kernel, so both round identically.
      const stepSize = h.lr / (1 - Math.pow(h.beta1, h.step));
      const bc2Sqrt = Math.sqrt(1 - Math.pow(h.beta2, h.step));
      const l2 = h.decoupled ? 0 : h.weightDecay, shrink = h.decoupled ? 1 - h.lr * h.weightDecay : 1;
      st.run(() => {
        const pp = p32(param, n, INOUT), pg = p32(grad, n), pm = p32(m, n, INOUT), pv = p32(v, n, INOUT), px = h.amsgrad ? p32(vMax!, n, INOUT) : 0;
        ranges('adam_update', n, parallelThresholds.elements, 4, (r0, r1) => [pp + 4 * r0, pg + 4 * r0, pm + 4 * r0, pv + 4 * r0, px && px + 4 * r0, r1 - r0,
          stepSize, bc2Sqrt, h.beta1, h.beta2, 1 - h.beta1, 1 - h.beta2, h.eps, l2, shrink, +h.amsgrad, h.clipValue, h.gradScale]);
      });
    },

    // Convolution: the shared im2col loops (src/kernels/js/conv.ts) over this backend's SIMD matmul, with
    // work areas in wasm memory; float64 data goes to the js kernels. Pooling: the js kernels for now.
    // Convolution: threads take ranges of images, each running im2col and its GEMMs in wasm (conv.ts); the weight
    // and bias gradients are partial sums over fixed blocks of CONV_BLOCK images, added in block order.
    conv2d(x, wt, b, g, y) {
      if (!(f32(x) && f32(wt) && f32(y) && (!b || f32(b)))) return jsKernels.conv2d(x, wt, b, g, y);
      if (g.N === 0 || y.length === 0) return;
      const T = threads();
      st.run(() => {
        const px = p32(x, x.length), pw = p32(wt, wt.length), pb = b ? p32(b, b.length) : 0, py = p32(y, y.length, OUT);
        const bytes = (w.conv_work_bytes(g.C, g.O, g.OH, g.OW, g.kh, g.kw, g.groups) + 15) & ~15;
        const parts = Math.min(g.N, T > 1 ? 2 * T : 1), per = Math.ceil(g.N / parts);
        pool ? pool.run('conv2d_images', parts, 22, (p, A, o) => A.set([px, pw, pb, py, ...geom(g), Math.min(g.N, p * per), Math.min(g.N, (p + 1) * per), 0], o),
          { arg: 21, base: st.scratch(bytes * T), stride: bytes })
          : w.conv2d_images(px, pw, pb, py, ...geom(g), 0, g.N, st.scratch(bytes));
      });
    },
    conv2dBackward(x, wt, dy, g, dx, dw, db) {
      if (!(f32(x) && f32(wt) && f32(dy) && (!dx || f32(dx)) && (!dw || f32(dw)) && (!db || f32(db)))) return jsKernels.conv2dBackward(x, wt, dy, g, dx, dw, db);
      const { N, C, O, kh, kw, groups } = g, Cg = C / groups, Og = O / groups, K = Cg * kh * kw;
      const T = threads();
      const bytes = (w.conv_work_bytes(g.C, g.O, g.OH, g.OW, g.kh, g.kw, g.groups) + 15) & ~15;
      // The work area is each function's last argument.
      const run = (fn: keyof KernelExports, parts: number, args: (p: number) => number[]) => {
        const n = args(0).length;
        if (pool) pool.run(fn, parts, n, (p, A, o) => A.set(args(p), o), { arg: n - 1, base: st.scratch(bytes * T), stride: bytes });
        else for (let p = 0; p < parts; p++) { const a = args(p); a[n - 1] = st.scratch(bytes); (exports[fn] as (...v: number[]) => void)(...a); }
      };
      if (dw || db) {
        const blocks = Math.max(1, Math.ceil(N / CONV_BLOCK));
        const parts = dw ? O * K : 0;
        const dwp = mem.alloc('float32', Math.max(1, blocks * parts), false), dbp = mem.alloc('float64', Math.max(1, blocks * O), false);
        try {
          st.run(() => {
            const px = p32(x, x.length), pg = p32(dy, dy.length);
            if (N > 0) run('conv2d_backward_dw_block', blocks, (p) => [px, pg, mem.ptr(dwp) + 4 * p * parts, db ? mem.ptr(dbp) + 8 * p * O : 0, ...geom(g),
              p * CONV_BLOCK, Math.min(N, (p + 1) * CONV_BLOCK), 0]);
          });
          if (dw) {
            // dw = Σ_blocks partial, in block order (float32 adds, as a sequential accumulation would round)
            const out = dw;
            for (let i = 0; i < parts; i++) { let s = N > 0 ? dwp[i] : 0; for (let bk = 1; bk < blocks; bk++) s = Math.fround(s + dwp[bk * parts + i]); out[i] = s; }
          }
          if (db) for (let o = 0; o < O; o++) { let s = 0; if (N > 0) for (let bk = 0; bk < blocks; bk++) s += dbp[bk * O + o]; db[o] = s; }
        } finally { mem.freeView(dwp); mem.freeView(dbp); }
      }
      if (!dx) return;
      dx.fill(0);
      if (N === 0) return;
      // Wᵀ per group [K, Og], made once per call (O(weights)): dcols = Wᵀ·dy then runs as the NN kernel.
      const wtT = mem.alloc('float32', wt.length, false);
      try {
        for (let gi = 0; gi < groups; gi++) {
          const base = gi * Og * K;
          for (let o = 0; o < Og; o++) for (let c = 0; c < K; c++) wtT[base + c * Og + o] = wt[base + o * K + c];
        }
        st.run(() => {
          const pg = p32(dy, dy.length), pd = p32(dx, dx.length, INOUT);
          const parts = Math.min(N, T > 1 ? 2 * T : 1), per = Math.ceil(N / parts);
          run('conv2d_backward_dx_images', parts, (p) => [mem.ptr(wtT), pg, pd, ...geom(g), Math.min(N, p * per), Math.min(N, (p + 1) * per), 0]);
        });
      } finally { mem.freeView(wtT); }
    },
    maxPool2d(x, planes, h, wa, y, am) {
      if (!f32(x) || !f32(y) || planes === 0 || y.length === 0) return jsKernels.maxPool2d(x, planes, h, wa, y, am);
      const OH = h.start.length, OW = wa.start.length, n = planes * h.size * wa.size;
      const b = int32Block(am, false);
      try {
        st.run(() => {
          const px = p32(x, n), py = p32(y, planes * OH * OW, OUT), inP = h.size * wa.size, outP = OH * OW;
          if (is2x2(h) && is2x2(wa)) {
            ranges('maxpool2x2_f32', planes, Math.ceil(parallelThresholds.elements / inP), 1, (p0, p1) => [px + 4 * p0 * inP, p1 - p0, h.size, wa.size, OH, OW, py + 4 * p0 * outP, b.p + 4 * p0 * outP]);
            return;
          }
          const wn = windows(h, wa, false);
          ranges('maxpool_f32', planes, Math.ceil(parallelThresholds.elements / inP), 1, (p0, p1) => [px + 4 * p0 * inP, p1 - p0, h.size, wa.size, OH, OW, wn.hs, wn.he, wn.ws, wn.we,
            py + 4 * p0 * outP, b.p + 4 * p0 * outP]);
        });
        am.set(b.v);
      } finally { mem.freeView(b.t); }
    },
    maxPool2dBackward(dy, am, planes, inPlane, dx) {
      if (!f32(dy) || !f32(dx) || planes === 0) return jsKernels.maxPool2dBackward(dy, am, planes, inPlane, dx);
      const b = int32Block(am, true);
      try {
        st.run(() => {
          const pg = p32(dy, dy.length), pd = p32(dx, planes * inPlane, OUT), outP = dy.length / planes;
          ranges('maxpool_backward_f32', planes, Math.ceil(parallelThresholds.elements / inPlane), 1, (p0, p1) => [pg + 4 * p0 * outP, b.p + 4 * p0 * outP, p1 - p0, inPlane, outP, pd + 4 * p0 * inPlane]);
        });
      } finally { mem.freeView(b.t); }
    },
    avgPool2d(x, planes, h, wa, y) {
      if (!f32(x) || !f32(y) || planes === 0 || y.length === 0) return jsKernels.avgPool2d(x, planes, h, wa, y);
      const OH = h.start.length, OW = wa.start.length;
      st.run(() => { const wn = windows(h, wa, true); w.avgpool_f32(p32(x, planes * h.size * wa.size), planes, h.size, wa.size, OH, OW, wn.hs, wn.he, wn.hd, wn.ws, wn.we, wn.wd, p32(y, planes * OH * OW, OUT)); });
    },
    avgPool2dBackward(dy, planes, h, wa, dx) {
      if (!f32(dy) || !f32(dx) || planes === 0 || dy.length === 0) return jsKernels.avgPool2dBackward(dy, planes, h, wa, dx);
      const OH = h.start.length, OW = wa.start.length;
      st.run(() => { const wn = windows(h, wa, true); w.avgpool_backward_f32(p32(dy, planes * OH * OW), planes, h.size, wa.size, OH, OW, wn.hs, wn.he, wn.hd, wn.ws, wn.we, wn.wd, p32(dx, planes * h.size * wa.size, OUT)); });
    },
  };
  return k;
}

