import { afterEach, describe, expect, it } from 'vitest';
import { Rng, Tensor, cat, nn, stack, tensor } from '../../src/index.js';
import { ops, type NormAttrs, type OpName } from '../../src/autograd/index.js';
import { op } from '../../src/tensor/index.js';
import { Arr } from '../../src/autograd/index.js';
import { hostStorage } from '../../src/memory/index.js';
import { gradcheck, graphOps, type GradcheckOptions } from '../helpers/gradcheck.js';

/*
 * Tier (a): finite-difference gradient checks in float64 for every op of the autograd op table.
 * Every case names the op it is for; a coverage test fails when an op of `ops` has no case, and every case
 * is also run against a deliberately wrong backward of its op (one input's gradient d replaced by 1.01·d + 1e-4) to
 * show that it can fail.
 */

interface Case {
  /** The op whose backward this case checks (it must appear in the recorded graph). */
  op: OpName;
  name: string;
  /** Builds fresh float64 inputs and the function to check (called with a seeded generator). */
  make: () => { fn: (...xs: Tensor[]) => Tensor; inputs: Tensor[] };
  opts?: GradcheckOptions;
}

// ---- inputs: float64 leaves drawn from the generator of the running case ----
let rng = new Rng(0);
function fill(shape: number[], f: () => number, requiresGrad = true): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return tensor(Float64Array.from({ length: n }, f), shape, { dtype: 'float64', requiresGrad });
}
/** N(0, 1) values. */
const normal = (shape: number[], scale = 1) => fill(shape, () => scale * rng.normal());
/** Values in [0.5, 2): domain of log, sqrt, pow bases. */
const positive = (shape: number[]) => fill(shape, () => 0.5 + 1.5 * rng.uniform());
/** Values with 0.2 ≤ |v| < 1.7 and a random sign: away from the kinks of abs/relu and the pole of 1/x. */
const awayFromZero = (shape: number[]) => fill(shape, () => (rng.uniform() < 0.5 ? -1 : 1) * (0.2 + 1.5 * rng.uniform()));
/** Values on the grid 0.1·k + offset, so two grids with different offsets never come closer than 0.05. */
const grid = (shape: number[], offset: number) => fill(shape, () => 0.1 * (rng.int(41) - 20) + offset);
/** Distinct values (a shuffled 0.1·k + noise): no ties for max. */
function distinct(shape: number[]): Tensor {
  const t = fill(shape, () => 0);
  const idx = Array.from({ length: t.size }, (_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) { const j = rng.int(i + 1); [idx[i], idx[j]] = [idx[j], idx[i]]; }
  idx.forEach((v, i) => { t.data[i] = 0.1 * v - 1 + 0.01 * rng.uniform(); });
  return t;
}
const constant = (t: Tensor) => { t.requiresGrad = false; return t; };

function seedFor(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** The fused norm op applied directly (what GroupNorm/InstanceNorm/LayerNorm modules will call). */
function normOp(x: Tensor, gamma: Tensor | null, beta: Tensor | null, attrs: NormAttrs): Tensor {
  return op('norm', [x, gamma, beta], attrs);
}

const cases: Case[] = [];
const add = (op: OpName, name: string, make: Case['make'], opts?: GradcheckOptions) => cases.push({ op, name, make, opts });

// ---- binary elementwise ops, broadcasting in both directions, scalars and numbers ----
type BinName = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum';
const binaryShapes: [number[], number[]][] = [
  [[2, 3], [2, 3]], [[2, 3], [3]], [[3], [2, 3]], [[2, 1], [1, 3]], [[4, 1, 3], [2, 1]], [[2, 3], []], [[], [2, 3]],
];
function binaryOperands(op: BinName, sa: number[], sb: number[]): [Tensor, Tensor] {
  switch (op) {
    case 'div': return [normal(sa), awayFromZero(sb)];
    case 'pow': return [positive(sa), normal(sb)];
    case 'maximum': case 'minimum': return [grid(sa, 0.05), grid(sb, 0)];
    default: return [normal(sa), normal(sb)];
  }
}
const binaryOps: BinName[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum'];
for (const op of binaryOps) {
  for (const [sa, sb] of binaryShapes)
    add(op, `${op} [${sa}] ∘ [${sb}]`, () => ({ fn: (a, b) => a[op](b), inputs: binaryOperands(op, sa, sb) }));
  add(op, `${op} with a constant right operand`, () => {
    const [a, b] = binaryOperands(op, [2, 3], [3]);
    constant(b);
    return { fn: (x) => x[op](b), inputs: [a] };
  });
  add(op, `${op} with a constant left operand`, () => {
    const [a, b] = binaryOperands(op, [3], [2, 3]);
    constant(a);
    return { fn: (y) => a[op](y), inputs: [b] };
  });
}
for (const [op, s] of [['add', 2.5], ['sub', -1.25], ['mul', 3], ['div', 0.75], ['pow', 3], ['pow', 0.5], ['pow', -1.5], ['maximum', 0.02], ['minimum', 0.02]] as const)
  add(op, `${op} with the number ${s}`, () => ({ fn: (x) => x[op](s), inputs: [op === 'pow' ? positive([2, 3]) : grid([2, 3], 0.05)] }));
add('pow', 'pow: number base 2 via a constant scalar tensor', () => ({ fn: (p) => fill([], () => 2, false).pow(p), inputs: [normal([2, 3])] }));

// ---- unary elementwise ops (inputs kept inside each domain and away from kinks) ----
const unaryInputs: Record<string, (s: number[]) => Tensor> = {
  neg: normal, exp: normal, log: positive, sqrt: positive, abs: awayFromZero, sigmoid: (s) => normal(s, 2),
  relu: awayFromZero, tanh: (s) => normal(s, 1.5), square: normal, reciprocal: awayFromZero,
};
for (const op of ['neg', 'exp', 'log', 'sqrt', 'abs', 'sigmoid', 'relu', 'tanh', 'square', 'reciprocal'] as const) {
  add(op, `${op} [3, 4]`, () => ({ fn: (x) => x[op](), inputs: [unaryInputs[op]([3, 4])] }));
  add(op, `${op} on a scalar`, () => ({ fn: (x) => x[op](), inputs: [unaryInputs[op]([])] }));
}

// ---- reductions over several axis sets, with and without keepdim ----
const axisSets: (number | number[] | undefined)[] = [undefined, 0, 1, 2, -1, [0, 2], [0, 1], [1, 2], [0, 1, 2]];
for (const op of ['sum', 'mean', 'max'] as const)
  for (const axis of axisSets)
    for (const keepdim of [false, true])
      add(op, `${op}(axis ${JSON.stringify(axis) ?? 'all'}, keepdim ${keepdim}) of [2, 3, 4]`,
        () => ({ fn: (x) => x[op](axis, keepdim), inputs: [op === 'max' ? distinct([2, 3, 4]) : normal([2, 3, 4])] }));
add('max', 'max over an axis of length 1', () => ({ fn: (x) => x.max(1), inputs: [distinct([3, 1, 2])] }));

// ---- shape ops ----
add('reshape', 'reshape [2, 3, 4] → [6, 4]', () => ({ fn: (x) => x.reshape([6, 4]), inputs: [normal([2, 3, 4])] }));
add('reshape', 'reshape with −1, then mul', () => ({ fn: (x) => x.reshape([4, -1]).mul(x.reshape([4, 6])), inputs: [normal([2, 3, 4])] }));
add('reshape', 'flatten(1)', () => ({ fn: (x) => x.flatten(1), inputs: [normal([2, 3, 4])] }));
add('permute', 'permute [2, 0, 1]', () => ({ fn: (x) => x.permute([2, 0, 1]), inputs: [normal([2, 3, 4])] }));
add('permute', 'permute [1, 0, 2] then matmul', () => ({ fn: (x, w) => x.permute([1, 0, 2]).matmul(w), inputs: [normal([2, 3, 4]), normal([4, 2])] }));
add('permute', 'transpose()', () => ({ fn: (x) => x.transpose(), inputs: [normal([2, 3, 4])] }));
add('permute', 'permute of 4-D [0, 2, 3, 1]', () => ({ fn: (x) => x.permute([0, 2, 3, 1]), inputs: [normal([2, 3, 2, 2])] }));
for (const [from, to] of [[[3, 1], [2, 3, 4]], [[1], [5]], [[], [2, 2]], [[2, 1, 4], [2, 3, 4]], [[3], [3]]] as const)
  add('expand', `expand [${from}] → [${to}]`, () => ({ fn: (x) => x.expand(to), inputs: [normal([...from])] }));
add('cast', 'clone (float64 → float64)', () => ({ fn: (x) => x.clone().mul(x), inputs: [normal([2, 3])] }));
// Values k/1024 in [−4, 4] and a step of 2⁻¹⁰ are exact in float32, so the round trip is the identity.
add('cast', 'float64 → float32 → float64 on float32-exact values', () => ({
  fn: (x) => x.to('float32').to('float64'), inputs: [fill([2, 3], () => (rng.int(8193) - 4096) / 1024)],
}), { eps: 2 ** -10 });
for (const [shape, axis, start, length] of [[[5], 0, 1, 3], [[4, 3], 0, 2, 2], [[2, 5, 3], 1, 1, 3], [[2, 3, 4], -1, 0, 2], [[3, 2], 1, 1, 1]] as const)
  add('narrow', `narrow [${shape}] axis ${axis} [${start}, ${start + length})`, () => ({ fn: (x) => x.narrow(axis, start, length), inputs: [normal([...shape])] }));
add('narrow', 'select of [3, 4, 2] along axis 1, used twice (gradients add)', () => ({ fn: (x) => x.select(1, 2).mul(x.select(1, -1)), inputs: [normal([3, 4, 2])] }));
add('cat', 'cat of [2, 3], [1, 3], [3, 3] along axis 0', () => ({ fn: (a, b, c) => cat([a, b, c], 0), inputs: [normal([2, 3]), normal([1, 3]), normal([3, 3])] }));
add('cat', 'cat of [2, 1, 3], [2, 2, 3], [2, 3, 3] along the middle axis', () => ({ fn: (a, b, c) => cat([a, b, c], 1), inputs: [normal([2, 1, 3]), normal([2, 2, 3]), normal([2, 3, 3])] }));
add('cat', 'cat along the last axis with a constant middle input', () => {
  const k = constant(normal([2, 2]));
  return { fn: (a, c) => cat([a, k, c], -1), inputs: [normal([2, 3]), normal([2, 1])] };
});
add('cat', 'stack of three [2, 3] along axis 1 (cat of reshapes)', () => ({ fn: (a, b, c) => stack([a, b, c], 1), inputs: [normal([2, 3]), normal([2, 3]), normal([2, 3])] }));
add('cat', 'cat of a tensor with a slice of itself', () => ({ fn: (a) => cat([a, a.narrow(0, 1, 2)], 0), inputs: [normal([3, 2])] }));

// ---- matmul and linear ----
const matmulShapes: [number[], number[]][] = [
  [[3, 4], [4, 5]], [[2, 3, 4], [2, 4, 5]], [[3, 4], [4]], [[2, 3, 4], [4, 5]], [[2, 2, 3, 4], [4, 5]], [[2, 2, 3, 4], [2, 2, 4, 5]], [[1, 1], [1, 1]],
];
for (const [sa, sb] of matmulShapes)
  add('matmul', `matmul [${sa}] · [${sb}]`, () => ({ fn: (a, b) => a.matmul(b), inputs: [normal(sa), normal(sb)] }));
add('matmul', 'matmul, only the left operand requires grad', () => ({ fn: (a, b) => a.matmul(b), inputs: [normal([3, 4]), constant(normal([4, 2]))] }));
add('matmul', 'matmul, only the right operand requires grad (batched)', () => ({ fn: (a, b) => a.matmul(b), inputs: [constant(normal([2, 3, 4])), normal([2, 4, 2])] }));
add('matmul', 'matmul of a tensor with itself (x·xᵀ)', () => ({ fn: (a) => a.matmul(a.transpose()), inputs: [normal([3, 4])] }));
const lin = nn.functional.linear;
add('linear', 'linear [5, 4] with bias', () => ({ fn: (x, w, b) => lin(x, w, b), inputs: [normal([5, 4]), normal([3, 4]), normal([3])] }));
add('linear', 'linear [5, 4] without bias', () => ({ fn: (x, w) => lin(x, w), inputs: [normal([5, 4]), normal([3, 4])] }));
add('linear', 'linear, 3-D input [2, 5, 4]', () => ({ fn: (x, w, b) => lin(x, w, b), inputs: [normal([2, 5, 4]), normal([3, 4]), normal([3])] }));
add('linear', 'linear, 1-D input [4]', () => ({ fn: (x, w, b) => lin(x, w, b), inputs: [normal([4]), normal([3, 4]), normal([3])] }));
add('linear', 'linear, only the weight requires grad', () => ({ fn: (x, w, b) => lin(x, w, b), inputs: [constant(normal([5, 4])), normal([3, 4]), constant(normal([3]))] }));

// ---- the fused normalization op ----
const EPS = 1e-5;
/** [N, C, S] layout of x (channel axis 1) with `groups` (0: batch statistics per channel). */
function layoutOf(x: Tensor, groups: number) {
  return { N: x.shape[0], C: x.shape[1], S: x.shape.slice(2).reduce((p, d) => p * d, 1), groups };
}
function normCase(name: string, shape: number[], groups: number, affine: 'both' | 'gamma' | 'none',
  extra: (x: Tensor) => Partial<NormAttrs> = () => ({}), scale = 1, offset = 0) {
  add('norm', name, () => {
    const x = fill(shape, () => offset + scale * rng.normal());
    const C = shape[1];
    const g = affine === 'none' ? null : fill([C], () => 0.5 + rng.uniform());
    const b = affine === 'both' ? normal([C]) : null;
    const attrs = { layout: layoutOf(x, groups), eps: EPS, ...extra(x) };
    return { fn: (xx, gg, bb) => normOp(xx, gg ?? null, bb ?? null, attrs), inputs: [x, g, b].filter((t): t is Tensor => t !== null) };
  });
}
/** Fixed statistics (as BN in eval mode uses), length `count`. */
function givenStats(count: number) {
  return () => ({ stats: { mean: Float64Array.from({ length: count }, () => 0.3 * rng.normal()), variance: Float64Array.from({ length: count }, () => 0.5 + rng.uniform()) } });
}
for (const [shape, what] of [[[6, 3], '2-D'], [[4, 3, 5], '3-D'], [[3, 2, 3, 2], '4-D']] as const) {
  normCase(`norm, batch statistics, ${what} [${shape}], affine`, [...shape], 0, 'both');
  normCase(`norm, batch statistics, ${what} [${shape}], no affine`, [...shape], 0, 'none');
  normCase(`norm, given statistics, ${what} [${shape}], affine`, [...shape], 0, 'both', givenStats(shape[1]));
  normCase(`norm, given statistics, ${what} [${shape}], no affine`, [...shape], 0, 'none', givenStats(shape[1]));
}
normCase('norm, batch statistics, γ without β', [5, 3], 0, 'gamma');
normCase('norm, batch statistics, two samples per channel (m = 2)', [2, 3], 0, 'both');
normCase('norm, batch statistics, data offset 1e3 with small spread', [6, 2, 2], 0, 'both', () => ({}), 0.5, 1e3);
normCase('norm, batch statistics with wantStats (running statistics returned)', [5, 3, 2], 0, 'both', () => ({ wantStats: true }));
normCase('norm as GroupNorm: [2, 6, 2, 2], 3 groups, affine', [2, 6, 2, 2], 3, 'both');
normCase('norm as GroupNorm: [2, 4, 3], 2 groups, no affine', [2, 4, 3], 2, 'none');
normCase('norm as GroupNorm with 1 group (LayerNorm over C, H, W)', [3, 2, 2, 2], 1, 'both');
normCase('norm as InstanceNorm: [2, 3, 4] with C groups', [2, 3, 4], 3, 'both');
normCase('norm as InstanceNorm 2-D: [2, 3, 2, 3] with C groups, no affine', [2, 3, 2, 3], 3, 'none');
normCase('norm as LayerNorm: [4, 5] viewed as [4, 5, 1], 1 group', [4, 5], 1, 'both');
normCase('norm as GroupNorm with given statistics (N·G of them)', [2, 4, 3], 2, 'both', givenStats(4));
/**
 * syncNorm (SyncBatchNorm's op) in one process: the batch statistics are computed from x by the function itself
 * (as SyncBatchNorm's forward does before the op), and the all-reduce is the identity (one rank), so the op's
 * backward must be the full BN gradient including the path through the statistics.
 */
function syncNormCase(name: string, shape: number[], affine: boolean, offset = 0) {
  add('syncNorm', name, () => {
    const x = fill(shape, () => offset + rng.normal()), C = shape[1];
    const S = shape.slice(2).reduce((p, d) => p * d, 1), N = shape[0];
    const g = affine ? fill([C], () => 0.5 + rng.uniform()) : null, b = affine ? normal([C]) : null;
    const fn = (xx: Tensor, gg?: Tensor, bb?: Tensor) => {
      const v = xx.data, mean = new Float64Array(C), variance = new Float64Array(C);
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let n = 0; n < N; n++) for (let i = 0; i < S; i++) s += v[(n * C + c) * S + i];
        mean[c] = s / (N * S);
        let q = 0;
        for (let n = 0; n < N; n++) for (let i = 0; i < S; i++) q += (v[(n * C + c) * S + i] - mean[c]) ** 2;
        variance[c] = q / (N * S);
      }
      return op('syncNorm', [xx, gg ?? null, bb ?? null], { layout: { N, C, S, groups: 0 }, eps: EPS, mean, variance, count: N * S, reduce: () => {} });
    };
    return { fn, inputs: g && b ? [x, g, b] : [x] };
  });
}
syncNormCase('syncNorm (one rank), [5, 3], affine', [5, 3], true);
syncNormCase('syncNorm (one rank), [3, 2, 2, 2], no affine', [3, 2, 2, 2], false);
syncNormCase('syncNorm (one rank), [4, 2, 3], data offset 1e3', [4, 2, 3], true, 1e3);
add('norm', 'norm as LayerNorm over the last axis of [2, 3, 5] ([6, 5, 1], 1 group)', () => {
  const x = normal([2, 3, 5]), g = fill([5], () => 0.5 + rng.uniform()), b = normal([5]);
  const attrs = { layout: { N: 6, C: 5, S: 1, groups: 1 }, eps: EPS };
  return { fn: (xx, gg, bb) => normOp(xx, gg, bb, attrs), inputs: [x, g, b] };
});

// ---- losses ----
add('crossEntropy', 'crossEntropy [5, 4]', () => ({ fn: (x) => nn.functional.crossEntropy(x, [0, 3, 1, 1, 2]), inputs: [normal([5, 4])] }));
add('crossEntropy', 'crossEntropy [1, 3]', () => ({ fn: (x) => nn.functional.crossEntropy(x, [2]), inputs: [normal([1, 3])] }));
add('crossEntropy', 'crossEntropy, large logits (scale 20)', () => ({ fn: (x) => nn.functional.crossEntropy(x, [1, 0, 2]), inputs: [normal([3, 3], 20)] }));
add('crossEntropy', 'crossEntropy of a linear layer', () => ({ fn: (x, w) => nn.functional.crossEntropy(lin(x, w), [0, 1, 2, 1]), inputs: [normal([4, 3]), normal([3, 3])] }));
add('logSoftmax', 'logSoftmax [3, 5]', () => ({ fn: (x) => x.logSoftmax(), inputs: [normal([3, 5])] }));
add('logSoftmax', 'logSoftmax [2, 3, 4]', () => ({ fn: (x) => x.logSoftmax(), inputs: [normal([2, 3, 4])] }));
add('logSoftmax', 'logSoftmax 1-D [5]', () => ({ fn: (x) => x.logSoftmax(), inputs: [normal([5])] }));
add('logSoftmax', 'softmax [3, 4] (exp of logSoftmax)', () => ({ fn: (x) => x.softmax(), inputs: [normal([3, 4], 2)] }));

// ---- convolution and pooling ----
const conv = nn.functional.conv2d, F = nn.functional;
add('conv2d', 'conv2d [2, 3, 5, 4] ⋆ [4, 3, 3, 2] with bias', () => ({ fn: (x, w, b) => conv(x, w, b), inputs: [normal([2, 3, 5, 4]), normal([4, 3, 3, 2]), normal([4])] }));
add('conv2d', 'conv2d, stride [2, 1], padding [1, 2], dilation [1, 2]', () => ({
  fn: (x, w, b) => conv(x, w, b, { stride: [2, 1], padding: [1, 2], dilation: [1, 2] }), inputs: [normal([2, 2, 5, 5]), normal([3, 2, 2, 3]), normal([3])] }));
add('conv2d', 'conv2d, groups 2, padding 1, no bias', () => ({ fn: (x, w) => conv(x, w, null, { groups: 2, padding: 1 }), inputs: [normal([1, 4, 4, 3]), normal([6, 2, 2, 2])] }));
add('conv2d', 'conv2d depthwise (groups 3), stride 2, padding 1', () => ({
  fn: (x, w, b) => conv(x, w, b, { groups: 3, stride: 2, padding: 1 }), inputs: [normal([2, 3, 5, 4]), normal([3, 1, 3, 3]), normal([3])] }));
add('conv2d', 'conv2d 1×1 (pointwise matmul path)', () => ({ fn: (x, w, b) => conv(x, w, b), inputs: [normal([2, 3, 3, 2]), normal([4, 3, 1, 1]), normal([4])] }));
add('conv2d', 'conv2d, only the weight and bias require grad', () => {
  const x = constant(normal([2, 2, 4, 4]));
  return { fn: (w, b) => conv(x, w, b, { padding: 1 }), inputs: [normal([3, 2, 3, 3]), normal([3])] };
});
add('maxPool2d', 'maxPool2d k2 of [2, 2, 4, 6]', () => ({ fn: (x) => F.maxPool2d(x, 2), inputs: [distinct([2, 2, 4, 6])] }));
add('maxPool2d', 'maxPool2d k3 s2 p1 (overlapping, padded)', () => ({ fn: (x) => F.maxPool2d(x, 3, { stride: 2, padding: 1 }), inputs: [distinct([1, 2, 5, 6])] }));
add('maxPool2d', 'maxPool2d k [2, 3] s 1 p [1, 1]', () => ({ fn: (x) => F.maxPool2d(x, [2, 3], { stride: 1, padding: [1, 1] }), inputs: [distinct([1, 2, 3, 4])] }));
add('avgPool2d', 'avgPool2d k2 of [2, 2, 4, 6]', () => ({ fn: (x) => F.avgPool2d(x, 2), inputs: [normal([2, 2, 4, 6])] }));
add('avgPool2d', 'avgPool2d k3 s2 p1 countIncludePad', () => ({ fn: (x) => F.avgPool2d(x, 3, { stride: 2, padding: 1 }), inputs: [normal([1, 2, 5, 6])] }));
add('avgPool2d', 'avgPool2d k [3, 2] s [2, 1] p [1, 1] without countIncludePad', () => ({
  fn: (x) => F.avgPool2d(x, [3, 2], { stride: [2, 1], padding: [1, 1], countIncludePad: false }), inputs: [normal([1, 2, 5, 4])] }));
add('avgPool2d', 'adaptiveAvgPool2d [2, 3] of [5, 4] (overlapping windows)', () => ({ fn: (x) => F.adaptiveAvgPool2d(x, [2, 3]), inputs: [normal([2, 2, 5, 4])] }));
add('avgPool2d', 'adaptiveAvgPool2d 1 (global average) after conv2d', () => ({
  fn: (x, w) => F.adaptiveAvgPool2d(conv(x, w, null, { padding: 1 }), 1), inputs: [normal([2, 2, 3, 3]), normal([3, 2, 3, 3])] }));

/** Build a case with its own seeded generator (independent of the order the cases run in). */
function build(c: Case) {
  rng = new Rng(seedFor(c.name));
  return c.make();
}

/**
 * Replace `op`'s backward by one that returns 1.01·d + 1e-4 for the gradient d of input `index` (the shift
 * catches structurally zero gradients too; a copy, as backward results may alias upstream gradients). Returns whether that gradient was ever produced, and a restore.
 */
function breakBackward(op: OpName, index: number): { produced: () => boolean; restore: () => void } {
  const def = ops[op] as { backward: (ctx: unknown, g: Arr) => (Arr | null)[] };
  const original = def.backward;
  let produced = false;
  def.backward = (ctx, g) => original(ctx, g).map((d, i) => {
    if (i !== index || !d) return d;
    produced = true;
    const data = d.data.slice();
    for (let i = 0; i < data.length; i++) data[i] = data[i] * 1.01 + 1e-4;
    return new Arr(hostStorage(data), d.shape);
  });
  return { produced: () => produced, restore: () => { def.backward = original; } };
}

describe('gradcheck of every op (float64, central differences)', () => {
  let restore: (() => void) | null = null;
  afterEach(() => { restore?.(); restore = null; });

  for (const c of cases) {
    it(c.name, () => {
      const { fn, inputs } = build(c);
      expect([...graphOps(fn(...inputs))], `${c.name}: graph`).toContain(c.op);
      const { checked } = gradcheck(fn, inputs, c.opts);
      expect(checked).toBeGreaterThan(0);
    });
  }

  it('every case fails against a wrong backward of its op (each input\'s gradient in turn)', () => {
    let broken = 0;
    for (const c of cases) {
      for (let index = 0; index < 3; index++) {
        const { fn, inputs } = build(c);
        const mutant = breakBackward(c.op, index);
        restore = mutant.restore;
        let error: unknown = null;
        try { gradcheck(fn, inputs, c.opts); } catch (e) { error = e; }
        mutant.restore();
        restore = null;
        if (!mutant.produced()) continue;
        expect(error, `${c.name}: gradient ${index} replaced by 1.01·d + 1e-4 was not caught`).toBeInstanceOf(Error);
        expect((error as Error).message).toMatch(/^gradcheck: input \d+ \(shape \[.*\]\), element \d+/);
        broken++;
      }
    }
    expect(broken).toBeGreaterThan(cases.length);
  });

  it('every op of the op table has a case (a new op cannot slip in untested)', () => {
    const covered = new Set(cases.map((c) => c.op));
    const missing = Object.keys(ops).filter((name) => !covered.has(name as OpName));
    expect(missing, `ops without a gradcheck case: ${missing.join(', ')}`).toEqual([]);
    // ...and each case really records its op (not just names it).
    const seen = new Set<string>();
    for (const c of cases) { const { fn, inputs } = build(c); graphOps(fn(...inputs)).forEach((n) => seen.add(n)); }
    expect(Object.keys(ops).filter((n) => !seen.has(n))).toEqual([]);
  });
});

describe('gradcheck helper', () => {
  it('reports the input, element and both values on a mismatch', () => {
    const x = tensor([0.5, -1, 2], undefined, { dtype: 'float64', requiresGrad: true });
    const w = tensor([1, 2, 3], undefined, { dtype: 'float64', requiresGrad: true });
    const m = breakBackward('mul', 1);
    try {
      expect(() => gradcheck((a, b) => a.mul(b), [x, w])).toThrow(/^gradcheck: input 1 \(shape \[3\]\), element \d \(index \[\d\]\): numeric -?[\d.e-]+, analytic -?[\d.e-]+/);
    } finally { m.restore(); }
    expect(() => gradcheck((a, b) => a.mul(b), [x, w])).not.toThrow();
  });

  it('leaves inputs and their .grad as they were', () => {
    const x = tensor([0.5, -1, 2], undefined, { dtype: 'float64', requiresGrad: true });
    const before = Float64Array.from(x.data);
    x.grad = tensor([7, 7, 7], undefined, { dtype: 'float64' });
    gradcheck((a) => a.exp(), [x]);
    expect([...x.data]).toEqual([...before]);
    expect([...x.grad.data]).toEqual([7, 7, 7]);
  });

  it('refuses float32 inputs and outputs without a graph', () => {
    const x32 = tensor([1, 2], undefined, { requiresGrad: true });
    expect(() => gradcheck((a) => a.exp(), [x32])).toThrow(/input 0 \(shape \[2\]\) is float32/);
    const x = tensor([1, 2], undefined, { dtype: 'float64' });
    expect(() => gradcheck((a) => a.exp(), [x])).toThrow(/no input requires grad/);
  });
});
