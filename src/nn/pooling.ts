import type { PoolAttrs } from '../autograd/ops/pool.js';
import { adaptiveAxis, slidingAxis } from '../kernels/layout.js';
import { Tensor, formatShape, op } from '../tensor/index.js';
import { pair, type Size2 } from './conv.js';
import { checkBoolean, checkOptions } from './check.js';
import { Module } from './module.js';

export interface Pool2dOptions {
  /** Step of the window along H and W. Default: the kernel size (non-overlapping windows). */
  stride?: Size2;
  /** Implicit padding on both sides of H and W, at most half the kernel. Default 0. */
  padding?: Size2;
}

export interface AvgPool2dOptions extends Pool2dOptions {
  /** Count the padding zeros in the divisor (true, default) or divide by the real elements only. */
  countIncludePad?: boolean;
}

/** Pooling options of PyTorch that have no counterpart here. */
const POOL_HINTS: Record<string, string> = {
  ceil_mode: 'ceil mode is not supported', ceilMode: 'ceil mode is not supported',
  return_indices: 'indices are not returned', divisor_override: 'not supported',
};

function check4d(what: string, x: Tensor): void {
  if (!(x instanceof Tensor) || x.ndim !== 4)
    throw new Error(`${what}: expected a 4-D input [N, C, H, W], got ${x instanceof Tensor ? `shape ${formatShape(x.shape)}` : typeof x}`);
}

function slidingWindows(what: string, x: Tensor, kernelSize: Size2, { stride, padding = 0 }: Pool2dOptions, countPad: boolean): PoolAttrs {
  const k = pair(kernelSize, 'kernelSize', what, 1);
  const s = stride === undefined ? k : pair(stride, 'stride', what, 1), p = pair(padding, 'padding', what, 0);
  check4d(what, x);
  if (2 * p[0] > k[0] || 2 * p[1] > k[1])
    throw new Error(`${what}: padding ${p[0]}×${p[1]} must be at most half the kernel ${k[0]}×${k[1]}`);
  const [, , H, W] = x.shape;
  if (H + 2 * p[0] < k[0] || W + 2 * p[1] < k[1])
    throw new Error(`${what}: kernel ${k[0]}×${k[1]} is larger than the padded input ${H + 2 * p[0]}×${W + 2 * p[1]} (input ${formatShape(x.shape)}, padding ${p[0]}×${p[1]})`);
  return { h: slidingAxis(H, k[0], s[0], p[0], countPad), w: slidingAxis(W, k[1], s[1], p[1], countPad) };
}

/** A size or pair for printing: 2 or [2, 3]. */
function show(v: Size2 | AdaptiveSize): string {
  return typeof v === 'number' ? String(v) : `[${v.map(String).join(', ')}]`;
}

function pool(name: 'maxPool2d' | 'avgPool2d', x: Tensor, attrs: PoolAttrs): Tensor {
  return op(name, [x], attrs);
}

/**
 * 2-D max pooling, functional form of nn.MaxPool2d: y[n, c, i, j] = max over the window of x (padding
 * counts as −∞). The gradient goes to the first maximum of each window (PyTorch's choice on ties).
 *
 * Example:
 * ```ts
 * const x = tensor([[[[1, 5, 2, 0], [3, 4, 8, 1], [0, 1, 2, 3], [9, 1, 4, 4]]]]);
 * nn.functional.maxPool2d(x, 2).toArray(); // => [[[[5, 8], [9, 4]]]]
 * ```
 */
export function maxPool2d(x: Tensor, kernelSize: Size2, opts: Pool2dOptions = {}): Tensor {
  checkOptions('maxPool2d', opts, ['stride', 'padding'], POOL_HINTS);
  return pool('maxPool2d', x, slidingWindows('maxPool2d', x, kernelSize, opts, false));
}

/**
 * 2-D average pooling, functional form of nn.AvgPool2d: y = Σ window / divisor, the divisor the window's
 * padded size (countIncludePad, default) or its number of real elements.
 *
 * Example:
 * ```ts
 * const x = tensor([[[[1, 2], [3, 4]]]]);
 * nn.functional.avgPool2d(x, 2).toArray();                                              // => [[[[2.5]]]]
 * nn.functional.avgPool2d(x, 2, { stride: 1, padding: 1 }).toArray()[0][0][0];          // => [0.25, 0.75, 0.5]
 * nn.functional.avgPool2d(x, 2, { stride: 1, padding: 1, countIncludePad: false }).toArray()[0][0][0]; // => [1, 1.5, 2]
 * ```
 */
export function avgPool2d(x: Tensor, kernelSize: Size2, options: AvgPool2dOptions = {}): Tensor {
  checkOptions('avgPool2d', options, ['stride', 'padding', 'countIncludePad'], POOL_HINTS);
  const { countIncludePad = true, ...opts } = options;
  return pool('avgPool2d', x, slidingWindows('avgPool2d', x, kernelSize, opts, countIncludePad));
}

/** Output size of adaptive pooling: a number, or [h, w] where null keeps the input's size. */
export type AdaptiveSize = number | readonly [number | null, number | null];

/**
 * Adaptive 2-D average pooling, functional form of nn.AdaptiveAvgPool2d: output cell i along an axis of
 * length n averages inputs ⌊i·n/out⌋ … ⌈(i + 1)·n/out⌉ − 1 (PyTorch's windows). outputSize 1 is global
 * average pooling.
 *
 * Example:
 * ```ts
 * const x = tensor([[[[1, 2, 3], [4, 5, 6]]]]);
 * nn.functional.adaptiveAvgPool2d(x, 1).toArray();      // => [[[[3.5]]]]
 * nn.functional.adaptiveAvgPool2d(x, [1, 2]).toArray(); // => [[[[3, 4]]]]
 * ```
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: AdaptiveSize): Tensor {
  const what = 'adaptiveAvgPool2d';
  check4d(what, x);
  const [, , H, W] = x.shape;
  const raw = typeof outputSize === 'number' ? [outputSize, outputSize] : Array.isArray(outputSize) ? outputSize : [];
  const size = raw.length === 2 ? [raw[0] ?? H, raw[1] ?? W] : [];
  if (size.length !== 2 || !size.every((d) => Number.isInteger(d) && d > 0))
    throw new Error(`${what}: outputSize must be a positive integer or a pair [h, w] of them (null keeps the input's size), got ${JSON.stringify(outputSize)}`);
  if (H < 1 || W < 1) throw new Error(`${what}: input ${formatShape(x.shape)} has an empty spatial size`);
  return pool('avgPool2d', x, { h: adaptiveAxis(H, size[0]), w: adaptiveAxis(W, size[1]) });
}

/**
 * Applies 2-D max pooling over an NCHW input (PyTorch's nn.MaxPool2d): y[n, c, i, j] is the maximum of x[n, c]
 * over the window starting at (i·sh − ph, j·sw − pw); padding counts as −∞. Backward sends each output's
 * gradient to the first maximum of its window (as PyTorch).
 *
 * Defaults: stride = kernelSize, padding 0 (at most half the kernel). Sizes take a number or [h, w].
 *
 * Shape: [N, C, H, W] → [N, C, OH, OW], OH = ⌊(H + 2·padding − kernelSize)/stride⌋ + 1 (OW likewise).
 *
 * Example:
 * ```ts
 * const pool = new nn.MaxPool2d(2);
 * pool.forward(randn([8, 16, 28, 28])).shape;                                   // => [8, 16, 14, 14]
 * new nn.MaxPool2d(3, { stride: 2, padding: 1 }).forward(randn([1, 4, 7, 7])).shape; // => [1, 4, 4, 4]
 * ```
 */
export class MaxPool2d extends Module {
  readonly stride: Size2;
  readonly padding: Size2;

  constructor(readonly kernelSize: Size2, options: Pool2dOptions = {}) {
    super();
    checkOptions('MaxPool2d', options, ['stride', 'padding'], POOL_HINTS);
    const { stride = kernelSize, padding = 0 } = options;
    pair(kernelSize, 'kernelSize', 'MaxPool2d', 1);
    pair(stride, 'stride', 'MaxPool2d', 1);
    pair(padding, 'padding', 'MaxPool2d', 0);
    this.stride = stride;
    this.padding = padding;
  }

  forward(x: Tensor): Tensor {
    return pool('maxPool2d', x, slidingWindows('MaxPool2d', x, this.kernelSize, this, false));
  }

  override extraRepr(): string {
    return `kernelSize=${show(this.kernelSize)}, stride=${show(this.stride)}, padding=${show(this.padding)}`;
  }
}

/**
 * Applies 2-D average pooling over an NCHW input (PyTorch's nn.AvgPool2d): y[n, c, i, j] = Σ window / divisor,
 * the window starting at (i·sh − ph, j·sw − pw). With `countIncludePad` (default) the divisor is the window's
 * full size, padding zeros included; otherwise the number of real input elements it covers.
 *
 * Defaults: stride = kernelSize, padding 0 (at most half the kernel), countIncludePad true.
 *
 * Shape: [N, C, H, W] → [N, C, OH, OW], OH = ⌊(H + 2·padding − kernelSize)/stride⌋ + 1 (OW likewise).
 *
 * Example:
 * ```ts
 * const pool = new nn.AvgPool2d(2);
 * pool.forward(tensor([[[[1, 2], [3, 4]]]])).toArray(); // => [[[[2.5]]]]
 * new nn.AvgPool2d(3, { stride: 1, padding: 1 }).forward(randn([2, 3, 5, 5])).shape; // => [2, 3, 5, 5]
 * ```
 */
export class AvgPool2d extends Module {
  readonly stride: Size2;
  readonly padding: Size2;
  readonly countIncludePad: boolean;

  constructor(readonly kernelSize: Size2, options: AvgPool2dOptions = {}) {
    super();
    checkOptions('AvgPool2d', options, ['stride', 'padding', 'countIncludePad'], POOL_HINTS);
    const { stride = kernelSize, padding = 0, countIncludePad = true } = options;
    checkBoolean('AvgPool2d', 'countIncludePad', countIncludePad);
    pair(kernelSize, 'kernelSize', 'AvgPool2d', 1);
    pair(stride, 'stride', 'AvgPool2d', 1);
    pair(padding, 'padding', 'AvgPool2d', 0);
    this.stride = stride;
    this.padding = padding;
    this.countIncludePad = countIncludePad;
  }

  forward(x: Tensor): Tensor {
    return pool('avgPool2d', x, slidingWindows('AvgPool2d', x, this.kernelSize, this, this.countIncludePad));
  }

  override extraRepr(): string {
    return `kernelSize=${show(this.kernelSize)}, stride=${show(this.stride)}, padding=${show(this.padding)}, countIncludePad=${this.countIncludePad}`;
  }
}

/**
 * Applies adaptive 2-D average pooling (PyTorch's nn.AdaptiveAvgPool2d): whatever the input's H×W, the output
 * is outputSize; cell i along an axis of length n averages inputs ⌊i·n/out⌋ … ⌈(i + 1)·n/out⌉ − 1.
 * `new nn.AdaptiveAvgPool2d(1)` is global average pooling.
 *
 * Shape: [N, C, H, W] → [N, C, oh, ow] (a null entry of outputSize keeps that input size).
 *
 * Example:
 * ```ts
 * const gap = new nn.AdaptiveAvgPool2d(1);
 * gap.forward(tensor([[[[1, 2], [3, 6]], [[0, 0], [0, 4]]]])).toArray(); // => [[[[3]], [[1]]]]
 * new nn.AdaptiveAvgPool2d([2, null]).forward(randn([1, 3, 7, 5])).shape; // => [1, 3, 2, 5]
 * ```
 */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: AdaptiveSize) {
    super();
    const ok = (d: unknown) => d === null || (Number.isInteger(d) && (d as number) > 0);
    if (!(typeof outputSize === 'number' ? ok(outputSize) : Array.isArray(outputSize) && outputSize.length === 2 && outputSize.every(ok)))
      throw new Error(`AdaptiveAvgPool2d: outputSize must be a positive integer or a pair [h, w] of them (null keeps the input's size), got ${JSON.stringify(outputSize)}`);
  }

  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }

  override extraRepr(): string {
    return `outputSize=${show(this.outputSize)}`;
  }
}
