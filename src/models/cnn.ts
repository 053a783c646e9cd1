import type { DType } from '../kernels/types.js';
import { checkOptions } from '../nn/check.js';
import * as nn from '../nn/index.js';

export interface CnnOptions {
  /** Image size [channels, height, width] of the rows fed in (default MNIST [1, 28, 28]). */
  image?: readonly [number, number, number];
  /** Output channels of the two conv layers (default [16, 32]). */
  channels?: readonly [number, number];
  classes?: number;
  /** Batch normalization after each convolution (default true). */
  bn?: boolean;
  dtype?: DType;
}

/**
 * A small CNN for digits: rows → [C, H, W] images → (Conv2d 3×3 → BatchNorm2d → ReLU → MaxPool 2) twice →
 * global average pooling → Linear. Convolutions followed by BN have no bias. Weights use PyTorch's
 * default initialization from the global generator (seed it with manualSeed).
 *
 * Shape: input [N, C·H·W] → logits [N, classes].
 *
 * Example:
 * ```ts
 * models.cnn().forward(zeros([2, 784])).shape; // => [2, 10]
 * ```
 */
export function cnn(options: CnnOptions = {}): nn.Sequential {
  checkOptions('cnn', options, ['image', 'channels', 'classes', 'bn', 'dtype']);
  const { image = [1, 28, 28], channels = [16, 32], classes = 10, bn = true, dtype = 'float32' } = options;
  const [c0] = image;
  const block = (cin: number, cout: number): nn.Module[] => [
    new nn.Conv2d(cin, cout, 3, { padding: 1, bias: !bn, dtype }),
    ...(bn ? [new nn.BatchNorm2d(cout, { dtype })] : []),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
  ];
  return new nn.Sequential(
    new nn.Unflatten(1, image),
    ...block(c0, channels[0]),
    ...block(channels[0], channels[1]),
    new nn.AdaptiveAvgPool2d(1),
    new nn.Flatten(),
    new nn.Linear(channels[1], classes, { dtype }),
  );
}
