import type { DType } from '../kernels/types.js';
import { Tensor, formatShape, ones, zeros } from '../tensor/index.js';
import { warnOnce } from '../warn.js';
import { batchNorm, checkBatchNormArgs, checkRenorm, type RenormLimits } from './functional.js';
import { Module } from './module.js';

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

/**
 * The BatchNorm layers' shared implementation: state, policy and validation; the math is the fused
 * `norm` op behind nn.functional.batchNorm.
 */
export abstract class BatchNorm extends Module {
  declare weight: Tensor | null;
  declare bias: Tensor | null;
  declare runningMean: Tensor | null;
  declare runningVar: Tensor | null;
  declare numBatchesTracked: Tensor | null;
  readonly eps: number;
  readonly runningStats: RunningStats;
  readonly unbiasedRunningVar: boolean;
  readonly affine: boolean;
  readonly virtualBatchSize: number | undefined;
  #renorm: RenormLimits | null = null;
  #momentum = 0.9;
  #frozen = false;

  protected abstract readonly ranks: readonly number[];
  protected abstract readonly layoutName: string;

  constructor(readonly numFeatures: number, { eps = 1e-5, momentum = 0.9, runningStats = 'ema', unbiasedRunningVar = true, affine = true, virtualBatchSize, renorm = null, dtype = 'float32' }: BatchNormOptions = {}) {
    super();
    const name = new.target.name;
    if (!Number.isInteger(numFeatures) || numFeatures <= 0) throw new Error(`${name}: numFeatures must be a positive integer, got ${numFeatures}`);
    if (!(eps > 0)) throw new Error(`${name}: eps must be > 0, got ${eps}`);
    if (!RUNNING_STATS.includes(runningStats)) throw new Error(`${name}: unknown runningStats '${runningStats as string}'; expected one of ${RUNNING_STATS.map((s) => `'${s}'`).join(', ')}`);
    if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`${name}: unknown dtype '${dtype as string}'`);
    this.eps = eps;
    this.runningStats = runningStats;
    this.unbiasedRunningVar = unbiasedRunningVar;
    this.affine = affine;
    if (virtualBatchSize !== undefined && (!Number.isInteger(virtualBatchSize) || virtualBatchSize < 1))
      throw new Error(`${name}: virtualBatchSize must be a positive integer, got ${virtualBatchSize}`);
    this.virtualBatchSize = virtualBatchSize;
    this.momentum = momentum;
    this.renorm = renorm;
    this.registerParameter('weight', affine ? ones([numFeatures], { dtype }) : null);
    this.registerParameter('bias', affine ? zeros([numFeatures], { dtype }) : null);
    const track = runningStats !== 'none';
    this.registerBuffer('running_mean', track ? zeros([numFeatures], { dtype }) : null);
    this.registerBuffer('running_var', track ? ones([numFeatures], { dtype }) : null);
    this.registerBuffer('num_batches_tracked', track ? zeros([], { dtype: 'float64' }) : null, { integer: true });
  }

  /**
   * Weight of the old running value: running ← running·momentum + batch·(1 − momentum). Any value in
   * [0, 1] is accepted; below 0.5 a one-time warning points out the likely PyTorch convention mix-up.
   */
  get momentum(): number {
    return this.#momentum;
  }

  set momentum(m: number) {
    if (!(m >= 0 && m <= 1)) throw new Error(`${this.constructor.name}: momentum must be in [0, 1], got ${m}`);
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
    if (!(x instanceof Tensor)) throw new Error(`${name}: expected a Tensor input`);
    if (!this.ranks.includes(x.ndim)) throw new Error(`${name}: expected input ${this.layoutName}, got shape ${formatShape(x.shape)}`);
    const tracks = this.runningStats !== 'none';
    const useBatch = !tracks || (this.training && !this.#frozen);
    const update = tracks && this.training && !this.#frozen;
    // Ghost batches are a training-time device: eval with runningStats 'none' normalizes with the whole batch.
    const virtualBatchSize = this.training ? this.virtualBatchSize : undefined;
    checkBatchNormArgs(`${name}(${this.numFeatures})`, x, this.numFeatures, useBatch, this.eps, this.#momentum, virtualBatchSize);
    if (this.weight && x.dtype !== this.weight.dtype || this.runningMean && x.dtype !== this.runningMean.dtype)
      throw new Error(`${name}: input is ${x.dtype} but the module is ${(this.weight ?? this.runningMean)!.dtype}; call module.to('${x.dtype}') or convert the input`);
    const count = update ? this.numBatchesTracked!.item() + 1 : 0;
    // cumulative: the factor 1/n gives the plain average of all batch statistics so far
    const momentum = this.runningStats === 'cumulative' ? 1 - 1 / Math.max(count, 1) : this.#momentum;
    const y = batchNorm(x, useBatch && !update ? null : this.runningMean, useBatch && !update ? null : this.runningVar, {
      weight: this.weight, bias: this.bias, training: useBatch, momentum, eps: this.eps, unbiasedRunningVar: this.unbiasedRunningVar,
      virtualBatchSize, renorm: update ? this.#renorm : null,
    });
    if (update) this.numBatchesTracked!.storage.write()[0] = count;
    return y;
  }

  override toString(): string {
    return `${this.constructor.name}(${this.numFeatures}, eps=${this.eps}, momentum=${this.#momentum}, runningStats='${this.runningStats}', affine=${this.affine})`;
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
