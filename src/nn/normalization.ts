import type { DType } from '../kernels/types.js';
import { Tensor, formatShape, ones, zeros } from '../tensor/index.js';
import { warnOnce } from '../warn.js';
import { checkNormalizedShape, groupNorm, instanceNorm, layerNorm } from './functional.js';
import { Module } from './module.js';

/*
 * LayerNorm, GroupNorm and InstanceNorm: state and validation only. Each forward is one application of the
 * fused `norm` op (through nn.functional), statistics per sample; they differ only in the grouping.
 */

function checkDtype(name: string, dtype: DType): void {
  if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`${name}: unknown dtype '${dtype as string}'`);
}

function checkEps(name: string, eps: number): void {
  if (!(eps > 0)) throw new Error(`${name}: eps must be > 0, got ${eps}`);
}

/** The input is a Tensor of the module's dtype (`state`: a parameter or buffer, if any). */
function checkInput(name: string, x: Tensor, state: Tensor | null): void {
  if (!(x instanceof Tensor)) throw new Error(`${name}: expected a Tensor input`);
  if (state && x.dtype !== state.dtype)
    throw new Error(`${name}: input is ${x.dtype} but the module is ${state.dtype}; call module.to('${x.dtype}') or convert the input`);
}

export interface LayerNormOptions {
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** Learn γ (weight, init 1) and β (bias, init 0) of shape normalizedShape. Default true. */
  elementwiseAffine?: boolean;
  dtype?: DType;
}

/**
 * Layer normalization (Ba, Kiros & Hinton 2016, https://arxiv.org/abs/1607.06450).
 *
 * y = (x − E[x])/√(Var[x] + ε)·γ + β, the mean and biased variance taken per sample over the trailing
 * `normalizedShape` axes. Unlike BatchNorm there are no batch or running statistics: training and
 * evaluation compute the same thing, and a batch of one is fine (the note's choice for RNNs).
 *
 * Defaults: eps 1e-5; elementwiseAffine true — γ (weight, init 1) and β (bias, init 0) of shape
 * normalizedShape, one per normalized element (PyTorch names).
 *
 * Shape: input [*, ...normalizedShape] → output of the same shape.
 *
 * Example:
 * ```ts
 * const ln = new nn.LayerNorm([4, 5]);
 * const y = ln.forward(randn([2, 3, 4, 5]));
 * y.shape;                       // => [2, 3, 4, 5]
 * Object.keys(ln.stateDict());   // => ["weight", "bias"]
 * ln.weight!.shape;              // => [4, 5]
 * ```
 */
export class LayerNorm extends Module {
  declare weight: Tensor | null;
  declare bias: Tensor | null;
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;

  constructor(normalizedShape: number | readonly number[], { eps = 1e-5, elementwiseAffine = true, dtype = 'float32' }: LayerNormOptions = {}) {
    super();
    this.normalizedShape = checkNormalizedShape('LayerNorm', normalizedShape);
    checkEps('LayerNorm', eps);
    checkDtype('LayerNorm', dtype);
    this.eps = eps;
    this.elementwiseAffine = elementwiseAffine;
    this.registerParameter('weight', elementwiseAffine ? ones(this.normalizedShape, { dtype }) : null);
    this.registerParameter('bias', elementwiseAffine ? zeros(this.normalizedShape, { dtype }) : null);
  }

  forward(x: Tensor): Tensor {
    const name = `LayerNorm(${formatShape(this.normalizedShape)})`;
    checkInput(name, x, this.weight);
    const s = this.normalizedShape, lead = x.ndim - s.length;
    if (lead < 0 || s.some((d, i) => x.shape[lead + i] !== d))
      throw new Error(`${name}: expected an input [*, ${s.join(', ')}] whose trailing axes are normalizedShape ${formatShape(s)}, got shape ${formatShape(x.shape)}`);
    return layerNorm(x, s, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override toString(): string {
    return `LayerNorm(${formatShape(this.normalizedShape)}, eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine})`;
  }
}

export interface GroupNormOptions {
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** Learn γ (weight, init 1) and β (bias, init 0), one per channel. Default true. */
  affine?: boolean;
  dtype?: DType;
}

/**
 * Group normalization (Wu & He 2018, https://arxiv.org/abs/1803.08494).
 *
 * The channels are split into numGroups groups of numChannels/numGroups consecutive channels, and
 * y = (x − E[x])/√(Var[x] + ε)·γ + β with the mean and biased variance of each (sample, group) over its
 * channels and all spatial positions. Independent of the batch size; the same in training and evaluation.
 * numGroups = 1 is LayerNorm over (C, *) with per-channel γ, β; numGroups = numChannels is InstanceNorm.
 *
 * Defaults: eps 1e-5; affine true — γ (weight, init 1) and β (bias, init 0) per channel.
 *
 * Shape: input [N, C, *] with C = numChannels → output of the same shape.
 *
 * Example:
 * ```ts
 * const gn = new nn.GroupNorm(2, 6);
 * gn.forward(randn([4, 6, 3, 3])).shape; // => [4, 6, 3, 3]
 * gn.weight!.shape;                      // => [6]
 * ```
 */
export class GroupNorm extends Module {
  declare weight: Tensor | null;
  declare bias: Tensor | null;
  readonly eps: number;
  readonly affine: boolean;

  constructor(readonly numGroups: number, readonly numChannels: number, { eps = 1e-5, affine = true, dtype = 'float32' }: GroupNormOptions = {}) {
    super();
    if (!Number.isInteger(numGroups) || numGroups <= 0) throw new Error(`GroupNorm: numGroups must be a positive integer, got ${numGroups}`);
    if (!Number.isInteger(numChannels) || numChannels <= 0) throw new Error(`GroupNorm: numChannels must be a positive integer, got ${numChannels}`);
    if (numChannels % numGroups !== 0) throw new Error(`GroupNorm: numChannels ${numChannels} must be divisible by numGroups ${numGroups}`);
    checkEps('GroupNorm', eps);
    checkDtype('GroupNorm', dtype);
    this.eps = eps;
    this.affine = affine;
    this.registerParameter('weight', affine ? ones([numChannels], { dtype }) : null);
    this.registerParameter('bias', affine ? zeros([numChannels], { dtype }) : null);
  }

  forward(x: Tensor): Tensor {
    const name = `GroupNorm(${this.numGroups}, ${this.numChannels})`;
    checkInput(name, x, this.weight);
    if (x.ndim < 2) throw new Error(`${name}: expected an input [N, C, *] of rank ≥ 2, got shape ${formatShape(x.shape)}`);
    if (x.shape[1] !== this.numChannels) throw new Error(`${name}: expected ${this.numChannels} channels (input.shape[1]), got input shape ${formatShape(x.shape)}`);
    return groupNorm(x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override toString(): string {
    return `GroupNorm(${this.numGroups}, ${this.numChannels}, eps=${this.eps}, affine=${this.affine})`;
  }
}

export interface InstanceNormOptions {
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** Weight of the old running value (default 0.9; PyTorch's 0.1 is 0.9 here). */
  momentum?: number;
  /** Learn γ (weight, init 1) and β (bias, init 0), one per channel. Default false (as PyTorch). */
  affine?: boolean;
  /** Keep running statistics in training and normalize with them in evaluation. Default false (as PyTorch). */
  trackRunningStats?: boolean;
  dtype?: DType;
}

/**
 * Instance normalization's shared implementation: the same forward as PyTorch's `_InstanceNorm`.
 * Training (or trackRunningStats false): each (sample, channel) normalized with its own statistics over
 * the spatial axes. With trackRunningStats, training updates running_mean/running_var with the mean over
 * the batch of the instance statistics (variance unbiased) and evaluation uses them. num_batches_tracked
 * exists for state-dict compatibility and, as in PyTorch, is not incremented.
 */
export abstract class InstanceNorm extends Module {
  declare weight: Tensor | null;
  declare bias: Tensor | null;
  declare runningMean: Tensor | null;
  declare runningVar: Tensor | null;
  declare numBatchesTracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  /** Rank of a batched input [N, C, *]; one less is an unbatched input [C, *]. */
  protected abstract readonly rank: number;
  protected abstract readonly layoutName: string;

  constructor(readonly numFeatures: number, { eps = 1e-5, momentum = 0.9, affine = false, trackRunningStats = false, dtype = 'float32' }: InstanceNormOptions = {}) {
    super();
    const name = new.target.name;
    if (!Number.isInteger(numFeatures) || numFeatures <= 0) throw new Error(`${name}: numFeatures must be a positive integer, got ${numFeatures}`);
    checkEps(name, eps);
    if (!(momentum >= 0 && momentum <= 1)) throw new Error(`${name}: momentum must be in [0, 1], got ${momentum}`);
    if (momentum < 0.5 && trackRunningStats) warnOnce('instancenorm-momentum', `${name} momentum ${momentum} < 0.5. Here momentum is the weight of the old running value (running = running·momentum + batch·(1 − momentum)); PyTorch's momentum=0.1 is momentum=0.9 here.`);
    checkDtype(name, dtype);
    this.eps = eps;
    this.momentum = momentum;
    this.affine = affine;
    this.trackRunningStats = trackRunningStats;
    this.registerParameter('weight', affine ? ones([numFeatures], { dtype }) : null);
    this.registerParameter('bias', affine ? zeros([numFeatures], { dtype }) : null);
    this.registerBuffer('running_mean', trackRunningStats ? zeros([numFeatures], { dtype }) : null);
    this.registerBuffer('running_var', trackRunningStats ? ones([numFeatures], { dtype }) : null);
    this.registerBuffer('num_batches_tracked', trackRunningStats ? zeros([], { dtype: 'float64' }) : null, { integer: true });
  }

  forward(x: Tensor): Tensor {
    const name = `${this.constructor.name}(${this.numFeatures})`;
    checkInput(name, x, this.weight ?? this.runningMean);
    const batched = x.ndim === this.rank;
    if (!batched && x.ndim !== this.rank - 1) throw new Error(`${name}: expected input ${this.layoutName}, got shape ${formatShape(x.shape)}`);
    const C = x.shape[batched ? 1 : 0];
    if (C !== this.numFeatures) throw new Error(`${name}: expected ${this.numFeatures} channels, got input shape ${formatShape(x.shape)}`);
    const opts = {
      runningMean: this.runningMean, runningVar: this.runningVar, weight: this.weight, bias: this.bias,
      useInputStats: this.training || !this.trackRunningStats, momentum: this.momentum, eps: this.eps,
    };
    // An unbatched input [C, *] is a batch of one, as in PyTorch.
    return batched ? instanceNorm(x, opts) : instanceNorm(x.reshape([1, ...x.shape]), opts).reshape(x.shape);
  }

  override toString(): string {
    return `${this.constructor.name}(${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats})`;
  }
}

/**
 * Instance normalization over a 3-D input [N, C, L] (or an unbatched [C, L]) (Ulyanov et al. 2016,
 * https://arxiv.org/abs/1607.08022).
 *
 * y = (x − E[x])/√(Var[x] + ε)·γ + β, the mean and biased variance taken per sample and channel over L.
 * With trackRunningStats, training also updates running_mean and running_var (unbiased) with the mean over
 * the batch of the instance statistics — running ← running·momentum + mean_n(stat)·(1 − momentum) — and
 * evaluation normalizes with them; without it, instance statistics are used in both modes.
 *
 * Defaults (PyTorch's): eps 1e-5; momentum 0.9 (= PyTorch's 0.1; it is the weight of the old running
 * value, not optimizer momentum); affine false; trackRunningStats false.
 *
 * Shape: input [N, C, L] or [C, L] → output of the same shape.
 *
 * Example:
 * ```ts
 * const inorm = new nn.InstanceNorm1d(2, { affine: true, trackRunningStats: true });
 * const y = inorm.forward(tensor([[[1, 2, 3], [2, 2, 8]]]));
 * y.sum(2).toArray();             // => [[0, 0]]
 * inorm.runningMean!.toArray();   // => [0.2, 0.4]
 * inorm.eval();                   // from now on the running statistics are used
 * ```
 */
export class InstanceNorm1d extends InstanceNorm {
  protected readonly rank = 3;
  protected readonly layoutName = '[N, C, L] or [C, L]';
}

/**
 * Instance normalization over a 4-D input [N, C, H, W] (or an unbatched [C, H, W]): statistics per sample
 * and channel over (H, W). Options, defaults and running statistics as InstanceNorm1d.
 *
 * Shape: input [N, C, H, W] or [C, H, W] → output of the same shape.
 *
 * Example:
 * ```ts
 * const inorm = new nn.InstanceNorm2d(3);
 * inorm.forward(randn([2, 3, 4, 4])).shape; // => [2, 3, 4, 4]
 * Object.keys(inorm.stateDict());           // => []
 * ```
 */
export class InstanceNorm2d extends InstanceNorm {
  protected readonly rank = 4;
  protected readonly layoutName = '[N, C, H, W] or [C, H, W]';
}
