import { getBackend } from '../kernels/index.js';
import type { FloatArray } from '../kernels/types.js';
import { trusted } from '../memory/index.js';
import { Tensor } from '../tensor/index.js';
import { positive } from './options.js';

/**
 * Gradient clipping set on an optimizer (the note's `clipvalue` / `clipnorm`, and a global norm).
 * All three act on the raw gradients before weight decay. When several are set they apply in this order:
 *
 * - `clipValue` v: each element into [−v, v].
 * - `clipNorm` c: each parameter's gradient g scaled by c / max(‖g‖₂, c) (Keras `clipnorm`, per parameter).
 * - `globalClipNorm` c: all gradients scaled together by c / max(‖(g₁, …, g_k)‖₂, c) over the parameters
 *   that have a gradient (torch.nn.utils.clip_grad_norm_, but exactly this formula: no 1e-6 in the divisor).
 *
 * The optimizer clips the gradient it uses; `p.grad` itself is left unchanged (so it can still be logged
 * or inspected). For PyTorch's in-place behaviour call {@link clipGradNorm} / {@link clipGradValue} first.
 * Non-finite gradients are not hidden: NaN stays NaN, and norm clipping turns an infinite element into NaN
 * (the norm is infinite, the factor 0) unless clipValue clamps it first.
 *
 * Example:
 * ```ts
 * const model = new nn.Linear(4, 2);
 * new optim.SGD(model.parameters(), { lr: 0.1, clipValue: 1 });         // Keras clipvalue
 * new optim.Adam(model.parameters(), { clipNorm: 1 });                   // Keras clipnorm, per parameter
 * new optim.AdamW(model.parameters(), { globalClipNorm: 1 });            // like clip_grad_norm_(…, 1)
 * ```
 */
export interface ClipOptions {
  /** Clamp each gradient element into [−clipValue, clipValue]. Default: off. */
  readonly clipValue?: number;
  /** Rescale each parameter's gradient to L2 norm ≤ clipNorm. Default: off. */
  readonly clipNorm?: number;
  /** Rescale all gradients together to a total L2 norm ≤ globalClipNorm. Default: off. */
  readonly globalClipNorm?: number;
}

/** Provides a scratch array of the given dtype and length (reused between calls). */
export type Scratch = (like: FloatArray, n: number) => FloatArray;

/**
 * The factor each clamped gradient is multiplied by: s_i = a_i · b with a_i = c / max(‖ĝ_i‖, c) (clipNorm)
 * and b = C / max(√Σ a_i²‖ĝ_i‖², C) (globalClipNorm), ĝ_i = clamp(g_i, ±clipValue). 1 when both are off.
 * Norms come from the `sumSquares` kernel; the clamp for them goes through a scratch array, never `grads`.
 */
export function gradScales(grads: readonly FloatArray[], { clipValue, clipNorm, globalClipNorm }: ClipOptions, scratch: Scratch): number[] {
  const scales = grads.map(() => 1);
  if (clipNorm === undefined && globalClipNorm === undefined) return scales;
  const k = getBackend().kernels;
  const sq = grads.map((g) => {
    if (clipValue === undefined) return k.sumSquares(g);
    const t = scratch(g, g.length);
    k.binaryScalar('max', g, -clipValue, t, false);
    k.binaryScalar('min', t, clipValue, t, false);
    return k.sumSquares(t);
  });
  if (clipNorm !== undefined) sq.forEach((s, i) => { scales[i] = clipNorm / Math.max(Math.sqrt(s), clipNorm); });
  if (globalClipNorm !== undefined) {
    let total = 0;
    sq.forEach((s, i) => { total += scales[i] * scales[i] * s; });
    const b = globalClipNorm / Math.max(Math.sqrt(total), globalClipNorm);
    for (let i = 0; i < scales.length; i++) scales[i] *= b;
  }
  return scales;
}

function gradsOf(params: Iterable<Tensor> | Tensor, what: string): Tensor[] {
  const list = params instanceof Tensor ? [params] : [...params];
  list.forEach((p, i) => { if (!(p instanceof Tensor)) throw new Error(`${what}: parameter ${i} is not a Tensor`); });
  return list.flatMap((p) => (p.grad ? [p.grad] : []));
}

/**
 * Scale the gradients of `params` in place so that their total L2 norm is at most `maxNorm`, as
 * torch.nn.utils.clip_grad_norm_ (PyTorch 1.13): total = ‖(g₁, …, g_k)‖₂ over the parameters with a
 * gradient, then every g_i ·= min(maxNorm / (total + 1e-6), 1). Parameters without a gradient are skipped.
 *
 * Returns the total norm before clipping (0 when no parameter has a gradient). A non-finite total makes
 * the gradients non-finite too (PyTorch's default, error_if_nonfinite = false).
 * Note the 1e-6: the optimizer option `globalClipNorm` uses c / max(total, c) instead.
 *
 * Example:
 * ```ts
 * const model = new nn.Linear(4, 2);
 * const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
 * const loss = model.forward(full([8, 4], 10)).square().sum();
 * loss.backward();
 * const norm = optim.clipGradNorm(model.parameters(), 1.0);   // the norm before clipping; log it if you like
 * opt.step();
 * ```
 */
export function clipGradNorm(params: Iterable<Tensor> | Tensor, maxNorm: number): number {
  positive('clipGradNorm', 'maxNorm', maxNorm);
  return trusted(() => {
    const grads = gradsOf(params, 'clipGradNorm');
    const k = getBackend().kernels;
    let sq = 0;
    for (const g of grads) sq += k.sumSquares(g.arr.data);
    const total = Math.sqrt(sq);
    const coef = Math.min(maxNorm / (total + 1e-6), 1);
    for (const g of grads) { const d = g.storage.write(); k.binaryScalar('mul', d, coef, d, false); }
    return total;
  });
}

/**
 * Clamp every gradient element of `params` into [−clipValue, clipValue] in place, as
 * torch.nn.utils.clip_grad_value_. Parameters without a gradient are skipped; NaN stays NaN.
 *
 * Example:
 * ```ts
 * const model = new nn.Linear(4, 2);
 * const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
 * model.forward(full([8, 4], 10)).sum().backward();
 * optim.clipGradValue(model.parameters(), 0.5);
 * model.bias!.grad!.toArray(); // => [0.5, 0.5]
 * opt.step();
 * ```
 */
export function clipGradValue(params: Iterable<Tensor> | Tensor, clipValue: number): void {
  positive('clipGradValue', 'clipValue', clipValue);
  const k = getBackend().kernels;
  trusted(() => {
    for (const g of gradsOf(params, 'clipGradValue')) {
      const d = g.storage.write();
      k.binaryScalar('max', d, -clipValue, d, false);
      k.binaryScalar('min', d, clipValue, d, false);
    }
  });
}
