import type { AdamHyper, FloatArray, SgdHyper } from '../types.js';

/*
 * Fused optimizer updates: one pass over a parameter, reading its gradient once, clipping it on the fly
 * (clamp, then scale) without touching `grad`, and writing the parameter and its state in place.
 * The order of floating-point operations follows torch.optim's single-tensor code (foreach=False).
 */

/** clamp(g, −c, c)·s; NaN stays NaN (as torch.clamp). */
function clipped(g: number, c: number, s: number): number {
  return (g > c ? c : g < -c ? -c : g) * s;
}

/** One SGD step; see `Kernels.sgdUpdate` for the formula. */
export function sgdUpdate(param: FloatArray, grad: FloatArray, buf: FloatArray | null, h: SgdHyper): void {
  const { lr, momentum: mu, weightDecay: wd, nesterov, initBuf, clipValue: c, gradScale: s } = h;
  const n = param.length, keep = 1 - h.dampening;
  if (mu === 0) {
    for (let i = 0; i < n; i++) { const p = param[i]; param[i] = p + -lr * (clipped(grad[i], c, s) + wd * p); }
    return;
  }
  if (!buf) throw new Error('sgdUpdate: momentum > 0 needs a momentum buffer');
  for (let i = 0; i < n; i++) {
    const p = param[i];
    const d = clipped(grad[i], c, s) + wd * p;
    const b = initBuf ? d : buf[i] * mu + keep * d;
    buf[i] = b;
    // Read the stored (possibly float32-rounded) buffer, as PyTorch reads its buffer tensor.
    param[i] = p + -lr * (nesterov ? d + mu * buf[i] : buf[i]);
  }
}

/** One Adam / AdamW step; see `Kernels.adamUpdate` for the formula. */
export function adamUpdate(param: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, vMax: FloatArray | null, h: AdamHyper): void {
  const { lr, beta1: b1, beta2: b2, eps, weightDecay: wd, decoupled, amsgrad, step, clipValue: c, gradScale: s } = h;
  if (amsgrad && !vMax) throw new Error('adamUpdate: amsgrad needs a vMax buffer');
  const n = param.length;
  const stepSize = lr / (1 - Math.pow(b1, step));
  const bc2Sqrt = Math.sqrt(1 - Math.pow(b2, step));
  const l2 = decoupled ? 0 : wd, shrink = decoupled ? 1 - lr * wd : 1;
  const k1 = 1 - b1, k2 = 1 - b2;
  for (let i = 0; i < n; i++) {
    param[i] = param[i] * shrink;
    const p = param[i];
    const g = clipped(grad[i], c, s) + l2 * p;
    m[i] = m[i] * b1 + k1 * g;
    v[i] = v[i] * b2 + k2 * g * g;
    let vHat = v[i];
    if (amsgrad) { const w = vMax![i]; vHat = w > vHat || w !== w ? w : vHat; vMax![i] = vHat; vHat = vMax![i]; }
    param[i] = p + -stepSize * (m[i] / (Math.sqrt(vHat) / bc2Sqrt + eps));
  }
}
