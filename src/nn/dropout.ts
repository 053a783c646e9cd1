import { arrayFor } from '../kernels/index.js';
import { hostStorage } from '../memory/index.js';
import { globalRng, type Rng } from '../random.js';
import { Tensor } from '../tensor/index.js';
import { Module } from './module.js';

function checkP(what: string, p: number): void {
  if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw new Error(`${what}: p must be in [0, 1), got ${p}`);
}

/**
 * Inverted dropout, functional form of nn.Dropout: in training each element is zeroed with probability p and
 * the kept ones are scaled by 1/(1 − p), so E[y] = x; with `training` false (or p = 0) x is returned as is.
 * The mask is drawn from `rng` (default: the global generator seeded by manualSeed, whose state checkpoints
 * save), so runs are reproducible and resumable. Gradients flow through the same mask.
 *
 * Example:
 * ```ts
 * manualSeed(0);
 * const y = nn.functional.dropout(ones([1000]), 0.5);
 * y.data.every((v) => v === 0 || v === 2); // => true
 * nn.functional.dropout(ones([3]), 0.5, false).toArray(); // => [1, 1, 1]
 * ```
 */
export function dropout(x: Tensor, p = 0.5, training = true, rng: Rng = globalRng): Tensor {
  checkP('dropout', p);
  if (!(x instanceof Tensor)) throw new Error('dropout: expected a Tensor input');
  if (!training || p === 0) return x;
  const mask = new (arrayFor(x.dtype))(x.size);
  const scale = 1 / (1 - p), threshold = p * 4294967296; // drop when a uniform 32-bit integer < p·2³²
  for (let i = 0; i < mask.length; i++) mask[i] = rng.nextU32() < threshold ? 0 : scale;
  return x.mul(new Tensor(hostStorage(mask), x.shape));
}

/**
 * Randomly zeroes elements during training (Srivastava et al. 2014, https://jmlr.org/papers/v15/srivastava14a.html),
 * in the inverted form PyTorch uses: y = x·m/(1 − p) with m ~ Bernoulli(1 − p) per element in training mode,
 * y = x in evaluation mode. Masks come from the global generator (manualSeed), so runs are reproducible.
 *
 * Defaults: p = 0.5 (must be in [0, 1)).
 *
 * Shape: any → the same.
 *
 * Example:
 * ```ts
 * manualSeed(0);
 * const drop = new nn.Dropout(0.25);
 * const y = drop.forward(ones([4, 1000]));
 * Math.abs(y.data.filter((v) => v === 0).length / 4000 - 0.25) < 0.03; // => true
 * drop.eval();
 * drop.forward(ones([2])).toArray(); // => [1, 1]
 * ```
 */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    checkP('Dropout', p);
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}
