import type { Arr } from '../autograd/index.js';
import { getBackend } from '../kernels/index.js';
import type { FloatArray, NormLayout } from '../kernels/types.js';
import { statCount, statSize } from '../kernels/types.js';
import { trusted } from '../memory/index.js';
import { Tensor, formatShape, op, opWithAux } from '../tensor/index.js';

export { linear } from './linear.js';
export { conv2d } from './conv.js';
export { maxPool2d, avgPool2d, adaptiveAvgPool2d } from './pooling.js';
export { dropout } from './dropout.js';

/** Options of the functional batch normalization (the module passes its state in through these). */
export interface BatchNormFnOptions {
  /** γ [C], or null for 1. */
  weight?: Tensor | null;
  /** β [C], or null for 0. */
  bias?: Tensor | null;
  /** Use batch statistics (and update the running ones when given); else use the running statistics. Default false. */
  training?: boolean;
  /** Weight of the old running value: running ← running·momentum + batch·(1 − momentum). Default 0.9 (PyTorch's 0.1). */
  momentum?: number;
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** Store the unbiased batch variance m/(m−1)·σ²_B in the running variance (default true, as PyTorch). */
  unbiasedRunningVar?: boolean;
  /**
   * Ghost batch normalization (Hoffer et al. 2017, https://arxiv.org/abs/1705.08741): in training, statistics
   * per group of this many consecutive samples; the running statistics move toward the mean over groups.
   * N must be a multiple of it (N ≤ it is one group: plain BN). Default: the whole batch.
   */
  virtualBatchSize?: number;
  /**
   * Batch Renormalization (Ioffe 2017, https://arxiv.org/abs/1702.03275): in training, normalize with the
   * batch statistics corrected by r = clip(σ_B/σ, 1/rMax, rMax) and d = clip((μ_B − μ)/σ, ±dMax) from the
   * running statistics (which it needs); r and d carry no gradient. rMax = 1, dMax = 0 is plain BN.
   */
  renorm?: RenormLimits | null;
}

/** Clipping limits of Batch Renormalization. */
export interface RenormLimits {
  readonly rMax: number;
  readonly dMax: number;
}

/** Checks renorm limits: rMax ≥ 1, dMax ≥ 0. */
export function checkRenorm(what: string, renorm: RenormLimits | null | undefined): void {
  if (renorm === null || renorm === undefined) return;
  if (typeof renorm !== 'object' || !(renorm.rMax >= 1) || !(renorm.dMax >= 0) || !Number.isFinite(renorm.rMax) || !Number.isFinite(renorm.dMax))
    throw new Error(`${what}: renorm needs { rMax ≥ 1, dMax ≥ 0 } (finite), got ${JSON.stringify(renorm)}`);
}

/** [N, C, S] view of a batch-normalization input [N, C, *]. */
export function channelLayout(x: Tensor, ghost?: number): NormLayout {
  return { N: x.shape[0], C: x.shape[1], S: x.shape.slice(2).reduce((p, d) => p * d, 1), groups: 0, ...(ghost ? { ghost } : {}) };
}

/** Checks shared by the module and the functional form; they run before any state changes. */
export function checkBatchNormArgs(what: string, x: Tensor, C: number | null, usesBatchStats: boolean, eps: number, momentum: number, virtualBatchSize?: number): void {
  if (!(x instanceof Tensor)) throw new Error(`${what}: expected a Tensor input`);
  if (x.ndim < 2) throw new Error(`${what}: expected an input [N, C, *] of rank ≥ 2, got shape ${formatShape(x.shape)}`);
  if (C !== null && x.shape[1] !== C) throw new Error(`${what}: expected ${C} channels (input.shape[1]), got input shape ${formatShape(x.shape)}`);
  if (virtualBatchSize !== undefined && (!Number.isInteger(virtualBatchSize) || virtualBatchSize < 1))
    throw new Error(`${what}: virtualBatchSize must be a positive integer, got ${virtualBatchSize}`);
  const ghost = usesBatchStats && virtualBatchSize !== undefined && virtualBatchSize < x.shape[0];
  if (ghost && x.shape[0] % virtualBatchSize !== 0)
    throw new Error(`${what}: the batch of input shape ${formatShape(x.shape)} does not split into ghost batches of virtualBatchSize ${virtualBatchSize}`);
  if (usesBatchStats && (ghost ? virtualBatchSize : x.shape[0]) * (x.size / (x.shape[0] * x.shape[1] || 1)) <= 1)
    throw new Error(`${what}: expected more than 1 value per channel when training, got input shape ${formatShape(x.shape)}${ghost ? ` with virtualBatchSize ${virtualBatchSize}` : ''}`);
  if (!(eps > 0)) throw new Error(`${what}: eps must be > 0, got ${eps}`);
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`${what}: momentum must be in [0, 1], got ${momentum}`);
}

function checkVector(what: string, name: string, t: Tensor | null | undefined, C: number, x: Tensor): void {
  if (!t) return;
  if (!(t instanceof Tensor)) throw new Error(`${what}: ${name} must be a Tensor or null`);
  if (t.ndim !== 1 || t.shape[0] !== C) throw new Error(`${what}: ${name} has shape ${formatShape(t.shape)} but the input ${formatShape(x.shape)} has ${C} channels`);
  if (t.dtype !== x.dtype) throw new Error(`${what}: ${name} is ${t.dtype} but the input is ${x.dtype}; convert with .to() first`);
}

/**
 * Batch normalization (Ioffe & Szegedy 2015, https://arxiv.org/abs/1502.03167), functional form.
 *
 * y = (x − μ)/√(σ² + ε)·γ + β, per channel (axis 1) over all other axes. In training μ, σ² are the batch
 * mean and biased variance, and the running statistics, when given, are updated in place:
 * running ← running·momentum + batch·(1 − momentum) (the variance stored unbiased by default). Otherwise
 * μ, σ² are the running statistics.
 *
 * Note: `momentum` here is the weight of the old value (the note's, Keras's and ONNX's convention): 0.9
 * here is PyTorch's momentum=0.1. It is not optimizer momentum.
 *
 * Shape: x [N, C], [N, C, L] or [N, C, H, W] (any [N, C, *]); running statistics, γ, β [C]; output as x.
 *
 * Example:
 * ```ts
 * const x = randn([8, 3, 4, 4]);
 * const rm = zeros([3]), rv = ones([3]);
 * const y = nn.functional.batchNorm(x, rm, rv, { training: true }); // rm, rv updated
 * y.mean().item(); // => 0
 * ```
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, options: BatchNormFnOptions = {}): Tensor {
  return trusted(() => batchNormChecked(x, runningMean, runningVar, options));
}

function batchNormChecked(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null,
  { weight = null, bias = null, training = false, momentum = 0.9, eps = 1e-5, unbiasedRunningVar = true, virtualBatchSize, renorm = null }: BatchNormFnOptions): Tensor {
  const what = 'batchNorm';
  checkBatchNormArgs(what, x, null, training, eps, momentum, virtualBatchSize);
  checkRenorm(what, renorm);
  const C = x.shape[1];
  if ((runningMean === null) !== (runningVar === null)) throw new Error(`${what}: pass both runningMean and runningVar, or neither`);
  const ghost = virtualBatchSize !== undefined && virtualBatchSize < x.shape[0] ? virtualBatchSize : undefined;
  if (training && renorm && !runningMean) throw new Error(`${what}: renorm needs the running statistics (runningMean, runningVar)`);
  if (training && renorm && ghost) throw new Error(`${what}: renorm and ghost batches (virtualBatchSize ${virtualBatchSize} < batch ${x.shape[0]}) cannot be combined`);
  if (!training && !runningMean) throw new Error(`${what}: evaluation (training: false) needs runningMean and runningVar`);
  checkVector(what, 'runningMean', runningMean, C, x);
  checkVector(what, 'runningVar', runningVar, C, x);
  checkVector(what, 'weight', weight, C, x);
  checkVector(what, 'bias', bias, C, x);
  const layout = channelLayout(x, training ? ghost : undefined);
  if (!training) return op('norm', [x, weight, bias], { layout, eps, stats: { mean: hostF64(runningMean!), variance: hostF64(runningVar!) } });
  const G = statCount(layout), B = G / C;
  const renormAttr = renorm && runningMean ? { runningMean: hostF64(runningMean), runningVar: hostF64(runningVar!), rMax: renorm.rMax, dMax: renorm.dMax } : undefined;
  const { y, aux } = opWithAux('norm', [x, weight, bias], { layout, eps, wantStats: runningMean !== null, renorm: renormAttr });
  if (runningMean) {
    const m = statSize(layout);
    // Ghost batches: the running statistics follow the mean over groups of each group's statistics.
    updateRunning(runningMean, meanOverGroups(aux.mean, B, C), momentum, 1);
    updateRunning(runningVar!, meanOverGroups(aux.variance, B, C), momentum, unbiasedRunningVar ? m / (m - 1) : 1);
  }
  return y;
}

/** A tensor's values as a new float64 host array (statistics handed to an op as attributes). */
function hostF64(t: Tensor): Float64Array {
  return Float64Array.from(t.storage.peek());
}

/** [B, C] statistics → their mean over B (the statistics themselves when B is 1). */
function meanOverGroups(stats: Arr, B: number, C: number): FloatArray {
  if (B === 1) return stats.data;
  const out = new Float64Array(C);
  getBackend().kernels.reduce('sum', stats.data, [B, C], [0], out);
  getBackend().kernels.binaryScalar('div', out, B, out, false);
  return out;
}

/** running ← running·momentum + batch·scale·(1 − momentum), in place; computed in float64, rounded once into running. */
function updateRunning(running: Tensor, batch: FloatArray, momentum: number, scale: number): void {
  const f = scale * (1 - momentum), out = running.storage.write();
  for (let i = 0; i < out.length; i++) out[i] = out[i] * momentum + batch[i] * f;
}

/** Class indices as an Int32Array, checked against N rows and C classes. */
function classIndices(target: Int32Array | readonly number[] | Tensor, N: number, C: number, logits: Tensor): Int32Array {
  const src: ArrayLike<number> = target instanceof Tensor ? target.storage.peek() : target;
  if (!src || typeof src.length !== 'number') throw new Error('crossEntropy: target must be class indices (Int32Array, number[] or Tensor)');
  if (target instanceof Tensor && target.ndim !== 1) throw new Error(`crossEntropy: target must be 1-D class indices, got shape ${formatShape(target.shape)}`);
  if (src.length !== N) throw new Error(`crossEntropy: logits ${formatShape(logits.shape)} have ${N} rows but target has ${src.length} entries`);
  const t = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const v = src[i];
    if (!Number.isInteger(v) || v < 0 || v >= C) throw new Error(`crossEntropy: target[${i}] = ${v} is not a class index in [0, ${C})`);
    t[i] = v;
  }
  return t;
}

/**
 * Cross-entropy between logits and class indices: mean over rows of −log softmax(logits)[target], fused
 * (log-softmax and NLL in one op, with the gradient (softmax − onehot)/N).
 *
 * Shape: logits [N, C]; target [N] (Int32Array, number[] or a tensor of integers); output a scalar.
 *
 * Example: `nn.functional.crossEntropy(model.forward(x), labels).backward()`.
 */
export function crossEntropy(logits: Tensor, target: Int32Array | readonly number[] | Tensor): Tensor {
  if (!(logits instanceof Tensor) || logits.ndim !== 2) throw new Error(`crossEntropy: expected logits [N, C], got shape ${logits instanceof Tensor ? formatShape(logits.shape) : typeof logits}`);
  const [N, C] = logits.shape;
  if (N === 0) throw new Error(`crossEntropy: logits ${formatShape(logits.shape)} hold no rows`);
  return op('crossEntropy', [logits], { target: classIndices(target, N, C, logits) });
}

/**
 * Mean squared error: mean((input − target)²).
 * Shape: input and target of the same shape; output a scalar.
 */
export function mseLoss(input: Tensor, target: Tensor): Tensor {
  if (input.ndim !== target.ndim || input.shape.some((d, i) => d !== target.shape[i]))
    throw new Error(`mseLoss: input ${formatShape(input.shape)} and target ${formatShape(target.shape)} must have the same shape`);
  return trusted(() => input.sub(target).square().mean());
}

// ---- LayerNorm, GroupNorm, InstanceNorm: the same fused `norm` op, statistics per sample ----

/** Checks shared by the per-sample normalizations (the input, eps, γ and β against `affineShape`). */
function checkPerSample(what: string, x: Tensor, eps: number, affineShape: readonly number[], weight: Tensor | null, bias: Tensor | null): void {
  if (!(x instanceof Tensor)) throw new Error(`${what}: expected a Tensor input`);
  if (!(eps > 0)) throw new Error(`${what}: eps must be > 0, got ${eps}`);
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
export function layerNorm(x: Tensor, normalizedShape: number | readonly number[], { weight = null, bias = null, eps = 1e-5 }: LayerNormFnOptions = {}): Tensor {
  const what = 'layerNorm';
  const shape = checkNormalizedShape(what, normalizedShape);
  checkPerSample(what, x, eps, shape, weight, bias);
  const lead = x.ndim - shape.length;
  if (lead < 0 || shape.some((d, i) => x.shape[lead + i] !== d))
    throw new Error(`${what}: expected an input [*, ${shape.join(', ')}] (trailing axes = normalizedShape ${formatShape(shape)}), got shape ${formatShape(x.shape)}`);
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
export function groupNorm(x: Tensor, numGroups: number, { weight = null, bias = null, eps = 1e-5 }: GroupNormFnOptions = {}): Tensor {
  const what = 'groupNorm';
  if (x instanceof Tensor && x.ndim < 2) throw new Error(`${what}: expected an input [N, C, *] of rank ≥ 2, got shape ${formatShape(x.shape)}`);
  const C = x instanceof Tensor ? x.shape[1] : 0;
  if (!Number.isInteger(numGroups) || numGroups <= 0 || C % numGroups !== 0)
    throw new Error(`${what}: the ${C} channels of input shape ${x instanceof Tensor ? formatShape(x.shape) : '?'} do not split into numGroups ${numGroups} groups`);
  checkPerSample(what, x, eps, [C], weight, bias);
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
  return trusted(() => instanceNormChecked(x, options));
}

function instanceNormChecked(x: Tensor, { runningMean = null, runningVar = null, weight = null, bias = null, useInputStats = true, momentum = 0.9, eps = 1e-5 }: InstanceNormFnOptions): Tensor {
  const what = 'instanceNorm';
  if (x instanceof Tensor && x.ndim < 2) throw new Error(`${what}: expected an input [N, C, *] of rank ≥ 2, got shape ${formatShape(x.shape)}`);
  const C = x instanceof Tensor ? x.shape[1] : 0;
  checkPerSample(what, x, eps, [C], weight, bias);
  if ((runningMean === null) !== (runningVar === null)) throw new Error(`${what}: pass both runningMean and runningVar, or neither`);
  checkVector(what, 'runningMean', runningMean, C, x);
  checkVector(what, 'runningVar', runningVar, C, x);
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`${what}: momentum must be in [0, 1], got ${momentum}`);
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
}
