/**
 * Layout geometry: how a normalization groups its input ([N, C, S] views and their statistics groups), and
 * the output sizes and windows of convolutions and pooling. Plain numbers in, plain numbers out.
 */
import type { Conv2dGeometry, NormLayout, PoolAxis, Shape } from './types.js';

// ---- normalization layout ----

/** Number of statistics groups of a layout: C for batch statistics, N·G otherwise. */
export function statCount(l: NormLayout): number {
  return l.groups === 0 ? (l.N / ghostSize(l)) * l.C : l.N * l.groups;
}

/** Samples per statistics batch of a batch-statistics layout (N without ghost batches). */
export function ghostSize(l: NormLayout): number {
  return l.ghost && l.ghost < l.N ? l.ghost : l.N;
}

/** Elements reduced into one statistic: N·S for batch statistics, (C/G)·S otherwise. */
export function statSize(l: NormLayout): number {
  return l.groups === 0 ? ghostSize(l) * l.S : (l.C / l.groups) * l.S;
}

// ---- convolution and pooling geometry ----

/** Stride, padding and dilation as [h, w] pairs, and the group count, of a 2-D convolution. */
export interface Conv2dParams {
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
}

/** Output length of a convolution along one axis: ⌊(n + 2p − d·(k − 1) − 1)/s⌋ + 1 (PyTorch's formula). */
export function convOutSize(n: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
}

/** The kernel geometry of x [N, C, H, W] convolved with weight [O, C/groups, kh, kw]. */
export function conv2dGeometry(x: Shape, w: Shape, { stride: [sh, sw], padding: [ph, pw], dilation: [dh, dw], groups }: Conv2dParams): Conv2dGeometry {
  const [N, C, H, W] = x, [O, , kh, kw] = w;
  return { N, C, H, W, O, kh, kw, sh, sw, ph, pw, dh, dw, groups,
    OH: convOutSize(H, kh, sh, ph, dh), OW: convOutSize(W, kw, sw, pw, dw) };
}

/**
 * Windows of a sliding pool along an axis of length n: kernel k, stride s, padding p, ⌊(n + 2p − k)/s⌋ + 1
 * outputs. Output i covers [i·s − p, min(i·s − p + k, n + p)) of the padded axis, clipped to [0, n); its
 * divisor is the padded window length when `countPad`, else the clipped one (PyTorch's avg_pool2d).
 */
export function slidingAxis(n: number, k: number, s: number, p: number, countPad: boolean): PoolAxis {
  const out = Math.floor((n + 2 * p - k) / s) + 1;
  const start = new Int32Array(out), end = new Int32Array(out), divisor = new Float64Array(out);
  for (let i = 0; i < out; i++) {
    const a = i * s - p, b = Math.min(a + k, n + p);
    start[i] = Math.max(a, 0);
    end[i] = Math.min(b, n);
    divisor[i] = countPad ? b - a : end[i] - start[i];
  }
  return { size: n, start, end, divisor };
}

/** Adaptive windows: output i of `out` covers [⌊i·n/out⌋, ⌈(i + 1)·n/out⌉) (PyTorch's adaptive pooling). */
export function adaptiveAxis(n: number, out: number): PoolAxis {
  const start = new Int32Array(out), end = new Int32Array(out), divisor = new Float64Array(out);
  for (let i = 0; i < out; i++) {
    start[i] = Math.floor((i * n) / out);
    end[i] = Math.ceil(((i + 1) * n) / out);
    divisor[i] = end[i] - start[i];
  }
  return { size: n, start, end, divisor };
}
