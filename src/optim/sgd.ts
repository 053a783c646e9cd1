import { getBackend } from '../kernels/index.js';
import type { FloatArray } from '../kernels/types.js';
import type { Tensor } from '../tensor/index.js';
import type { ClipOptions } from './clip.js';
import { Optimizer, type ParamState, type StateLayout } from './optimizer.js';
import { checkBoolean, checkOptionKeys, nonNegative } from './options.js';

export interface SGDOptions extends ClipOptions {
  /** Learning rate (required). */
  readonly lr: number;
  /** Momentum factor μ. Default: 0. */
  readonly momentum?: number;
  /** Dampening τ of the momentum. Default: 0. */
  readonly dampening?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). Default: false. */
  readonly nesterov?: boolean;
  /** L2 penalty λ, added to the gradient. Default: 0. */
  readonly weightDecay?: number;
}

const KEYS = ['lr', 'momentum', 'dampening', 'nesterov', 'weightDecay', 'clipValue', 'clipNorm', 'globalClipNorm'];

/**
 * Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay, as
 * torch.optim.SGD (PyTorch 1.13, same defaults and update). With g the (clipped) gradient, per parameter:
 *
 *   d = g + λ·θ
 *   b = d on the first step, else b = μ·b + (1 − τ)·d       (only when μ > 0)
 *   d = nesterov ? d + μ·b : b                              (only when μ > 0)
 *   θ = θ − lr·d
 *
 * Note that this momentum is the optimizer's, unrelated to BatchNorm's `momentum` (the running-average weight).
 *
 * Gradient clipping (`clipValue`, `clipNorm`, `globalClipNorm`; see {@link ClipOptions}) acts on the raw
 * gradients before weight decay, in that order; `p.grad` is not modified. Parameters without a gradient
 * are skipped. The momentum buffer of a parameter is created at its first update.
 *
 * Options: `lr` (required), `momentum = 0`, `dampening = 0`, `nesterov = false`, `weightDecay = 0`,
 * `clipValue`, `clipNorm`, `globalClipNorm` (default off).
 *
 * Example:
 * ```ts
 * const model = models.mlp({ inputs: 4, hidden: [8], classes: 3, norm: 'batch' });
 * const x = randn([16, 4]), labels = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0];
 * const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9, clipNorm: 5 });
 * opt.zeroGrad();
 * nn.functional.crossEntropy(model.forward(x), labels).backward();
 * opt.step();
 * ```
 */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;

  constructor(params: Iterable<Tensor>, options: SGDOptions) {
    if (options === undefined) throw new Error('SGD: option lr is required (e.g. { lr: 0.1 })');
    checkOptionKeys('SGD', options, KEYS);
    const { lr, momentum = 0, dampening = 0, nesterov = false, weightDecay = 0 } = options;
    if (lr === undefined) throw new Error('SGD: option lr is required (e.g. { lr: 0.1 })');
    super('SGD', params, lr, options);
    this.momentum = nonNegative('SGD', 'momentum', momentum);
    this.dampening = nonNegative('SGD', 'dampening', dampening);
    this.nesterov = checkBoolean('SGD', 'nesterov', nesterov);
    this.weightDecay = nonNegative('SGD', 'weightDecay', weightDecay);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0))
      throw new Error(`SGD: option nesterov requires momentum > 0 and dampening 0, got momentum ${this.momentum} and dampening ${this.dampening}`);
  }

  protected options(): Record<string, unknown> {
    const { momentum, dampening, nesterov, weightDecay, clipValue, clipNorm, globalClipNorm } = this;
    return { momentum, dampening, nesterov, weightDecay, clipValue, clipNorm, globalClipNorm };
  }

  protected layout(): StateLayout {
    return { step: false, buffers: this.momentum > 0 ? ['momentum_buffer'] : [] };
  }

  protected update(p: Tensor, grad: FloatArray, st: ParamState, fresh: boolean, clipValue: number, gradScale: number): void {
    getBackend().kernels.sgdUpdate(p.storage.write(), grad, st.buffers.momentum_buffer?.write() ?? null, {
      lr: this.lr, momentum: this.momentum, dampening: this.dampening, nesterov: this.nesterov,
      weightDecay: this.weightDecay, initBuf: fresh, clipValue, gradScale,
    });
    st.step++;
  }
}
