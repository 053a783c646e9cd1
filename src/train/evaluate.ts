import { noGrad } from '../autograd/index.js';
import { crossEntropy } from '../nn/functional.js';
import type { Module } from '../nn/index.js';
import { formatShape, scope, tensor } from '../tensor/index.js';

/** Rows of features with integer labels (what src/data produces). */
export interface LabeledData {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly count: number;
  readonly features: number;
}

export interface EvalResult {
  /** Mean cross-entropy over the data. */
  loss: number;
  /** Fraction of rows whose argmax matches the label. */
  accuracy: number;
}

/**
 * Loss and accuracy of a classifier over a whole data set, in evaluation mode and without recording
 * gradients; the model's previous mode is restored afterwards. `inputShape` reshapes each batch
 * (e.g. [1, 28, 28] for a CNN); by default rows are fed as [B, features].
 */
export function evaluate(model: Module, data: LabeledData, { batchSize = 1000, inputShape }: { batchSize?: number; inputShape?: readonly number[] } = {}): EvalResult {
  const wasTraining = model.training;
  model.eval();
  let lossSum = 0, correct = 0;
  try {
    noGrad(() => {
      for (let i = 0; i < data.count; i += batchSize) {
        const b = Math.min(batchSize, data.count - i);
        const xs = data.x.subarray(i * data.features, (i + b) * data.features);
        const y = data.y.subarray(i, i + b);
        scope(() => {
          const logits = model.forward(tensor(xs, inputShape ? [b, ...inputShape] : [b, data.features]));
          if (logits.ndim !== 2 || logits.shape[0] !== b) throw new Error(`evaluate: the model returned shape ${formatShape(logits.shape)}, expected [${b}, classes]`);
          lossSum += crossEntropy(logits, y).item() * b;
          const pred = logits.argmax(-1).data;
          for (let j = 0; j < b; j++) if (pred[j] === y[j]) correct++;
        });
      }
    });
  } finally {
    model.train(wasTraining);
  }
  return { loss: lossSum / data.count, accuracy: correct / data.count };
}
