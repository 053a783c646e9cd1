import type { DType } from '../kernels/types.js';
import { Tensor, formatShape, op, zeros } from '../tensor/index.js';
import { checkBoolean, checkDtype, checkOptions, checkTensorInput, positiveInteger } from './check.js';
import { kaimingUniform, uniform } from './init.js';
import { Module } from './module.js';

export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  dtype?: DType;
}

/** y = x·Wᵀ + b; the functional form of nn.Linear. x [..., in], weight [out, in], bias [out] or null. */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  checkTensorInput('linear', x);
  checkTensorInput('linear', weight, 'weight');
  if (bias !== null) checkTensorInput('linear', bias, 'bias');
  const I = weight.shape[1], O = weight.shape[0];
  if (weight.ndim !== 2) throw new Error(`linear: weight must be [out, in], got shape ${formatShape(weight.shape)}`);
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== I)
    throw new Error(`linear: input shape ${formatShape(x.shape)} does not end in the weight's in_features ${I} (weight ${formatShape(weight.shape)})`);
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== O)) throw new Error(`linear: bias shape ${formatShape(bias.shape)} does not match out_features ${O}`);
  if (x.dtype !== weight.dtype) throw new Error(`linear: input dtype ${x.dtype} does not match the weight's ${weight.dtype}; convert with .to() first`);
  return op('linear', [x, weight, bias], {});
}

/**
 * Applies an affine map y = x·Wᵀ + b (PyTorch's nn.Linear).
 *
 * Defaults: bias = true; W and b drawn from U(−1/√in, 1/√in) (PyTorch's Kaiming-uniform with a = √5).
 *
 * Shape: input [*, in] → output [*, out].
 *
 * Example:
 * ```ts
 * const fc = new nn.Linear(784, 100);
 * fc.forward(randn([60, 784])).shape; // => [60, 100]
 * ```
 */
export class Linear extends Module {
  declare weight: Tensor;
  declare bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, options: LinearOptions = {}) {
    super();
    checkOptions('Linear', options, ['bias', 'dtype']);
    const { bias = true, dtype = 'float32' } = options;
    positiveInteger('Linear', 'inFeatures', inFeatures);
    positiveInteger('Linear', 'outFeatures', outFeatures);
    checkBoolean('Linear', 'bias', bias);
    checkDtype('Linear', dtype);
    this.registerParameter('weight', kaimingUniform(zeros([outFeatures, inFeatures], { dtype }), { a: Math.sqrt(5) }));
    const bound = 1 / Math.sqrt(inFeatures);
    this.registerParameter('bias', bias ? uniform(zeros([outFeatures], { dtype }), -bound, bound) : null);
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}
