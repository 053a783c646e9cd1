import { convOutSize } from '../kernels/layout.js';
import type { DType } from '../kernels/types.js';
import { Tensor, formatShape, op, zeros } from '../tensor/index.js';
import { checkBoolean, checkDtype, checkOptions, positiveInteger } from './check.js';
import { kaimingUniform, uniform } from './init.js';
import { Module } from './module.js';

/** A size along H and W: one number for both, or [h, w]. */
export type Size2 = number | readonly [number, number];

/** `v` as an [h, w] pair of integers ≥ `min`; the error names the option and the caller. */
export function pair(v: Size2, option: string, what: string, min: number): [number, number] {
  const p: readonly unknown[] = typeof v === 'number' ? [v, v] : Array.isArray(v) ? v : [];
  const kind = min > 0 ? 'a positive integer' : 'a non-negative integer';
  if (p.length !== 2 || !p.every((d) => Number.isInteger(d) && (d as number) >= min))
    throw new Error(`${what}: ${option} must be ${kind} or a pair [h, w] of them, got ${JSON.stringify(v)}`);
  return [p[0] as number, p[1] as number];
}

export interface Conv2dFnOptions {
  /** Step of the window along H and W. Default 1. */
  stride?: Size2;
  /** Zeros added on both sides of H and W. Default 0. */
  padding?: Size2;
  /** Spacing between kernel taps (à trous). Default 1. */
  dilation?: Size2;
  /** Split channels into this many independent groups (C_in = groups: depthwise). Default 1. */
  groups?: number;
}

function conv2dChecked(what: string, x: Tensor, weight: Tensor, bias: Tensor | null,
  { stride = 1, padding = 0, dilation = 1, groups = 1 }: Conv2dFnOptions): Tensor {
  const s = pair(stride, 'stride', what, 1), p = pair(padding, 'padding', what, 0), d = pair(dilation, 'dilation', what, 1);
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`${what}: groups must be a positive integer, got ${groups}`);
  if (!(x instanceof Tensor) || x.ndim !== 4)
    throw new Error(`${what}: expected a 4-D input [N, C, H, W], got ${x instanceof Tensor ? `shape ${formatShape(x.shape)}` : typeof x}`);
  if (!(weight instanceof Tensor) || weight.ndim !== 4)
    throw new Error(`${what}: expected a 4-D weight [out, in/groups, kh, kw], got ${weight instanceof Tensor ? `shape ${formatShape(weight.shape)}` : typeof weight}`);
  const [O, Cg, kh, kw] = weight.shape, [, C, H, W] = x.shape;
  if (O % groups !== 0) throw new Error(`${what}: weight ${formatShape(weight.shape)} has ${O} output channels, not divisible by groups ${groups}`);
  if (C !== Cg * groups)
    throw new Error(`${what}: input shape ${formatShape(x.shape)} has ${C} channels, but weight ${formatShape(weight.shape)} with groups ${groups} expects ${Cg * groups} (weight.shape[1]·groups)`);
  if (bias && (!(bias instanceof Tensor) || bias.ndim !== 1 || bias.shape[0] !== O))
    throw new Error(`${what}: bias must have shape [${O}] (the weight's output channels), got ${bias instanceof Tensor ? formatShape(bias.shape) : typeof bias}`);
  if (weight.dtype !== x.dtype || (bias && bias.dtype !== x.dtype))
    throw new Error(`${what}: input dtype ${x.dtype} does not match the weight's ${weight.dtype}${bias ? ` / bias's ${bias.dtype}` : ''}; convert with .to() first`);
  if (convOutSize(H, kh, s[0], p[0], d[0]) < 1 || convOutSize(W, kw, s[1], p[1], d[1]) < 1) {
    const eh = d[0] * (kh - 1) + 1, ew = d[1] * (kw - 1) + 1;
    throw new Error(`${what}: kernel ${kh}×${kw} (dilation ${d[0]}×${d[1]}: ${eh}×${ew} effective) is larger than the padded input ` +
      `${H + 2 * p[0]}×${W + 2 * p[1]} (input ${formatShape(x.shape)}, padding ${p[0]}×${p[1]})`);
  }
  return op('conv2d', [x, weight, bias], { stride: s, padding: p, dilation: d, groups });
}

/**
 * 2-D convolution (cross-correlation, as in PyTorch), functional form of nn.Conv2d:
 * y[n, o, i, j] = b[o] + Σ_{c, u, v} W[o, c, u, v]·x[n, g·C/groups + c, i·sh − ph + u·dh, j·sw − pw + v·dw],
 * g the group of output channel o, zero outside the input.
 *
 * Shape: x [N, C, H, W], weight [O, C/groups, kh, kw], bias [O] or null → [N, O, OH, OW] with
 * OH = ⌊(H + 2·padding − dilation·(kh − 1) − 1)/stride⌋ + 1 (OW likewise).
 *
 * Example:
 * ```ts
 * const x = tensor([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]]); // [1, 1, 3, 3]
 * const w = tensor([[[[1, 0], [0, -1]]]]);                  // [1, 1, 2, 2]
 * nn.functional.conv2d(x, w).toArray();                     // => [[[[-4, -4], [-4, -4]]]]
 * nn.functional.conv2d(x, w, tensor([10]), { stride: 2, padding: 1 }).toArray(); // => [[[[9, 7], [3, 6]]]]
 * ```
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dFnOptions = {}): Tensor {
  checkOptions('conv2d', opts, ['stride', 'padding', 'dilation', 'groups']);
  return conv2dChecked('conv2d', x, weight, bias, opts);
}

export interface Conv2dOptions extends Conv2dFnOptions {
  /** Learn an additive bias per output channel. Default true. */
  bias?: boolean;
  dtype?: DType;
}

/**
 * Applies a 2-D convolution over an NCHW input (PyTorch's nn.Conv2d):
 * y[n, o] = b[o] + Σ_{c ∈ group(o)} W[o, c] ⋆ x[n, c], ⋆ the 2-D cross-correlation with the given stride,
 * zero padding and dilation. Channels split into `groups` independent groups (groups = inChannels is a
 * depthwise convolution).
 *
 * Defaults: stride 1, padding 0, dilation 1, groups 1, bias true. W [out, in/groups, kh, kw] and b are
 * drawn as PyTorch does: W from Kaiming-uniform with a = √5, i.e. U(−1/√fanIn, 1/√fanIn), and b from
 * U(−1/√fanIn, 1/√fanIn), fanIn = in/groups·kh·kw. kernelSize, stride, padding and dilation take a number
 * or [h, w].
 *
 * Computed as im2col + the blocked matmul kernel (a 1×1 kernel with stride 1 is a plain matmul); the
 * backward is hand-written (dx by col2im).
 *
 * Shape: input [N, in, H, W] → output [N, out, OH, OW], OH = ⌊(H + 2·padding − dilation·(kh − 1) − 1)/stride⌋ + 1
 * (OW likewise).
 *
 * Example:
 * ```ts
 * manualSeed(0);
 * const conv = new nn.Conv2d(3, 8, 3, { padding: 1 });
 * conv.weight.shape;                             // => [8, 3, 3, 3]
 * conv.forward(randn([2, 3, 28, 28])).shape;     // => [2, 8, 28, 28]
 * const down = new nn.Conv2d(8, 16, [3, 5], { stride: 2, padding: [1, 2], bias: false });
 * down.forward(randn([2, 8, 28, 28])).shape;     // => [2, 16, 14, 14]
 * ```
 */
export class Conv2d extends Module {
  declare weight: Tensor;
  declare bias: Tensor | null;
  readonly kernelSize: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Size2,
    options: Conv2dOptions = {}) {
    super();
    const what = 'Conv2d';
    checkOptions(what, options, ['stride', 'padding', 'dilation', 'groups', 'bias', 'dtype'],
      { padding_mode: "only zero padding ('zeros') is supported", paddingMode: "only zero padding ('zeros') is supported" });
    const { stride = 1, padding = 0, dilation = 1, groups = 1, bias = true, dtype = 'float32' } = options;
    for (const [name, v] of [['inChannels', inChannels], ['outChannels', outChannels], ['groups', groups]] as const) positiveInteger(what, name, v);
    if (inChannels % groups !== 0) throw new Error(`${what}: inChannels ${inChannels} is not divisible by groups ${groups}`);
    if (outChannels % groups !== 0) throw new Error(`${what}: outChannels ${outChannels} is not divisible by groups ${groups}`);
    checkBoolean(what, 'bias', bias);
    checkDtype(what, dtype);
    this.kernelSize = pair(kernelSize, 'kernelSize', what, 1);
    this.stride = pair(stride, 'stride', what, 1);
    this.padding = pair(padding, 'padding', what, 0);
    this.dilation = pair(dilation, 'dilation', what, 1);
    this.groups = groups;
    const [kh, kw] = this.kernelSize;
    this.registerParameter('weight', kaimingUniform(zeros([outChannels, inChannels / groups, kh, kw], { dtype }), { a: Math.sqrt(5) }));
    const bound = 1 / Math.sqrt((inChannels / groups) * kh * kw);
    this.registerParameter('bias', bias ? uniform(zeros([outChannels], { dtype }), -bound, bound) : null);
  }

  forward(x: Tensor): Tensor {
    return conv2dChecked('Conv2d', x, this.weight, this.bias,
      { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }

  override extraRepr(): string {
    const p = (v: readonly [number, number]) => `[${v.join(', ')}]`;
    const at = (v: readonly [number, number], d: number) => v[0] !== d || v[1] !== d;
    return [`${this.inChannels}, ${this.outChannels}, kernelSize=${p(this.kernelSize)}, stride=${p(this.stride)}`,
      at(this.padding, 0) ? `padding=${p(this.padding)}` : '', at(this.dilation, 1) ? `dilation=${p(this.dilation)}` : '',
      this.groups !== 1 ? `groups=${this.groups}` : '', this.bias ? '' : 'bias=false'].filter(Boolean).join(', ');
  }
}
