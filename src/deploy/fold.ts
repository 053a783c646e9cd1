import { BatchNorm, Conv2d, Identity, Linear, Module } from '../nn/index.js';
import type { Tensor } from '../tensor/index.js';
import { copyModule } from './copy.js';

/** A BatchNorm folded into the layer before it: dotted paths in the original model. */
export interface FoldedPair {
  /** The Linear or Conv2d that absorbed the BN (its weight and bias changed in the copy). */
  layer: string;
  /** The BatchNorm, an nn.Identity in the copy. */
  bn: string;
}

/** A BatchNorm left as it was, and why. */
export interface KeptBatchNorm {
  bn: string;
  reason: string;
}

export interface FoldResult<M extends Module> {
  /** An eval-mode copy of the model with the BNs folded; the original is unchanged. */
  model: M;
  folded: FoldedPair[];
  kept: KeptBatchNorm[];
}

const join = (path: string, i: number) => (path ? `${path}.${i}` : String(i));

/** Why `bn` (after `prev`) cannot be folded, or null when it can. `uses` counts each module's places in the tree. */
function whyNot(prev: Module | undefined, bn: BatchNorm, uses: Map<Module, number>): string | null {
  if (bn.runningStats === 'none' || !bn.runningMean || !bn.runningVar)
    return "runningStats is 'none': it normalizes with batch statistics in eval mode too, so there is no fixed scale and shift";
  if (!prev) return 'it is the first layer of its Sequential: no Linear or Conv2d before it';
  const kind = Object.getPrototypeOf(prev) === Linear.prototype ? 'Linear' : Object.getPrototypeOf(prev) === Conv2d.prototype ? 'Conv2d' : null;
  if (!kind) return prev instanceof Linear || prev instanceof Conv2d
    ? `it follows a ${prev.constructor.name}, a subclass of ${prev instanceof Linear ? 'Linear' : 'Conv2d'} whose forward may differ`
    : `it follows a ${prev.constructor.name}, not a Linear or Conv2d`;
  const out = prev instanceof Linear ? prev.outFeatures : (prev as Conv2d).outChannels;
  if (out !== bn.numFeatures) return `it has ${bn.numFeatures} features but the ${kind} before it has ${out} outputs`;
  if (Object.prototype.hasOwnProperty.call(prev, 'forward') || Object.prototype.hasOwnProperty.call(bn, 'forward'))
    return `the ${kind} or the BN has forward hooks, which would no longer see the same values`;
  const shared = (uses.get(prev) ?? 0) > 1 ? kind : (uses.get(bn) ?? 0) > 1 ? 'BN' : null;
  if (shared) return `the ${shared} is used at more than one place in the model; folding would change the other uses`;
  const w = (prev as Linear | Conv2d).weight;
  const bnType = (bn.runningMean as Tensor).dtype;
  if (w.dtype !== bnType) return `the ${kind} is ${w.dtype} but the BN is ${bnType}`;
  return null;
}

/** y = (x·s) with s broadcast along axis 0 of `w` (the output channels). */
function alongOutputs(s: Tensor, w: Tensor): Tensor {
  return s.reshape([w.shape[0], ...w.shape.slice(1).map(() => 1)]);
}

/**
 * Folds `bn` into `layer` (both copies): s = γ/√(σ²_run + ε), W′ = W·s along the output channels,
 * b′ = (b − μ_run)·s + β, in float64, cast back to the layer's dtype.
 */
function foldInto(layer: Linear | Conv2d, bn: BatchNorm): void {
  const dtype = layer.weight.dtype;
  const f64 = (t: Tensor) => t.detach().to('float64');
  const mean = f64(bn.runningMean!), variance = f64(bn.runningVar!);
  const s0 = variance.add(bn.eps).sqrt().reciprocal();
  const s = bn.weight ? f64(bn.weight).mul(s0) : s0;
  const w = f64(layer.weight).mul(alongOutputs(s, layer.weight));
  const b0 = layer.bias ? f64(layer.bias).sub(mean) : mean.neg();
  const b1 = b0.mul(s);
  const b = bn.bias ? b1.add(f64(bn.bias)) : b1;
  layer.weight = w.to(dtype);
  layer.bias = b.to(dtype);
}

/**
 * Folds every BatchNorm that directly follows a Linear or Conv2d into that layer's weight and bias, the
 * way TFLite and PyTorch's `fuse_conv_bn_eval` remove BN's inference cost (the BN paper's claim 7).
 *
 * For each folded pair, with the BN's running statistics μ_run, σ²_run, its γ (1 when affine is false),
 * β (0 when affine is false) and ε:
 *
 *   s = γ / √(σ²_run + ε),  W′ = W·s (each output channel's row or filter scaled),  b′ = (b − μ_run)·s + β
 *
 * computed in float64 and cast back to the layer's dtype; a Linear or Conv2d without a bias gains one (b = 0).
 * The BN becomes an nn.Identity, so the copy's state dict loses the BN's entries and gains the biases.
 *
 * "Directly follows" means consecutive layers of a Sequential, at any depth (Sequentials nested in
 * Sequentials or in user modules). A BN elsewhere — first in its Sequential, after another kind of layer,
 * a child of a user module whose forward order is unknown, with runningStats 'none', shared by two places
 * in the model, or of a different dtype than the layer — is kept as it is and listed in `kept` with the reason.
 * A Linear's output is assumed to be [N, out] (BatchNorm1d's features are the Linear's outputs).
 *
 * The model must be in eval mode (every module): folding uses the running statistics, which a model in
 * training mode does not use, so its outputs would differ. The original is never changed; the returned
 * model is a deep copy (see `copyModule`) in eval mode whose outputs equal the original's eval-mode outputs
 * up to rounding.
 *
 * Shape: any model; the folded copy takes and returns the same shapes.
 *
 * Example:
 * ```ts
 * const net = new nn.Sequential(new nn.Linear(4, 3, { bias: false }), new nn.BatchNorm1d(3), new nn.ReLU());
 * net.eval();
 * const { model, folded, kept } = deploy.foldBatchNorm(net);
 * folded;                                    // => [{"layer": "0", "bn": "1"}]
 * kept;                                      // => []
 * model.at(1) instanceof nn.Identity;        // => true
 * ```
 */
export function foldBatchNorm<M extends Module>(model: M): FoldResult<M> {
  if (!(model instanceof Module)) throw new Error('foldBatchNorm: expected an nn.Module');
  for (const [path, m] of model.namedModules())
    if (m.training)
      throw new Error(`foldBatchNorm: the model is in training mode (${path ? `module '${path}', a ${m.constructor.name}` : `the ${m.constructor.name} itself`}); ` +
        'folding uses the running statistics that only eval mode uses: call model.eval() first');
  const uses = new Map<Module, number>();
  for (const [, m] of model.namedModules()) uses.set(m, (uses.get(m) ?? 0) + 1);
  const folded: FoldedPair[] = [];
  const kept: KeptBatchNorm[] = [];
  const seen = new Set<Module>();
  const copy = copyModule(model, (path, originals, copies) => {
    originals.forEach((m, i) => {
      if (!(m instanceof BatchNorm)) return;
      seen.add(m);
      const why = whyNot(originals[i - 1], m, uses);
      if (why) { kept.push({ bn: join(path, i), reason: why }); return; }
      foldInto(copies[i - 1] as Linear | Conv2d, copies[i] as BatchNorm);
      copies[i] = new Identity();
      folded.push({ layer: join(path, i - 1), bn: join(path, i) });
    });
  });
  for (const [path, m] of model.namedModules())
    if (m instanceof BatchNorm && !seen.has(m)) {
      seen.add(m);
      kept.push({ bn: path || '(the model)', reason: 'it is not inside a Sequential, so which layer runs before it is unknown' });
    }
  copy.eval();
  return { model: copy, folded, kept };
}
