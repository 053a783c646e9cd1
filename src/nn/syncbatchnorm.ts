import { getProcessGroup, type ProcessGroup } from '../distributed/group.js';
import { getBackend } from '../kernels/index.js';
import { trusted } from '../memory/index.js';
import { Tensor, formatShape, op } from '../tensor/index.js';
import { BatchNorm, BatchNorm1d, BatchNorm2d, type BatchNormOptions } from './batchnorm.js';
import { channelLayout, checkBatchNormArgs, type RenormLimits } from './functional.js';
import { Module } from './module.js';

export interface SyncBatchNormOptions extends Omit<BatchNormOptions, 'virtualBatchSize' | 'renorm'> {
  /** The ranks whose samples form the batch (default: this thread's group, see distributed.getProcessGroup). */
  processGroup?: ProcessGroup;
}

/**
 * Merge per-rank (count, mean, M2) into the global ones, in rank order (Chan et al. 1979): with
 * δ = mean_b − mean_a, mean = mean_a + δ·n_b/n, M2 = M2_a + M2_b + δ²·n_a·n_b/n — never E[x²] − E[x]², so a
 * constant channel gets exactly 0 and data far from zero keeps its precision.
 * Each part is [n, mean (C), M2 (C)].
 */
export function mergeMoments(parts: readonly Float64Array[], C: number): { count: number; mean: Float64Array; m2: Float64Array } {
  let n = 0;
  const mean = new Float64Array(C), m2 = new Float64Array(C);
  for (const p of parts) {
    const nb = p[0];
    if (nb === 0) continue;
    const total = n + nb;
    for (let c = 0; c < C; c++) {
      const mb = p[1 + c], m2b = p[1 + C + c];
      if (n === 0) { mean[c] = mb; m2[c] = m2b; continue; }
      const d = mb - mean[c];
      mean[c] += d * (nb / total);
      m2[c] += m2b + d * d * (n * nb / total);
    }
    n = total;
  }
  return { count: n, mean, m2 };
}

/**
 * Synchronized batch normalization (PyTorch's SyncBatchNorm): batch normalization whose training statistics are
 * those of the global batch — every rank's samples together — when a batch is split across the ranks of
 * `distributed.launch`. It is the remedy for the small per-worker batches BN handles badly.
 *
 * Training: each rank computes its per-channel count, mean and M2 = Σ(x − mean)², the ranks exchange them
 * (allGather) and every rank merges them in rank order (Chan et al.), so μ and σ² (biased) are the global batch's,
 * bitwise the same on every rank: y = (x − μ)/√(σ² + ε)·γ + β. The running statistics move toward the global
 * ones (the unbiased variance uses the global count M/(M − 1)). The backward all-reduces Σdy and Σdy·x̂ and
 * computes dx = γ·invstd·(dy − ΣG dy/M − x̂·ΣG(dy·x̂)/M); dγ and dβ are this rank's sums (their sum over the
 * ranks is the gradient of the global batch; DistributedDataParallel averages them).
 *
 * Everything else is BatchNorm's, with the same options and defaults (eps 1e-5; momentum 0.9 = the weight of the
 * old running value, PyTorch's 0.1; runningStats 'ema' | 'cumulative' | 'none'; unbiasedRunningVar true;
 * affine; dtype; `freezeStats()`). Evaluation mode, frozen statistics and a world of one rank are exactly
 * BatchNorm (no communication). Ranks may hold different batch sizes (the last batch of an epoch); each needs
 * at least one sample, and the global batch more than one value per channel. Every rank must run the layer's
 * forward and backward (they are collectives). Ghost batches and Batch Renormalization are not available.
 *
 * Shape: input [N, C, *] (as BatchNorm1d and BatchNorm2d) → output of the same shape.
 *
 * Example (in a rank's main; outside launch it is BatchNorm):
 * ```ts
 * const model = nn.SyncBatchNorm.convert(new nn.Sequential(new nn.Linear(784, 100), new nn.BatchNorm1d(100), new nn.ReLU()));
 * // this rank's 30 samples; in a rank, the statistics are those of all ranks' samples
 * model.forward(randn([30, 784])).shape; // => [30, 100]
 * ```
 */
export class SyncBatchNorm extends BatchNorm {
  protected readonly ranks = [2, 3, 4, 5];
  protected readonly layoutName = '[N, C, *]';
  readonly #group: ProcessGroup | undefined;

  constructor(numFeatures: number, options: SyncBatchNormOptions = {}) {
    const { processGroup, ...rest } = options as SyncBatchNormOptions & { virtualBatchSize?: unknown; renorm?: unknown };
    if ('virtualBatchSize' in rest && rest.virtualBatchSize !== undefined) throw new Error('SyncBatchNorm: virtualBatchSize (ghost batches) is not available with synchronized statistics');
    if ('renorm' in rest && rest.renorm) throw new Error('SyncBatchNorm: renorm (Batch Renormalization) is not available with synchronized statistics');
    super(numFeatures, rest as BatchNormOptions);
    this.#group = processGroup;
  }

  /** The group statistics are synchronized over (the option, else this thread's). */
  get processGroup(): ProcessGroup {
    return this.#group ?? getProcessGroup();
  }

  override get renorm(): RenormLimits | null {
    return null;
  }

  override set renorm(limits: RenormLimits | null) {
    if (limits) throw new Error('SyncBatchNorm: renorm (Batch Renormalization) is not available with synchronized statistics');
  }

  override forward(x: Tensor): Tensor {
    const group = this.processGroup;
    const update = this.runningStats !== 'none' && this.training && !this.statsFrozen;
    // PyTorch's rule: synchronize in training mode only; evaluation, frozen statistics and one rank are BatchNorm.
    if (group.size === 1 || !this.training || this.statsFrozen) return super.forward(x);
    const name = `SyncBatchNorm(${this.numFeatures})`;
    if (!(x instanceof Tensor)) throw new Error(`${name}: expected a Tensor input`);
    if (x.ndim < 2) throw new Error(`${name}: expected input [N, C, *], got shape ${formatShape(x.shape)}`);
    if (x.shape[0] === 0) throw new Error(`${name}: rank ${group.rank} has an empty batch (input shape ${formatShape(x.shape)}); every rank needs at least one sample`);
    checkBatchNormArgs(name, x, this.numFeatures, false, this.eps, this.momentum);
    if (this.weight && x.dtype !== this.weight.dtype || this.runningMean && x.dtype !== this.runningMean.dtype)
      throw new Error(`${name}: input is ${x.dtype} but the module is ${(this.weight ?? this.runningMean)!.dtype}; call module.to('${x.dtype}') or convert the input`);
    return trusted(() => {
      const layout = channelLayout(x);
      const C = layout.C, n = layout.N * layout.S;
      // this rank's [n, mean (C), M2 (C)]
      const local = new Float64Array(1 + 2 * C);
      const mean = local.subarray(1, 1 + C), m2 = local.subarray(1 + C);
      getBackend().kernels.normStats(x.storage.read(), layout, mean, m2);
      local[0] = n;
      for (let c = 0; c < C; c++) m2[c] *= n;
      const parts = group.allGather(local);
      const g = mergeMoments(parts, C);
      if (g.count <= 1) throw new Error(`${name}: expected more than 1 value per channel when training, got ${g.count} over all ${group.size} ranks (input shape ${formatShape(x.shape)} on rank ${group.rank})`);
      const variance = g.m2.map((v) => Math.max(0, v / g.count));
      const y = op('syncNorm', [x, this.weight, this.bias], {
        layout, eps: this.eps, mean: g.mean, variance, count: g.count, reduce: (sums) => group.allReduce(sums, 'sum'),
      });
      if (update) {
        const count = this.numBatchesTracked!.item() + 1;
        // cumulative: the factor 1/n gives the plain average of all batch statistics so far
        const momentum = this.runningStats === 'cumulative' ? 1 - 1 / count : this.momentum;
        updateRunning(this.runningMean!, g.mean, momentum, 1);
        updateRunning(this.runningVar!, variance, momentum, this.unbiasedRunningVar ? g.count / (g.count - 1) : 1);
        this.numBatchesTracked!.storage.write()[0] = count;
      }
      return y;
    });
  }

  /**
   * Replace every BatchNorm1d and BatchNorm2d in `model` by a SyncBatchNorm with the same options, mode and
   * state — the very same parameter and buffer tensors, so an optimizer made before still updates them
   * (PyTorch's convert_sync_batchnorm). Returns the model (a new SyncBatchNorm when the model itself is one).
   *
   * Example: `const model = nn.SyncBatchNorm.convert(models.cnn({ bn: true }));`
   */
  static convert<M extends Module>(model: M, processGroup?: ProcessGroup): M | SyncBatchNorm {
    if (!(model instanceof Module)) throw new Error('SyncBatchNorm.convert: expected a Module');
    const swap = (m: Module, where: string): Module => {
      if (!(m instanceof BatchNorm1d || m instanceof BatchNorm2d)) return m;
      if (m.virtualBatchSize !== undefined || m.renorm)
        throw new Error(`SyncBatchNorm.convert: ${where || 'the model'} uses ${m.renorm ? 'renorm' : `virtualBatchSize ${m.virtualBatchSize}`}, which SyncBatchNorm does not support`);
      const dtype = (m.weight ?? m.runningMean)?.dtype ?? 'float32';
      const s = new SyncBatchNorm(m.numFeatures, { eps: m.eps, momentum: m.momentum, runningStats: m.runningStats, unbiasedRunningVar: m.unbiasedRunningVar, affine: m.affine, dtype, processGroup });
      s.registerParameter('weight', m.weight);
      s.registerParameter('bias', m.bias);
      s.registerBuffer('running_mean', m.runningMean);
      s.registerBuffer('running_var', m.runningVar);
      s.registerBuffer('num_batches_tracked', m.numBatchesTracked, { integer: true });
      s.training = m.training;
      if (m.statsFrozen) s.freezeStats();
      return s;
    };
    const walk = (m: Module, prefix: string): void => {
      for (const [name, child] of [...m.namedChildren()]) {
        const path = prefix ? `${prefix}.${name}` : name;
        const next = swap(child, path);
        if (next !== child) replaceChild(m, name, child, next);
        else walk(child, path);
      }
    };
    const root = swap(model, '');
    if (root !== model) return root as SyncBatchNorm;
    walk(model, '');
    return model;
  }
}

/** Put `next` where `child` is in `parent`: an explicitly registered child, a property, or an element of an array property. */
function replaceChild(parent: Module, name: string, child: Module, next: Module): void {
  const p = parent as unknown as Record<string, unknown>;
  const dot = name.lastIndexOf('.');
  if (p[name] === child) { p[name] = next; return; }
  if (dot > 0) {
    const arr = p[name.slice(0, dot)];
    const i = Number(name.slice(dot + 1));
    if (Array.isArray(arr) && arr[i] === child) { arr[i] = next; return; }
  }
  parent.registerModule(name, next); // registered by name (Sequential): the same slot
}

/** running ← running·momentum + batch·scale·(1 − momentum), in place (as functional.batchNorm's update). */
function updateRunning(running: Tensor, batch: Float64Array, momentum: number, scale: number): void {
  const f = scale * (1 - momentum), out = running.storage.write();
  for (let i = 0; i < out.length; i++) out[i] = out[i] * momentum + batch[i] * f;
}
