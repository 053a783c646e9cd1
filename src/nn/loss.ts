import { trusted } from '../memory/index.js';
import { Tensor, formatShape, op } from '../tensor/index.js';

/* Losses (functional forms). */

/** Class indices as an Int32Array, checked against N rows and C classes. */
function classIndices(target: Int32Array | readonly number[] | Tensor, N: number, C: number, logits: Tensor): Int32Array {
  const src: ArrayLike<number> = target instanceof Tensor ? target.storage.peek() : target;
  if (!src || typeof src.length !== 'number') throw new Error('crossEntropy: target must be class indices (Int32Array, number[] or Tensor)');
  if (target instanceof Tensor && target.ndim !== 1) throw new Error(`crossEntropy: target must be 1-D class indices, got shape ${formatShape(target.shape)}`);
  if (src.length !== N) throw new Error(`crossEntropy: logits ${formatShape(logits.shape)} have ${N} rows but target has ${src.length} entries`);
  const t = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const v = src[i];
    if (!Number.isInteger(v) || v < 0 || v >= C) throw new Error(`crossEntropy: target[${i}] = ${v} is not a class index in [0, ${C})`);
    t[i] = v;
  }
  return t;
}

/**
 * Cross-entropy between logits and class indices: mean over rows of −log softmax(logits)[target], fused
 * (log-softmax and NLL in one op, with the gradient (softmax − onehot)/N).
 *
 * Shape: logits [N, C]; target [N] (Int32Array, number[] or a tensor of integers); output a scalar.
 *
 * Example: `nn.functional.crossEntropy(model.forward(x), labels).backward()`.
 */
export function crossEntropy(logits: Tensor, target: Int32Array | readonly number[] | Tensor): Tensor {
  if (!(logits instanceof Tensor) || logits.ndim !== 2) throw new Error(`crossEntropy: expected logits [N, C], got shape ${logits instanceof Tensor ? formatShape(logits.shape) : typeof logits}`);
  const [N, C] = logits.shape;
  if (N === 0) throw new Error(`crossEntropy: logits ${formatShape(logits.shape)} hold no rows`);
  return op('crossEntropy', [logits], { target: classIndices(target, N, C, logits) });
}

/**
 * Mean squared error: mean((input − target)²).
 * Shape: input and target of the same shape; output a scalar.
 */
export function mseLoss(input: Tensor, target: Tensor): Tensor {
  for (const [name, t] of [['input', input], ['target', target]] as const)
    if (!(t instanceof Tensor)) throw new Error(`mseLoss: ${name} must be a Tensor, got ${Array.isArray(t) ? 'an array; wrap it with tensor(...)' : typeof t}`);
  if (input.ndim !== target.ndim || input.shape.some((d, i) => d !== target.shape[i]))
    throw new Error(`mseLoss: input ${formatShape(input.shape)} and target ${formatShape(target.shape)} must have the same shape`);
  return trusted(() => input.sub(target).square().mean());
}
