import type { DType, NormLayout } from '../kernels/types.js';
import { trusted } from '../memory/index.js';
import { Tensor, formatShape, ones, op, opWithAux, zeros } from '../tensor/index.js';
import { warnOnce } from '../warn.js';
import { NormBase, channelLayout, checkVector, meanOverGroups, updateRunning } from './batchnorm.js';
import { checkBoolean, checkDtype, checkEps, checkMomentum, checkOptions, checkTensorInput, positiveInteger } from './check.js';
import { Module } from './module.js';

/*
 * LayerNorm, GroupNorm and InstanceNorm: functional forms and modules. Each forward is one application of the
 * fused `norm` op, statistics per sample; they differ only in the grouping. Module configuration is checked
 * once, in the constructor; forward checks the input and passes its name to the functional form's messages.
 */

/** The input is a Tensor of the module's dtype (`state`: a parameter or buffer, if any). */
function checkInput(name: string, x: unknown, state: Tensor | null): asserts x is Tensor {
  checkTensorInput(name, x);
  if (state && x.dtype !== state.dtype)
    throw new Error(`${name}: input is ${x.dtype} but the module is ${state.dtype}; call module.to('${x.dtype}') or convert the input`);
}

// ---- functional forms ----

/** Checks shared by the per-sample normalizations (the input, γ and β against `affineShape`). */
function checkPerSample(what: string, x: Tensor, affineShape: readonly number[], weight: Tensor | null, bias: Tensor | null): void {
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (!t) continue;
    if (!(t instanceof Tensor)) throw new Error(`${what}: ${name} must be a Tensor or null`);
    if (t.ndim !== affineShape.length || t.shape.some((d, i) => d !== affineShape[i]))
      throw new Error(`${what}: ${name} has shape ${formatShape(t.shape)} but the input ${formatShape(x.shape)} needs ${formatShape(affineShape)}`);
    if (t.dtype !== x.dtype) throw new Error(`${what}: ${name} is ${t.dtype} but the input is ${x.dtype}; convert with .to() first`);
  }
}

/** [N, C, S] view of an input [N, C, *] with statistics per (sample, group of C/groups channels). */
function groupLayout(x: Tensor, groups: number): NormLayout {
  return { ...channelLayout(x), groups };
}

/** The fused norm op with batch-free statistics (per sample and group) on `layout`. */
function perSampleNorm(x: Tensor, layout: NormLayout, eps: number, weight: Tensor | null, bias: Tensor | null,
  stats?: { mean: Float64Array; variance: Float64Array }): Tensor {
  return op('norm', [x, weight, bias], { layout, eps, stats });
}

/** Options of the functional layer normalization. */
export interface LayerNormFnOptions {
  /** γ of shape normalizedShape, or null for 1. */
  weight?: Tensor | null;
  /** β of shape normalizedShape, or null for 0. */
  bias?: Tensor | null;
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
}

/** normalizedShape as a checked array of positive integers. */
export function checkNormalizedShape(what: string, normalizedShape: number | readonly number[]): number[] {
  const s = typeof normalizedShape === 'number' ? [normalizedShape] : Array.isArray(normalizedShape) ? [...normalizedShape as number[]] : null;
  if (!s || s.length === 0 || s.some((d) => !Number.isInteger(d) || d <= 0))
    throw new Error(`${what}: normalizedShape must be a positive integer or a non-empty array of them, got ${JSON.stringify(normalizedShape)}`);
  return s;
}

/**
 * Layer normalization (Ba, Kiros & Hinton 2016, https://arxiv.org/abs/1607.06450), functional form.
 *
 * y = (x − E[x])/√(Var[x] + ε)·γ + β, with the mean and biased variance of each sample over the trailing
 * `normalizedShape` axes; γ, β (when given) have shape normalizedShape. No batch statistics: training and
 * evaluation compute the same thing.
 *
 * Shape: x [*, ...normalizedShape] → output of the same shape.
 *
 * Example:
 * ```ts
 * const y = nn.functional.layerNorm(tensor([[1, 2, 3], [10, 10, 40]]), 3);
 * y.sum(1).toArray(); // => [0, 0]
 * ```
 */
export function layerNorm(x: Tensor, normalizedShape: number | readonly number[], options: LayerNormFnOptions = {}): Tensor {
  const what = 'layerNorm';
  checkOptions(what, options, ['weight', 'bias', 'eps']);
  const shape = checkNormalizedShape(what, normalizedShape);
  checkEps(what, options.eps ?? 1e-5);
  return layerNormApply(what, x, shape, options);
}

/** layerNorm without the configuration checks; input errors carry `what`, the caller's name. */
export function layerNormApply(what: string, x: Tensor, shape: readonly number[], { weight = null, bias = null, eps = 1e-5 }: LayerNormFnOptions): Tensor {
  checkTensorInput(what, x);
  const lead = x.ndim - shape.length;
  if (lead < 0 || shape.some((d, i) => x.shape[lead + i] !== d))
    throw new Error(`${what}: expected an input [*, ${shape.join(', ')}] whose trailing axes are normalizedShape ${formatShape(shape)}, got shape ${formatShape(x.shape)}`);
  checkPerSample(what, x, shape, weight, bias);
  const C = shape.reduce((p, d) => p * d, 1);
  return perSampleNorm(x, { N: x.size / C, C, S: 1, groups: 1 }, eps, weight, bias);
}

/** Options of the functional group normalization. */
export interface GroupNormFnOptions {
  /** γ [C], or null for 1. */
  weight?: Tensor | null;
  /** β [C], or null for 0. */
  bias?: Tensor | null;
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
}

/**
 * Group normalization (Wu & He 2018, https://arxiv.org/abs/1803.08494), functional form.
 *
 * The C channels are split into `numGroups` groups of C/numGroups consecutive channels;
 * y = (x − E[x])/√(Var[x] + ε)·γ + β with the mean and biased variance of each (sample, group) over its
 * channels and spatial positions; γ, β per channel. One group is LayerNorm over (C, *); C groups is
 * InstanceNorm.
 *
 * Shape: x [N, C, *] → output of the same shape; C must be a multiple of numGroups.
 *
 * Example:
 * ```ts
 * const x = randn([2, 4, 3]);
 * const y = nn.functional.groupNorm(x, 2, { weight: ones([4]), bias: zeros([4]) });
 * y.shape; // => [2, 4, 3]
 * ```
 */
export function groupNorm(x: Tensor, numGroups: number, options: GroupNormFnOptions = {}): Tensor {
  const what = 'groupNorm';
  checkOptions(what, options, ['weight', 'bias', 'eps']);
  checkEps(what, options.eps ?? 1e-5);
  return groupNormApply(what, x, numGroups, options);
}

/** groupNorm without the configuration checks; input errors carry `what`, the caller's name. */
export function groupNormApply(what: string, x: Tensor, numGroups: number, { weight = null, bias = null, eps = 1e-5 }: GroupNormFnOptions): Tensor {
  checkTensorInput(what, x);
  if (x.ndim < 2) throw new Error(`${what}: expected an input [N, C, *] of rank ≥ 2, got shape ${formatShape(x.shape)}`);
  const C = x.shape[1];
  if (!Number.isInteger(numGroups) || numGroups <= 0 || C % numGroups !== 0)
    throw new Error(`${what}: the ${C} channels of input shape ${formatShape(x.shape)} do not split into numGroups ${numGroups} groups`);
  checkPerSample(what, x, [C], weight, bias);
  return perSampleNorm(x, groupLayout(x, numGroups), eps, weight, bias);
}

/** Options of the functional instance normalization. */
export interface InstanceNormFnOptions {
  /** Running mean [C] (updated in place when using input statistics), or null. */
  runningMean?: Tensor | null;
  /** Running variance [C] (unbiased; updated in place when using input statistics), or null. */
  runningVar?: Tensor | null;
  /** γ [C], or null for 1. */
  weight?: Tensor | null;
  /** β [C], or null for 0. */
  bias?: Tensor | null;
  /** Normalize with each instance's own statistics (default true); false: with the running statistics. */
  useInputStats?: boolean;
  /** Weight of the old running value: running ← running·momentum + batch·(1 − momentum). Default 0.9 (PyTorch's 0.1). */
  momentum?: number;
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
}

/**
 * Instance normalization (Ulyanov, Vedaldi & Lempitsky 2016, https://arxiv.org/abs/1607.08022), functional form.
 *
 * y = (x − E[x])/√(Var[x] + ε)·γ + β with the mean and biased variance of each (sample, channel) over the
 * spatial axes. With running statistics and input statistics, they are updated in place with the mean over
 * the batch of the instance statistics (the variance unbiased, S/(S − 1)·σ², S the spatial size), as
 * PyTorch does: running ← running·momentum + mean_n(stat)·(1 − momentum). With `useInputStats: false`, every
 * instance is normalized with the running statistics of its channel.
 *
 * Note: `momentum` is the weight of the old value; 0.9 here is PyTorch's momentum=0.1.
 *
 * Shape: x [N, C, *] → output of the same shape; running statistics, γ, β [C].
 *
 * Example:
 * ```ts
 * const y = nn.functional.instanceNorm(tensor([[[1, 2, 3], [4, 4, 10]]]));
 * y.sum(2).toArray(); // => [[0, 0]]
 * ```
 */
export function instanceNorm(x: Tensor, options: InstanceNormFnOptions = {}): Tensor {
  const what = 'instanceNorm';
  checkOptions(what, options, ['runningMean', 'runningVar', 'weight', 'bias', 'useInputStats', 'momentum', 'eps']);
  checkEps(what, options.eps ?? 1e-5);
  checkMomentum(what, 'momentum' in options ? options.momentum : 0.9, 'a cumulative average is not available for instance normalization');
  return instanceNormApply(what, x, options);
}

/** instanceNorm without the configuration checks; input errors carry `what`, the caller's name. */
export function instanceNormApply(what: string, x: Tensor, { runningMean = null, runningVar = null, weight = null, bias = null, useInputStats = true, momentum = 0.9, eps = 1e-5 }: InstanceNormFnOptions): Tensor {
  return trusted(() => {
    checkTensorInput(what, x);
    if (x.ndim < 2) throw new Error(`${what}: expected an input [N, C, *] of rank ≥ 2, got shape ${formatShape(x.shape)}`);
    const C = x.shape[1];
    checkPerSample(what, x, [C], weight, bias);
    if ((runningMean === null) !== (runningVar === null)) throw new Error(`${what}: pass both runningMean and runningVar, or neither`);
    checkVector(what, 'runningMean', runningMean, C, x);
    checkVector(what, 'runningVar', runningVar, C, x);
    const layout = groupLayout(x, C), N = layout.N, S = layout.S;
    if (!useInputStats) {
      if (!runningMean) throw new Error(`${what}: useInputStats false needs runningMean and runningVar`);
      // the per-channel running statistics repeated for every sample: the [N·C] statistics of the layout
      const rm = runningMean.storage.peek(), rv = runningVar!.storage.peek();
      const mean = new Float64Array(N * C), variance = new Float64Array(N * C);
      for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) { mean[n * C + c] = rm[c]; variance[n * C + c] = rv[c]; }
      return perSampleNorm(x, layout, eps, weight, bias, { mean, variance });
    }
    if (S <= 1) throw new Error(`${what}: expected more than 1 spatial element when using input statistics, got input shape ${formatShape(x.shape)}`);
    if (!runningMean) return perSampleNorm(x, layout, eps, weight, bias);
    const { y, aux } = opWithAux('norm', [x, weight, bias], { layout, eps, wantStats: true });
    updateRunning(runningMean, meanOverGroups(aux.mean, N, C), momentum, 1);
    updateRunning(runningVar!, meanOverGroups(aux.variance, N, C), momentum, S / (S - 1));
    return y;
  });
}

// ---- modules ----

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

  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    const what = 'LayerNorm';
    checkOptions(what, options, ['eps', 'elementwiseAffine', 'dtype'], { affine: "LayerNorm's option is elementwiseAffine" });
    const { eps = 1e-5, elementwiseAffine = true, dtype = 'float32' } = options;
    this.normalizedShape = checkNormalizedShape(what, normalizedShape);
    this.eps = checkEps(what, eps);
    this.elementwiseAffine = checkBoolean(what, 'elementwiseAffine', elementwiseAffine);
    checkDtype(what, dtype);
    this.registerParameter('weight', elementwiseAffine ? ones(this.normalizedShape, { dtype }) : null);
    this.registerParameter('bias', elementwiseAffine ? zeros(this.normalizedShape, { dtype }) : null);
  }

  forward(x: Tensor): Tensor {
    const name = `LayerNorm(${formatShape(this.normalizedShape)})`;
    checkInput(name, x, this.weight);
    return layerNormApply(name, x, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${formatShape(this.normalizedShape)}, eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine}`;
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

  constructor(readonly numGroups: number, readonly numChannels: number, options: GroupNormOptions = {}) {
    super();
    const what = 'GroupNorm';
    checkOptions(what, options, ['eps', 'affine', 'dtype']);
    const { eps = 1e-5, affine = true, dtype = 'float32' } = options;
    positiveInteger(what, 'numGroups', numGroups);
    positiveInteger(what, 'numChannels', numChannels);
    if (numChannels % numGroups !== 0) throw new Error(`GroupNorm: numChannels ${numChannels} must be divisible by numGroups ${numGroups}`);
    this.eps = checkEps(what, eps);
    this.affine = checkBoolean(what, 'affine', affine);
    checkDtype(what, dtype);
    this.registerParameter('weight', affine ? ones([numChannels], { dtype }) : null);
    this.registerParameter('bias', affine ? zeros([numChannels], { dtype }) : null);
  }

  forward(x: Tensor): Tensor {
    const name = `GroupNorm(${this.numGroups}, ${this.numChannels})`;
    checkInput(name, x, this.weight);
    if (x.ndim < 2) throw new Error(`${name}: expected an input [N, C, *] of rank ≥ 2, got shape ${formatShape(x.shape)}`);
    if (x.shape[1] !== this.numChannels) throw new Error(`${name}: expected ${this.numChannels} channels (input.shape[1]), got input shape ${formatShape(x.shape)}`);
    return groupNormApply(name, x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${this.eps}, affine=${this.affine}`;
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
export abstract class InstanceNorm extends NormBase {
  readonly momentum: number;
  readonly trackRunningStats: boolean;

  /** Rank of a batched input [N, C, *]; one less is an unbatched input [C, *]. */
  protected abstract readonly rank: number;
  protected abstract readonly layoutName: string;

  constructor(numFeatures: number, options: InstanceNormOptions = {}) {
    const name = new.target.name;
    checkOptions(name, options, ['eps', 'momentum', 'affine', 'trackRunningStats', 'dtype']);
    const { eps = 1e-5, momentum = 0.9, affine = false, trackRunningStats = false, dtype = 'float32' } = options;
    checkMomentum(name, momentum, "there is no cumulative average for instance normalization; momentum 0.9 is PyTorch's default 0.1");
    checkBoolean(name, 'trackRunningStats', trackRunningStats);
    super(name, numFeatures, { eps, affine, track: trackRunningStats, dtype });
    if (momentum < 0.5 && trackRunningStats) warnOnce('instancenorm-momentum', `${name} momentum ${momentum} < 0.5. Here momentum is the weight of the old running value (running = running·momentum + batch·(1 − momentum)); PyTorch's momentum=0.1 is momentum=0.9 here.`);
    this.momentum = momentum;
    this.trackRunningStats = trackRunningStats;
  }

  forward(x: Tensor): Tensor {
    const name = `${this.constructor.name}(${this.numFeatures})`;
    this.checkInput(name, x);
    const batched = x.ndim === this.rank;
    if (!batched && x.ndim !== this.rank - 1) throw new Error(`${name}: expected input ${this.layoutName}, got shape ${formatShape(x.shape)}`);
    const C = x.shape[batched ? 1 : 0];
    if (C !== this.numFeatures) throw new Error(`${name}: expected ${this.numFeatures} channels, got input shape ${formatShape(x.shape)}`);
    const opts = {
      runningMean: this.runningMean, runningVar: this.runningVar, weight: this.weight, bias: this.bias,
      useInputStats: this.training || !this.trackRunningStats, momentum: this.momentum, eps: this.eps,
    };
    // An unbatched input [C, *] is a batch of one, as in PyTorch.
    return batched ? instanceNormApply(name, x, opts) : instanceNormApply(name, x.reshape([1, ...x.shape]), opts).reshape(x.shape);
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
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
