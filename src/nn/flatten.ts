import { formatShape, normAxis, type Tensor } from '../tensor/index.js';
import { Module } from './module.js';

/**
 * Flattens axes startDim … endDim into one (PyTorch's nn.Flatten), typically between convolutional
 * features and a Linear layer. Negative axes count from the end. Shares storage with the input.
 *
 * Defaults: startDim = 1 (keep the batch axis), endDim = −1.
 *
 * Shape: [N, *dims] → [N, ∏dims] with the defaults.
 *
 * Example:
 * ```ts
 * new nn.Flatten().forward(zeros([32, 64, 7, 7])).shape;      // => [32, 3136]
 * new nn.Flatten(0, 1).forward(zeros([2, 3, 4])).shape;       // => [6, 4]
 * ```
 */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
    for (const [name, v] of [['startDim', startDim], ['endDim', endDim]] as const)
      if (!Number.isInteger(v)) throw new Error(`Flatten: ${name} must be an integer, got ${v}`);
  }

  forward(x: Tensor): Tensor {
    if (x.ndim > 0 && normAxis(this.startDim, x.shape, 'Flatten') > normAxis(this.endDim, x.shape, 'Flatten'))
      throw new Error(`Flatten: startDim ${this.startDim} comes after endDim ${this.endDim} for input shape ${formatShape(x.shape)}`);
    return x.flatten(this.startDim, this.endDim);
  }

  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}

/**
 * Expands axis `dim` into `shape` (PyTorch's nn.Unflatten), e.g. rows of 784 pixels into [1, 28, 28] images
 * at the start of a CNN. Shares storage with the input.
 *
 * Shape: [N, ∏shape] → [N, *shape] for dim = 1.
 *
 * Example:
 * ```ts
 * new nn.Unflatten(1, [1, 28, 28]).forward(zeros([60, 784])).shape; // => [60, 1, 28, 28]
 * ```
 */
export class Unflatten extends Module {
  readonly shape: readonly number[];

  constructor(readonly dim: number, shape: readonly number[]) {
    super();
    if (!Number.isInteger(dim)) throw new Error(`Unflatten: dim must be an integer, got ${dim}`);
    if (!Array.isArray(shape) || !shape.length || shape.some((d) => !Number.isInteger(d) || d <= 0))
      throw new Error(`Unflatten: shape must be a list of positive integers, got ${JSON.stringify(shape)}`);
    this.shape = [...shape];
  }

  forward(x: Tensor): Tensor {
    const d = normAxis(this.dim, x.shape, 'Unflatten');
    const n = this.shape.reduce((p, v) => p * v, 1);
    if (x.shape[d] !== n) throw new Error(`Unflatten: axis ${this.dim} of input shape ${formatShape(x.shape)} has ${x.shape[d]} values, not ${n} = ${this.shape.join('×')}`);
    return x.reshape([...x.shape.slice(0, d), ...this.shape, ...x.shape.slice(d + 1)]);
  }

  override extraRepr(): string {
    return `dim=${this.dim}, shape=[${this.shape.join(', ')}]`;
  }
}
