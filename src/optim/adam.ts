import { getBackend } from '../kernels/index.js';
import type { FloatArray } from '../kernels/types.js';
import type { Tensor } from '../tensor/index.js';
import type { ClipOptions } from './clip.js';
import { Optimizer, type ParamState, type StateLayout } from './optimizer.js';
import { checkBoolean, checkNumber, checkOptionKeys, nonNegative, positive } from './options.js';

export interface AdamOptions extends ClipOptions {
  /** Learning rate. Default: 1e-3. */
  readonly lr?: number;
  /** Decay rates (β1, β2) of the first and second moment averages, each in [0, 1). Default: [0.9, 0.999]. */
  readonly betas?: readonly [number, number];
  /** Added to the denominator for numerical stability (> 0). Default: 1e-8. */
  readonly eps?: number;
  /** Weight decay λ: L2 added to the gradient for Adam (default 0), decoupled for AdamW (default 1e-2). */
  readonly weightDecay?: number;
  /** Use the AMSGrad variant (the maximum of past second moments). Default: false. */
  readonly amsgrad?: boolean;
}

const KEYS = ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'clipValue', 'clipNorm', 'globalClipNorm'];

/** Adam and AdamW differ only in how weight decay enters; everything else lives here. */
abstract class AdamFamily extends Optimizer {
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;

  protected constructor(name: string, private readonly decoupled: boolean, params: Iterable<Tensor>, options: AdamOptions) {
    checkOptionKeys(name, options, KEYS);
    const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = decoupled ? 1e-2 : 0, amsgrad = false } = options;
    super(name, params, lr, options);
    if (!Array.isArray(betas) || betas.length !== 2)
      throw new Error(`${name}: option betas must be a pair [beta1, beta2], got ${JSON.stringify(betas)}`);
    const inUnit = (x: number) => x >= 0 && x < 1;
    this.betas = Object.freeze([checkNumber(name, 'betas[0]', betas[0], 'in [0, 1)', inUnit), checkNumber(name, 'betas[1]', betas[1], 'in [0, 1)', inUnit)]) as readonly [number, number];
    this.eps = positive(name, 'eps', eps);
    this.weightDecay = nonNegative(name, 'weightDecay', weightDecay);
    this.amsgrad = checkBoolean(name, 'amsgrad', amsgrad);
  }

  protected options(): Record<string, unknown> {
    const { betas, eps, weightDecay, amsgrad, clipValue, clipNorm, globalClipNorm } = this;
    return { betas: [...betas], eps, weightDecay, amsgrad, clipValue, clipNorm, globalClipNorm };
  }

  protected layout(): StateLayout {
    return { step: true, buffers: ['exp_avg', 'exp_avg_sq', ...(this.amsgrad ? ['max_exp_avg_sq'] : [])] };
  }

  protected update(p: Tensor, grad: FloatArray, st: ParamState, _fresh: boolean, clipValue: number, gradScale: number): void {
    st.step++;
    const b = st.buffers;
    getBackend().kernels.adamUpdate(p.storage.write(), grad, b.exp_avg.write(), b.exp_avg_sq.write(), b.max_exp_avg_sq?.write() ?? null, {
      lr: this.lr, beta1: this.betas[0], beta2: this.betas[1], eps: this.eps, weightDecay: this.weightDecay,
      decoupled: this.decoupled, amsgrad: this.amsgrad, step: st.step, clipValue, gradScale,
    });
  }
}

/**
 * Adam (Kingma & Ba, 2015, https://arxiv.org/abs/1412.6980), as torch.optim.Adam (PyTorch 1.13, same defaults
 * and update). Weight decay is the L2 penalty added to the gradient. With g the (clipped) gradient and t the
 * parameter's own step count (it advances only on steps where the parameter has a gradient):
 *
 *   g = g + λ·θ
 *   m = β1·m + (1 − β1)·g,   v = β2·v + (1 − β2)·g²,   (amsgrad: v̂ = max(v̂, v), else v̂ = v)
 *   θ = θ − lr/(1 − β1ᵗ) · m / (√v̂ / √(1 − β2ᵗ) + ε)
 *
 * Gradient clipping (`clipValue`, `clipNorm`, `globalClipNorm`; see {@link ClipOptions}) acts on the raw
 * gradients before weight decay, in that order; `p.grad` is not modified. Parameters without a gradient
 * are skipped.
 *
 * Options: `lr = 1e-3`, `betas = [0.9, 0.999]`, `eps = 1e-8`, `weightDecay = 0`, `amsgrad = false`,
 * `clipValue`, `clipNorm`, `globalClipNorm` (default off).
 *
 * Example:
 * ```ts
 * const model = new nn.Linear(4, 2);
 * const x = randn([16, 4]), y = randn([16, 2]);
 * const opt = new optim.Adam(model.parameters(), { lr: 1e-3, globalClipNorm: 1 });
 * opt.zeroGrad();
 * nn.functional.mseLoss(model.forward(x), y).backward();
 * opt.step();
 * ```
 */
export class Adam extends AdamFamily {
  constructor(params: Iterable<Tensor>, options: AdamOptions = {}) {
    super('Adam', false, params, options);
  }
}

/**
 * AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, 2019, https://arxiv.org/abs/1711.05101), as
 * torch.optim.AdamW (PyTorch 1.13, same defaults and update). The parameter decays directly instead of
 * through the gradient; with g the (clipped) gradient and t the parameter's own step count:
 *
 *   θ = θ·(1 − lr·λ)
 *   m = β1·m + (1 − β1)·g,   v = β2·v + (1 − β2)·g²,   (amsgrad: v̂ = max(v̂, v), else v̂ = v)
 *   θ = θ − lr/(1 − β1ᵗ) · m / (√v̂ / √(1 − β2ᵗ) + ε)
 *
 * Gradient clipping (`clipValue`, `clipNorm`, `globalClipNorm`; see {@link ClipOptions}) acts on the raw
 * gradients, in that order; `p.grad` is not modified. Parameters without a gradient are skipped (and do
 * not decay on that step, as in PyTorch).
 *
 * Options: `lr = 1e-3`, `betas = [0.9, 0.999]`, `eps = 1e-8`, `weightDecay = 1e-2`, `amsgrad = false`,
 * `clipValue`, `clipNorm`, `globalClipNorm` (default off).
 *
 * Example:
 * ```ts
 * const model = new nn.Linear(4, 2);
 * const x = randn([16, 4]), y = randn([16, 2]);
 * const opt = new optim.AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.05 });
 * opt.zeroGrad();
 * nn.functional.mseLoss(model.forward(x), y).backward();
 * opt.step();
 * ```
 */
export class AdamW extends AdamFamily {
  constructor(params: Iterable<Tensor>, options: AdamOptions = {}) {
    super('AdamW', true, params, options);
  }
}
