import { getBackend } from '../kernels/index.js';
import { trusted } from '../memory/index.js';
import type { Module } from '../nn/index.js';

/** L2 norm of each parameter's gradient, by dotted name (parameters without a gradient are left out). */
export function gradNorms(model: Module): Record<string, number> {
  return trusted(() => {
    const k = getBackend().kernels;
    const out: Record<string, number> = {};
    for (const [name, p] of model.namedParameters()) if (p.grad) out[name] = Math.sqrt(k.sumSquares(p.grad.arr.data));
    return out;
  });
}

/** L2 norm of all gradients together. */
export function totalGradNorm(model: Module): number {
  return trusted(() => {
    const k = getBackend().kernels;
    let s = 0;
    for (const p of model.parameters()) if (p.grad) s += k.sumSquares(p.grad.arr.data);
    return Math.sqrt(s);
  });
}
