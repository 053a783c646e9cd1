import { noGrad } from '../autograd/index.js';
import { BatchNorm, Module } from '../nn/index.js';
import { Tensor, formatShape, scope } from '../tensor/index.js';

/** One batch: an input tensor, or an object with the input under `x` (what data.DataLoader yields). */
export type StatsBatch = Tensor | { readonly x: Tensor };

/**
 * The data to compute statistics over: a re-iterable collection of batches (an array, a data.DataLoader —
 * each pass reads one epoch), or a function returning a fresh iterable for each pass. A one-shot iterator
 * (a generator object) serves a model with a single BN layer only, since each layer needs its own pass.
 */
export type StatsBatches = Iterable<StatsBatch> | (() => Iterable<StatsBatch>);

export interface RecomputeOptions {
  /**
   * Store the unbiased variance M2/(n − 1) (default true, the paper's inference formula and PyTorch's
   * convention) or the biased M2/n; n is the number of values per channel over the whole data set.
   */
  unbiased?: boolean;
}

export interface RecomputedLayer {
  /** Dotted name of the BN in the model. */
  path: string;
  /** Values per channel the statistics are over (N, N·L or N·H·W summed over all batches). */
  count: number;
}

export interface RecomputeResult {
  /** The BN layers recomputed, in the order the forward reaches them. */
  layers: RecomputedLayer[];
  /** BN layers left unchanged, and why. */
  skipped: { path: string; reason: string }[];
  /** Samples (first-axis entries) in one pass over `batches`. */
  samples: number;
  /** Passes made over `batches` (one per recomputed layer). */
  passes: number;
}

/** Thrown from the hook to end a forward once the layer being recomputed has seen its input. */
const STOP = Symbol('recomputeBatchNormStats: input captured');

/** Per-channel count, mean and sum of squared deviations, merged across batches in float64. */
class ChannelMoments {
  count = 0;
  readonly mean: Float64Array;
  readonly m2: Float64Array;

  constructor(readonly channels: number) {
    this.mean = new Float64Array(channels);
    this.m2 = new Float64Array(channels);
  }

  /**
   * Add a batch x [N, C, ...]: its per-channel mean and M2 in float64 (two passes: mean, then squared
   * deviations), merged by Chan et al.'s formula: δ = μ_B − μ_A, μ = μ_A + δ·n_B/n, M2 = M2_A + M2_B + δ²·n_A·n_B/n.
   */
  add(x: Tensor): void {
    const n = x.size / this.channels;
    if (n === 0) return;
    const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
    const [mb, m2b] = scope(() => {
      const x64 = x.detach().to('float64');
      const mu = x64.mean(axes, true);
      return [Float64Array.from(mu.data), Float64Array.from(x64.sub(mu).square().sum(axes).data)];
    });
    const na = this.count, total = na + n;
    for (let c = 0; c < this.channels; c++) {
      const delta = mb[c] - this.mean[c];
      this.mean[c] += delta * (n / total);
      this.m2[c] += m2b[c] + delta * delta * (na * n / total);
    }
    this.count = total;
  }
}

function batchInput(b: unknown, index: number): Tensor {
  if (b instanceof Tensor) return b;
  if (b && typeof b === 'object' && (b as { x?: unknown }).x instanceof Tensor) return (b as { x: Tensor }).x;
  throw new Error(`recomputeBatchNormStats: batch ${index} is neither a Tensor nor an object { x: Tensor }`);
}

/**
 * Population statistics, the BN note's second option for inference: sets every BatchNorm layer's running
 * mean and variance to the exact mean and variance of that layer's input over all samples of `batches`,
 * computed with the model's trained weights (per feature over N (and L) for BatchNorm1d, per channel over
 * N·H·W for BatchNorm2d):
 *
 *   μ = (1/n)·Σ x,  σ² = 1/(n − 1)·Σ (x − μ)²   (1/n with `unbiased: false`)
 *
 * Layers are recomputed in the order the forward reaches them, each one with the layers before it already
 * holding their new statistics (so each layer's statistics describe the inputs it will see in eval mode).
 * That takes one pass over `batches` per layer; a pass stops the forward as soon as the layer being
 * recomputed has seen its input. Per batch the statistics are taken in float64 (mean, then squared
 * deviations), and batches are merged with Chan et al.'s parallel formula, so data far from zero and any
 * batch size, 1 included, give exact results.
 *
 * Only the running_mean and running_var buffers change (in place): the modules' train/eval modes, the
 * parameters and num_batches_tracked stay as they were. BNs with runningStats 'none' and BNs the forward
 * never reaches are skipped and listed. On any error (a batch the model rejects, too few values for the
 * unbiased variance, a one-shot iterator that runs dry) every running statistic is restored.
 *
 * Defaults: unbiased true.
 *
 * Shape: each batch is the model's input [N, ...] (N ≥ 1), alone or as `{ x }`.
 *
 * Example:
 * ```ts
 * manualSeed(0);
 * const net = new nn.Sequential(new nn.Linear(4, 3), new nn.BatchNorm1d(3), new nn.ReLU());
 * const batches = [randn([2, 4]), randn([1, 4]), randn([5, 4])];
 * const r = deploy.recomputeBatchNormStats(net, batches);
 * r.layers;                                // => [{"path": "1", "count": 8}]
 * net.training;                            // => true
 * (net.at(1) as nn.BatchNorm1d).numBatchesTracked!.item(); // => 0
 * ```
 */
export function recomputeBatchNormStats(model: Module, batches: StatsBatches, { unbiased = true }: RecomputeOptions = {}): RecomputeResult {
  if (!(model instanceof Module)) throw new Error('recomputeBatchNormStats: expected an nn.Module as the model');
  if (typeof unbiased !== 'boolean') throw new Error(`recomputeBatchNormStats: option unbiased must be a boolean, got ${String(unbiased)}`);
  const source = typeof batches === 'function' ? batches : () => batches;
  if (typeof batches !== 'function' && (batches === null || typeof (batches as Iterable<StatsBatch>)?.[Symbol.iterator] !== 'function'))
    throw new Error('recomputeBatchNormStats: batches must be an iterable of Tensors or { x } batches (an array, a DataLoader) or a function returning one');

  const paths = new Map<BatchNorm, string[]>();
  for (const [p, m] of model.namedModules()) if (m instanceof BatchNorm) paths.set(m, [...(paths.get(m) ?? []), p]);
  const skipped: { path: string; reason: string }[] = [];
  const targets: BatchNorm[] = [];
  for (const [bn, ps] of paths) {
    if (bn.runningMean && bn.runningVar) targets.push(bn);
    else skipped.push({ path: ps[0], reason: "runningStats is 'none': the layer keeps no running statistics" });
  }
  if (!targets.length) return { layers: [], skipped, samples: 0, passes: 0 };
  const oneShot = typeof batches !== 'function' && typeof (batches as Partial<Iterator<unknown>>).next === 'function';
  if (oneShot && targets.length > 1)
    throw new Error(`recomputeBatchNormStats: batches is a one-shot iterator (a generator?), but the model's ${targets.length} BN layers need one pass each; ` +
      'pass an array, a DataLoader, or a function returning a fresh iterable');

  const modes = model.modules().map((m) => [m, m.training] as const);
  const backup = targets.map((bn) => [Float64Array.from(bn.runningMean!.data), Float64Array.from(bn.runningVar!.data)] as const);
  const hadOwnForward = targets.map((bn) => Object.prototype.hasOwnProperty.call(bn, 'forward'));
  const done = new Set<BatchNorm>();
  let target: BatchNorm | null = null;
  let moments: ChannelMoments | null = null;
  const handles = targets.map((bn) => bn.registerForwardHook((m, inputs) => {
    const layer = m as BatchNorm;
    if (done.has(layer)) return;
    target ??= layer;
    if (layer !== target) return; // not reached in a forward stopped at the target; a layer shared with the target, seen again
    moments ??= new ChannelMoments(layer.numFeatures);
    moments.add(inputs[0]);
    // A BN used at several places sees all of its inputs; otherwise nothing after it matters for this pass.
    if ((paths.get(layer)?.length ?? 1) === 1) throw STOP;
  }));

  const layers: RecomputedLayer[] = [];
  let samples = -1, passes = 0;
  try {
    model.eval();
    while (done.size < targets.length) {
      target = null;
      moments = null;
      let seen = 0, index = 0;
      for (const b of source()) {
        const x = batchInput(b, index++);
        if (x.ndim < 1 || x.shape[0] < 1) throw new Error(`recomputeBatchNormStats: batch ${index - 1} has shape ${formatShape(x.shape)}; expected [N, ...] with N ≥ 1`);
        seen += x.shape[0];
        try {
          noGrad(() => scope(() => { model.forward(x); }));
        } catch (e) {
          if (e !== STOP) throw e;
        }
      }
      passes++;
      if (samples < 0) {
        if (seen === 0) throw new Error('recomputeBatchNormStats: batches yielded no data');
        samples = seen;
      } else if (seen !== samples) {
        throw new Error(`recomputeBatchNormStats: pass ${passes} over batches gave ${seen} samples, the first gave ${samples}; ` +
          'pass an array, a DataLoader at the start of an epoch, or a function returning a fresh iterable each time');
      }
      const bn = target as BatchNorm | null, mo = moments as ChannelMoments | null;
      if (!bn || !mo) break; // the forward reaches no other BN
      const path = paths.get(bn)![0];
      const denominator = unbiased ? mo.count - 1 : mo.count;
      if (denominator < 1)
        throw new Error(`recomputeBatchNormStats: BN '${path}' saw ${mo.count} value per channel over all batches; the unbiased variance needs at least 2 (more data, or { unbiased: false })`);
      const mean = bn.runningMean!.storage.write(), variance = bn.runningVar!.storage.write();
      for (let c = 0; c < bn.numFeatures; c++) {
        mean[c] = mo.mean[c];
        variance[c] = Math.max(mo.m2[c], 0) / denominator;
      }
      done.add(bn);
      layers.push({ path, count: mo.count });
    }
  } catch (e) {
    targets.forEach((bn, i) => {
      bn.runningMean!.storage.write().set(backup[i][0]);
      bn.runningVar!.storage.write().set(backup[i][1]);
    });
    throw e;
  } finally {
    handles.forEach((h) => h.remove());
    targets.forEach((bn, i) => { if (!hadOwnForward[i]) delete (bn as { forward?: unknown }).forward; });
    for (const [m, t] of modes) m.training = t;
  }
  for (const bn of targets)
    if (!done.has(bn)) skipped.push({ path: paths.get(bn)![0], reason: 'the forward never reached it' });
  return { layers, skipped, samples, passes };
}
