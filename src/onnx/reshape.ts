import { Module } from '../nn/index.js';
import { formatShape, type Tensor } from '../tensor/index.js';

/**
 * ONNX's Reshape with a constant target shape, as a module (what `importOnnx` builds for a Reshape node):
 * an entry 0 copies the input's size on that axis, one entry −1 is inferred from the rest. Shares storage
 * with the input.
 *
 * Shape: [N, ...] → the target shape with 0 and −1 resolved (e.g. [0, 1, 28, 28] maps [N, 784] to [N, 1, 28, 28]).
 *
 * Example:
 * ```ts
 * new onnx.Reshape([0, -1]).forward(zeros([2, 3, 4])).shape; // => [2, 12]
 * ```
 */
export class Reshape extends Module {
  readonly shape: readonly number[];

  constructor(shape: readonly number[]) {
    super();
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < -1) || shape.filter((d) => d === -1).length > 1)
      throw new Error(`Reshape: shape must list integers ≥ 0 with at most one −1, got ${JSON.stringify(shape)}`);
    this.shape = [...shape];
  }

  /** The output shape for an input shape (an error naming both when they do not fit). */
  outputShape(input: readonly number[]): number[] {
    const out = this.shape.map((d, i) => {
      if (d !== 0) return d;
      if (i >= input.length) throw new Error(`Reshape: target ${formatShape(this.shape)} copies axis ${i}, which input shape ${formatShape(input)} does not have`);
      return input[i];
    });
    const total = input.reduce((p, d) => p * d, 1);
    const known = out.reduce((p, d) => (d === -1 ? p : p * d), 1);
    const free = out.indexOf(-1);
    if (free >= 0) {
      if (known === 0 || total % known) throw new Error(`Reshape: cannot reshape input shape ${formatShape(input)} to ${formatShape(this.shape)}`);
      out[free] = total / known;
    }
    if (out.reduce((p, d) => p * d, 1) !== total) throw new Error(`Reshape: cannot reshape input shape ${formatShape(input)} (${total} values) to ${formatShape(this.shape)}`);
    return out;
  }

  forward(x: Tensor): Tensor {
    return x.reshape(this.outputShape(x.shape));
  }
}
