import type { Arr } from '../autograd/index.js';
import { getBackend } from '../kernels/index.js';
import type { DType, FloatArray, NormLayout } from '../kernels/types.js';
import { statCount, statSize } from '../kernels/layout.js';
import { trusted } from '../memory/index.js';
import { Tensor, formatShape, ones, opWithAux, op, zeros } from '../tensor/index.js';
import { warnOnce } from '../warn.js';
import { checkBoolean, checkDtype, checkEps, checkMomentum, checkOptions, checkTensorInput, oneOf, positiveInteger } from './check.js';
import { Module } from './module.js';

/*
 * Batch normalization: the functional form (validation + the fused `norm` op), the shared base of the
 * normalizations with running statistics (NormBase, PyTorch's _NormBase) and the BatchNorm modules. Module
 * configuration is checked once, in the constructor; forward checks the input and hands its own name to the
 * functional form for messages.
 */

// ---- helpers shared with InstanceNorm (normalization.ts) ----

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

/** A vector argument (running statistic, γ, β) of C entries and the input's dtype. */
export function checkVector(what: string, name: string, t: Tensor | null | undefined, C: number, x: Tensor): void {
  if (!t) return;
  if (!(t instanceof Tensor)) throw new Error(`${what}: ${name} must be a Tensor or null`);
  if (t.ndim !== 1 || t.shape[0] !== C) throw new Error(`${what}: ${name} has shape ${formatShape(t.shape)} but the input ${formatShape(x.shape)} has ${C} channels`);
  if (t.dtype !== x.dtype) throw new Error(`${what}: ${name} is ${t.dtype} but the input is ${x.dtype}; convert with .to() first`);
}

/** A tensor's values as a new float64 host array (statistics handed to an op as attributes). */
export function hostF64(t: Tensor): Float64Array {
  return Float64Array.from(t.storage.peek());
}

/** [B, C] statistics → their mean over B (the statistics themselves when B is 1). */
export function meanOverGroups(stats: Arr, B: number, C: number): FloatArray {
  if (B === 1) return stats.data;
  const out = new Float64Array(C);
  getBackend().kernels.reduce('sum', stats.data, [B, C], [0], out);
  getBackend().kernels.binaryScalar('div', out, B, out, false);
  return out;
}

/** running ← running·momentum + batch·scale·(1 − momentum), in place; computed in float64, rounded once into running. */
export function updateRunning(running: Tensor, batch: FloatArray, momentum: number, scale: number): void {
  const f = scale * (1 - momentum), out = running.storage.write();
  for (let i = 0; i < out.length; i++) out[i] = out[i] * momentum + batch[i] * f;
}

// ---- functional form ----

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

const BN_FN_OPTIONS = ['weight', 'bias', 'training', 'momentum', 'eps', 'unbiasedRunningVar', 'virtualBatchSize', 'renorm'];

/** The input checks of batch normalization (rank, channels, values per channel, ghost batches); they run before any state changes. */
export function checkBatchNormInput(what: string, x: unknown, C: number | null, usesBatchStats: boolean, virtualBatchSize?: number): asserts x is Tensor {
  checkTensorInput(what, x);
  if (x.ndim < 2) throw new Error(`${what}: expected an input [N, C, *] of rank ≥ 2, got shape ${formatShape(x.shape)}`);
  if (C !== null && x.shape[1] !== C) throw new Error(`${what}: expected ${C} channels (input.shape[1]), got input shape ${formatShape(x.shape)}`);
  const ghost = usesBatchStats && virtualBatchSize !== undefined && virtualBatchSize < x.shape[0];
  if (ghost && x.shape[0] % virtualBatchSize !== 0)
    throw new Error(`${what}: the batch of input shape ${formatShape(x.shape)} does not split into ghost batches of virtualBatchSize ${virtualBatchSize}`);
  if (usesBatchStats && (ghost ? virtualBatchSize : x.shape[0]) * (x.size / (x.shape[0] * x.shape[1] || 1)) <= 1)
    throw new Error(`${what}: expected more than 1 value per channel when training, got input shape ${formatShape(x.shape)}${ghost ? ` with virtualBatchSize ${virtualBatchSize}` : ''}`);
}

/** The input checks and the configuration checks (eps, momentum, virtualBatchSize) of the functional form. */
export function checkBatchNormArgs(what: string, x: Tensor, C: number | null, usesBatchStats: boolean, eps: number, momentum: number, virtualBatchSize?: number): void {
  if (virtualBatchSize !== undefined) positiveInteger(what, 'virtualBatchSize', virtualBatchSize);
  checkBatchNormInput(what, x, C, usesBatchStats, virtualBatchSize);
  checkEps(what, eps);
  checkMomentum(what, momentum, "for a plain average over all batches (PyTorch's momentum=None) pass momentum 1 − 1/n for the n-th batch");
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
  const what = 'batchNorm';
  checkOptions(what, options, BN_FN_OPTIONS);
  const { training = false, momentum = 0.9, eps = 1e-5, virtualBatchSize, renorm = null } = options;
  checkBatchNormArgs(what, x, null, training, eps, momentum, virtualBatchSize);
  checkRenorm(what, renorm);
  return batchNormApply(what, x, runningMean, runningVar, options);
}

/**
 * batchNorm after its checks: the caller has checked the configuration (the module in its constructor) and
 * the input (checkBatchNormInput); the remaining argument errors carry `what`, the caller's name.
 */
export function batchNormApply(what: string, x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null,
  { weight = null, bias = null, training = false, momentum = 0.9, eps = 1e-5, unbiasedRunningVar = true, virtualBatchSize, renorm = null }: BatchNormFnOptions): Tensor {
  return trusted(() => {
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
  });
}

// ---- modules ----

/** Configuration of NormBase, checked by the subclass's constructor through NormBase. */
export interface NormBaseConfig {
  readonly eps: unknown;
  readonly affine: unknown;
  /** Keep running statistics (buffers running_mean, running_var, num_batches_tracked). */
  readonly track: boolean;
  readonly dtype: unknown;
}

/**
 * What the normalizations over channels with optional running statistics share (PyTorch's _NormBase):
 * `numFeatures`, `eps`, `affine` γ (weight, init 1) and β (bias, init 0) of [numFeatures], and, when
 * tracked, the buffers running_mean (init 0), running_var (init 1) and num_batches_tracked (an integer
 * counter), named as PyTorch names them. BatchNorm and InstanceNorm extend it.
 */
export abstract class NormBase extends Module {
  declare weight: Tensor | null;
  declare bias: Tensor | null;
  declare runningMean: Tensor | null;
  declare runningVar: Tensor | null;
  declare numBatchesTracked: Tensor | null;
  readonly numFeatures: number;
  readonly eps: number;
  readonly affine: boolean;

  protected constructor(what: string, numFeatures: number, { eps, affine, track, dtype }: NormBaseConfig) {
    super();
    this.numFeatures = positiveInteger(what, 'numFeatures', numFeatures);
    this.eps = checkEps(what, eps);
    this.affine = checkBoolean(what, 'affine', affine);
    const dt: DType = checkDtype(what, dtype);
    const C = this.numFeatures;
    this.registerParameter('weight', this.affine ? ones([C], { dtype: dt }) : null);
    this.registerParameter('bias', this.affine ? zeros([C], { dtype: dt }) : null);
    this.registerBuffer('running_mean', track ? zeros([C], { dtype: dt }) : null);
    this.registerBuffer('running_var', track ? ones([C], { dtype: dt }) : null);
    this.registerBuffer('num_batches_tracked', track ? zeros([], { dtype: 'float64' }) : null, { integer: true });
  }

  /** Running mean 0, running variance 1, no batches tracked (as after construction). */
  resetRunningStats(): void {
    this.runningMean?.storage.write().fill(0);
    this.runningVar?.storage.write().fill(1);
    this.numBatchesTracked?.storage.write().fill(0);
  }

  /** The running statistics reset, and γ = 1, β = 0. */
  resetParameters(): void {
    this.resetRunningStats();
    this.weight?.storage.write().fill(1);
    this.bias?.storage.write().fill(0);
  }

  /** `x` is a Tensor of the module's dtype. */
  protected checkInput(what: string, x: unknown): asserts x is Tensor {
    checkTensorInput(what, x);
    const state = this.weight ?? this.runningMean;
    if (state && x.dtype !== state.dtype)
      throw new Error(`${what}: input is ${x.dtype} but the module is ${state.dtype}; call module.to('${x.dtype}') or convert the input`);
  }
}

/** How running statistics are kept for evaluation (the note's options for inference statistics). */
export type RunningStats = 'ema' | 'cumulative' | 'none';

export interface BatchNormOptions {
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** Weight of the old running value in the moving average (default 0.9; PyTorch's 0.1 is 0.9 here). */
  momentum?: number;
  /** 'ema' (default), 'cumulative' (plain average over all batches, PyTorch momentum=None) or 'none'. */
  runningStats?: RunningStats;
  /** Keep the unbiased variance m/(m−1)·σ²_B in running_var (default true: paper, PyTorch); false: biased (Keras 3, ONNX, tfjs). */
  unbiasedRunningVar?: boolean;
  /** Learn γ (weight, init 1) and β (bias, init 0). Default true. */
  affine?: boolean;
  /** Ghost batch normalization: statistics per group of this many consecutive samples in training (see functional.batchNorm). */
  virtualBatchSize?: number;
  /** Batch Renormalization limits { rMax, dMax } (Ioffe 2017); settable later via `bn.renorm` for warm-up schedules. */
  renorm?: RenormLimits | null;
  dtype?: DType;
}

const RUNNING_STATS: readonly RunningStats[] = ['ema', 'cumulative', 'none'];
const BN_OPTIONS = ['eps', 'momentum', 'runningStats', 'unbiasedRunningVar', 'affine', 'virtualBatchSize', 'renorm', 'dtype'];
/** PyTorch names without a same-named option here, and what to use instead. */
const BN_HINTS: Record<string, string> = {
  track_running_stats: "PyTorch's track_running_stats=False is runningStats: 'none' here",
  trackRunningStats: "PyTorch's track_running_stats=False is runningStats: 'none' here",
  num_features: 'numFeatures is the first argument',
  device: 'there is no device option; tensors live in the active backend',
};
const CUMULATIVE = "for a plain average over all batches (PyTorch's momentum=None) use runningStats: 'cumulative'";

/**
 * The BatchNorm layers' shared implementation: state, policy and validation; the math is the fused
 * `norm` op behind nn.functional.batchNorm.
 */
export abstract class BatchNorm extends NormBase {
  readonly runningStats: RunningStats;
  readonly unbiasedRunningVar: boolean;
  readonly virtualBatchSize: number | undefined;
  #renorm: RenormLimits | null = null;
  #momentum = 0.9;
  #frozen = false;

  protected abstract readonly ranks: readonly number[];
  protected abstract readonly layoutName: string;

  /**
   * `extraOptions`: option names a subclass accepts besides BatchNorm's (it handles them itself), so that
   * every other name is still refused.
   */
  constructor(numFeatures: number, options: BatchNormOptions = {}, extraOptions: readonly string[] = []) {
    const name = new.target.name;
    checkOptions(name, options, [...BN_OPTIONS, ...extraOptions], BN_HINTS);
    const { eps = 1e-5, momentum = 0.9, runningStats = 'ema', unbiasedRunningVar = true, affine = true, virtualBatchSize, renorm = null, dtype = 'float32' } = options;
    oneOf(name, 'runningStats', runningStats, RUNNING_STATS);
    checkMomentum(name, momentum, CUMULATIVE);
    checkBoolean(name, 'unbiasedRunningVar', unbiasedRunningVar);
    if (virtualBatchSize !== undefined) positiveInteger(name, 'virtualBatchSize', virtualBatchSize);
    checkRenorm(name, renorm);
    super(name, numFeatures, { eps, affine, track: runningStats !== 'none', dtype });
    this.runningStats = runningStats;
    this.unbiasedRunningVar = unbiasedRunningVar;
    this.virtualBatchSize = virtualBatchSize;
    this.momentum = momentum;
    this.renorm = renorm;
  }

  /**
   * Weight of the old running value: running ← running·momentum + batch·(1 − momentum). Any value in
   * [0, 1] is accepted; below 0.5 a one-time warning points out the likely PyTorch convention mix-up.
   */
  get momentum(): number {
    return this.#momentum;
  }

  set momentum(m: number) {
    checkMomentum(this.constructor.name, m, CUMULATIVE);
    if (m < 0.5 && this.runningStats === 'ema') warnOnce('bn-momentum', `BatchNorm momentum ${m} < 0.5. Here momentum is the weight of the old running value (running = running·momentum + batch·(1 − momentum), as in Keras and ONNX); PyTorch's momentum=0.1 is momentum=0.9 here.`);
    this.#momentum = m;
  }

  /**
   * Batch Renormalization limits, or null for plain BN. Settable during training for the usual warm-up
   * (start at { rMax: 1, dMax: 0 }, i.e. plain BN, and relax toward e.g. { rMax: 3, dMax: 5 }).
   * The reference σ is √(running_var + ε) with running_var as stored: unbiased by default, so at steady
   * state r settles near √((m−1)/m) rather than 1; `unbiasedRunningVar: false` keeps the biased variance
   * the paper's moving σ is built from.
   */
  get renorm(): RenormLimits | null {
    return this.#renorm;
  }

  set renorm(limits: RenormLimits | null) {
    checkRenorm(this.constructor.name, limits);
    if (limits && this.runningStats === 'none') throw new Error(`${this.constructor.name}: renorm needs running statistics, but runningStats is 'none'`);
    if (limits && this.virtualBatchSize !== undefined) throw new Error(`${this.constructor.name}: renorm and virtualBatchSize cannot be combined`);
    this.#renorm = limits ? { rMax: limits.rMax, dMax: limits.dMax } : null;
  }

  /** Whether statistics are frozen (see freezeStats). */
  get statsFrozen(): boolean {
    return this.#frozen;
  }

  /**
   * Freeze (or unfreeze) the statistics: in training mode too, normalize with the running statistics and
   * leave them unchanged, while γ and β keep training — the usual fine-tuning setting.
   */
  freezeStats(frozen = true): this {
    if (frozen && this.runningStats === 'none') throw new Error(`${this.constructor.name}: cannot freeze statistics with runningStats 'none' (there are none to use)`);
    this.#frozen = frozen;
    return this;
  }

  forward(x: Tensor): Tensor {
    const name = this.constructor.name;
    checkTensorInput(name, x);
    if (!this.ranks.includes(x.ndim)) throw new Error(`${name}: expected input ${this.layoutName}, got shape ${formatShape(x.shape)}`);
    const tracks = this.runningStats !== 'none';
    const useBatch = !tracks || (this.training && !this.#frozen);
    const update = tracks && this.training && !this.#frozen;
    // Ghost batches are a training-time device: eval with runningStats 'none' normalizes with the whole batch.
    const virtualBatchSize = this.training ? this.virtualBatchSize : undefined;
    const what = `${name}(${this.numFeatures})`;
    checkBatchNormInput(what, x, this.numFeatures, useBatch, virtualBatchSize);
    this.checkInput(name, x);
    const count = update ? this.numBatchesTracked!.item() + 1 : 0;
    // cumulative: the factor 1/n gives the plain average of all batch statistics so far
    const momentum = this.runningStats === 'cumulative' ? 1 - 1 / Math.max(count, 1) : this.#momentum;
    const y = batchNormApply(what, x, useBatch && !update ? null : this.runningMean, useBatch && !update ? null : this.runningVar, {
      weight: this.weight, bias: this.bias, training: useBatch, momentum, eps: this.eps, unbiasedRunningVar: this.unbiasedRunningVar,
      virtualBatchSize, renorm: update ? this.#renorm : null,
    });
    if (update) this.numBatchesTracked!.storage.write()[0] = count;
    return y;
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.#momentum}, runningStats='${this.runningStats}', affine=${this.affine}`;
  }
}

/**
 * Batch normalization over a 2-D or 3-D input (Ioffe & Szegedy 2015, https://arxiv.org/abs/1502.03167).
 *
 * y = (x − E[x])/√(Var[x] + ε)·γ + β, per feature over the batch (and length). Training uses the batch
 * mean and biased variance; evaluation uses the running statistics.
 *
 * Defaults: eps 1e-5; momentum 0.9 — running ← running·momentum + batch·(1 − momentum), so PyTorch's
 * momentum=0.1 is 0.9 here (and it is not optimizer momentum); runningStats 'ema'; the running variance is
 * the unbiased estimate (unbiasedRunningVar true); affine γ = 1, β = 0.
 *
 * Shape: input [N, C] or [N, C, L] → output of the same shape.
 *
 * Example:
 * ```ts
 * const bn = new nn.BatchNorm1d(100);
 * const y = bn.forward(randn([60, 100]));  // batch statistics; running ones updated
 * bn.numBatchesTracked!.item();             // => 1
 * bn.eval();                                // from now on the running statistics are used
 * ```
 */
export class BatchNorm1d extends BatchNorm {
  protected readonly ranks = [2, 3];
  protected readonly layoutName = '[N, C] or [N, C, L]';
}

/**
 * Batch normalization over a 4-D input [N, C, H, W], statistics per channel over (N, H, W). Options and
 * defaults as BatchNorm1d.
 *
 * Shape: input [N, C, H, W] → output of the same shape.
 *
 * Example:
 * ```ts
 * const bn = new nn.BatchNorm2d(64);
 * bn.forward(randn([32, 64, 8, 8])).shape; // => [32, 64, 8, 8]
 * ```
 */
export class BatchNorm2d extends BatchNorm {
  protected readonly ranks = [4];
  protected readonly layoutName = '[N, C, H, W]';
}
