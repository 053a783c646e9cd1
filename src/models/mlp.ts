import type { DType } from '../kernels/types.js';
import { Rng } from '../random.js';
import { checkOptions } from '../nn/check.js';
import * as nn from '../nn/index.js';

export type Activation = 'sigmoid' | 'relu' | 'tanh';
/** Normalization placed between each hidden Linear and its activation. */
export type HiddenNorm = 'batch' | 'none';

export interface MlpOptions {
  inputs?: number;
  /** Widths of the hidden layers. Default [100, 100, 100] (the BN paper's MNIST net). */
  hidden?: readonly number[];
  classes?: number;
  activation?: Activation;
  norm?: HiddenNorm;
  /** Options of each BatchNorm1d. */
  bnOptions?: nn.BatchNormOptions;
  /** Weights from N(0, initStd²) and zero biases; when omitted, PyTorch's default Linear init. */
  initStd?: number;
  /** Generator for the initial weights (default: a fresh one seeded with `seed`). */
  seed?: number;
  dtype?: DType;
}

function activation(a: Activation): nn.Module {
  switch (a) {
    case 'sigmoid': return new nn.Sigmoid();
    case 'relu': return new nn.ReLU();
    case 'tanh': return new nn.Tanh();
    default: throw new Error(`mlp: unknown activation '${a as string}'; expected 'sigmoid', 'relu' or 'tanh'`);
  }
}

/**
 * A multilayer perceptron: [Linear → (BatchNorm1d) → activation] per hidden layer, then a Linear to the
 * classes. Where BN follows a Linear, the Linear has no bias (BN's β replaces it).
 *
 * Weights are drawn layer by layer from one generator before any bias, so the same seed gives the same
 * weight matrices with and without BN: the two arms of a comparison start from identical weights.
 *
 * Shape: input [N, inputs] → logits [N, classes].
 *
 * Example: `const net = models.mlp({ norm: 'batch', initStd: 0.05, seed: 1 });`
 */
export function mlp(options: MlpOptions = {}): nn.Sequential {
  checkOptions('mlp', options, ['inputs', 'hidden', 'classes', 'activation', 'norm', 'bnOptions', 'initStd', 'seed', 'dtype']);
  const { inputs = 784, hidden = [100, 100, 100], classes = 10, activation: act = 'sigmoid', norm = 'none', bnOptions = {}, initStd, seed = 0, dtype = 'float32' } = options;
  if (norm !== 'batch' && norm !== 'none') throw new Error(`mlp: unknown norm '${norm as string}'; expected 'batch' or 'none'`);
  if (initStd !== undefined && !(initStd >= 0)) throw new Error(`mlp: initStd must be ≥ 0, got ${initStd}`);
  const rng = new Rng(seed);
  const layers: nn.Module[] = [];
  const linears: nn.Linear[] = [];
  let d = inputs;
  for (const w of hidden) {
    const fc = new nn.Linear(d, w, { bias: norm === 'none', dtype });
    linears.push(fc);
    layers.push(fc);
    if (norm === 'batch') layers.push(new nn.BatchNorm1d(w, { ...bnOptions, dtype }));
    layers.push(activation(act));
    d = w;
  }
  const head = new nn.Linear(d, classes, { dtype });
  linears.push(head);
  layers.push(head);
  initLinears(linears, initStd, rng);
  return new nn.Sequential(...layers);
}

/**
 * The MLP's initialization, shared by everything that builds one: every weight first, then every bias, from
 * `rng` — N(0, initStd²) weights and zero biases when `initStd` is given, else PyTorch's Linear default
 * (Kaiming-uniform with a = √5, biases U(±1/√fanIn)).
 */
export function initLinears(linears: readonly nn.Linear[], initStd: number | undefined, rng: Rng): void {
  for (const fc of linears) {
    if (initStd !== undefined) nn.init.normal(fc.weight, initStd, 0, rng);
    else nn.init.kaimingUniform(fc.weight, { a: Math.sqrt(5), rng });
  }
  for (const fc of linears) {
    if (!fc.bias) continue;
    if (initStd !== undefined) nn.init.zeros(fc.bias);
    else { const b = 1 / Math.sqrt(fc.inFeatures); nn.init.uniform(fc.bias, -b, b, rng); }
  }
}
