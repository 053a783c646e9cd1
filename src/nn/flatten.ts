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
}
