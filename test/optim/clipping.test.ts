import { describe, expect, it } from 'vitest';
import { tensor, type DType, type Tensor } from '../../src/index.js';
import * as optim from '../../src/optim/index.js';
import { expectClose } from '../helpers/close.js';

/*
 * Clipping semantics on hand-computable cases (SGD with lr 1 and no momentum makes the update −(clipped g + λθ)):
 * per parameter (clipNorm) vs all together (globalClipNorm), the order clipValue → clipNorm → globalClipNorm,
 * clipping before weight decay, p.grad left untouched, parameters without grad left out of the global norm.
 */

function param(values: number[], grad: number[] | null, dtype: DType = 'float64'): Tensor {
  const p = tensor(values, undefined, { dtype, requiresGrad: true });
  p.grad = grad ? tensor(grad, undefined, { dtype }) : null;
  return p;
}

/** One step of plain SGD (lr 1) with the given options; returns −Δθ per parameter = the gradient used. */
function usedGradients(params: Tensor[], options: Omit<optim.SGDOptions, 'lr'>): number[][] {
  const before = params.map((p) => Array.from(p.data));
  new optim.SGD(params, { lr: 1, ...options }).step();
  return params.map((p, i) => Array.from(p.data, (v, j) => before[i][j] - v));
}

describe('optimizer clipping', () => {
  it('clipNorm scales each parameter by its own norm; globalClipNorm scales all by the total norm', () => {
    // ‖g₁‖ = 5, ‖g₂‖ = 10, ‖g₃‖ = 0.5; total = √(25 + 100 + 0.25)
    const grads = [[3, 4], [6, 8], [0.3, 0.4]];
    const per = usedGradients(grads.map((g) => param([0, 0], g)), { clipNorm: 2 });
    expectClose(per[0], [1.2, 1.6], { rtol: 1e-15 }, 'clipNorm param 0');
    expectClose(per[1], [1.2, 1.6], { rtol: 1e-15 }, 'clipNorm param 1');
    expect(per[2]).toEqual([0.3, 0.4]); // below the threshold: exactly unchanged
    const total = Math.sqrt(125.25);
    const all = usedGradients(grads.map((g) => param([0, 0], g)), { globalClipNorm: 2 });
    grads.forEach((g, i) => expectClose(all[i], g.map((v) => v * 2 / total), { rtol: 1e-15 }, `globalClipNorm param ${i}`));
    const none = usedGradients(grads.map((g) => param([0, 0], g)), { globalClipNorm: 20 });
    expect(none).toEqual(grads);
  });

  it('clipValue clamps each element into [−v, v]', () => {
    expect(usedGradients([param([0, 0, 0, 0], [-3, -0.5, 0.25, 7])], { clipValue: 1 })[0]).toEqual([-1, -0.5, 0.25, 1]);
  });

  it('applies clipValue, then clipNorm, then globalClipNorm', () => {
    // clamp [3, 0.5] to [1, 0.5] (norm √1.25), then scale to norm 1; the other order would give [0.986, 0.164]
    const [g] = usedGradients([param([0, 0], [3, 0.5])], { clipValue: 1, clipNorm: 1 });
    expectClose(g, [1 / Math.sqrt(1.25), 0.5 / Math.sqrt(1.25)], { rtol: 1e-15 }, 'clipValue then clipNorm');
    // clipNorm first (each to norm 1), then the global norm of the clipped gradients (√2) to 1
    const two = usedGradients([param([0, 0], [30, 40]), param([0], [-7])], { clipNorm: 1, globalClipNorm: 1 });
    expectClose(two[0], [0.6 / Math.SQRT2, 0.8 / Math.SQRT2], { rtol: 1e-15 }, 'clipNorm then global, param 0');
    expectClose(two[1], [-1 / Math.SQRT2], { rtol: 1e-15 }, 'clipNorm then global, param 1');
    // all three: clamp to [2, -2] | [0.5], norms √8 → 1.5 | 0.5, total √(2.25 + 0.25) → 1
    const three = usedGradients([param([0, 0], [5, -9]), param([0], [0.5])], { clipValue: 2, clipNorm: 1.5, globalClipNorm: 1 });
    const s = 1.5 / Math.sqrt(8) / Math.sqrt(2.5);
    expectClose(three[0], [2 * s, -2 * s], { rtol: 1e-15 }, 'all three, param 0');
    expectClose(three[1], [0.5 / Math.sqrt(2.5)], { rtol: 1e-15 }, 'all three, param 1');
  });

  it('clips the raw gradient before weight decay (SGD and Adam add λθ after clipping)', () => {
    // SGD: d = clip(g) + λθ = [0.6, 0.8] + 0.5·[10, 0]; clipping after the decay would give [0.78, 0.62]
    const p = param([10, 0], [3, 4]);
    new optim.SGD([p], { lr: 1, weightDecay: 0.5, clipNorm: 1 }).step();
    expectClose(p.data, [10 - 5.6, -0.8], { rtol: 1e-15 }, 'SGD');
    // Adam: the same as Adam on the pre-clipped gradient g/‖g‖ with the same decay. Clipping g + λθ instead
    // would clip [27, −39.75], a different direction.
    const a = param([-6, 0.5], [30, -40]), b = param([-6, 0.5], [0.6, -0.8]);
    const oa = new optim.Adam([a], { lr: 0.1, weightDecay: 0.5, clipNorm: 1 });
    const ob = new optim.Adam([b], { lr: 0.1, weightDecay: 0.5 });
    for (let k = 0; k < 3; k++) { oa.step(); ob.step(); }
    expectClose(a.data, b.data, { rtol: 1e-14 }, 'Adam: clipping = pre-clipped gradient, decay after');
  });

  it('AdamW decays the parameter independently of clipping', () => {
    const a = param([2, -1], [50, 0]), b = param([2, -1], [1, 0]);
    const oa = new optim.AdamW([a], { lr: 0.1, weightDecay: 0.2, clipValue: 1 });
    const ob = new optim.AdamW([b], { lr: 0.1, weightDecay: 0.2 });
    oa.step(); ob.step();
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expectClose([a.data[1]], [-1 * (1 - 0.1 * 0.2)], { rtol: 1e-15 }, 'zero gradient: only the decay moves it');
  });

  it('leaves p.grad unchanged, for every optimizer', () => {
    for (const make of [
      (ps: Tensor[]) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9, clipValue: 0.1, clipNorm: 0.2, globalClipNorm: 0.3 }),
      (ps: Tensor[]) => new optim.Adam(ps, { clipValue: 0.1, clipNorm: 0.2, globalClipNorm: 0.3 }),
      (ps: Tensor[]) => new optim.AdamW(ps, { clipValue: 0.1, clipNorm: 0.2, globalClipNorm: 0.3 }),
    ]) {
      for (const dtype of ['float32', 'float64'] as DType[]) {
        const ps = [param([1, 2, 3], [5, -6, 7], dtype), param([4], [-8], dtype)];
        make(ps).step();
        expect(Array.from(ps[0].grad!.data)).toEqual([5, -6, 7]);
        expect(Array.from(ps[1].grad!.data)).toEqual([-8]);
      }
    }
  });

  it('leaves parameters without a gradient out of the global norm', () => {
    const [g1, g2] = usedGradients([param([0, 0], [3, 4]), param([0, 0], null)], { globalClipNorm: 1 });
    expectClose(g1, [0.6, 0.8], { rtol: 1e-15 }, 'only parameter 0 counts');
    expect(g2).toEqual([0, 0]);
  });

  it('propagates NaN gradients instead of hiding them', () => {
    const [g] = usedGradients([param([0, 0], [NaN, 1])], { clipValue: 1 });
    expect(g[0]).toBeNaN();
    expect(usedGradients([param([0, 0], [NaN, 1])], { clipNorm: 1 })[0].every(Number.isNaN)).toBe(true);
  });
});

describe('clipGradNorm / clipGradValue (PyTorch utilities, in place)', () => {
  it('clipGradNorm scales in place by maxNorm/(total + 1e-6) and returns the total norm', () => {
    const ps = [param([0, 0], [3, 4]), param([0], [12]), param([0], null)];
    expect(optim.clipGradNorm(ps, 6.5)).toBe(13);
    const c = 6.5 / (13 + 1e-6);
    expectClose(ps[0].grad!.data, [3 * c, 4 * c], { rtol: 1e-15 }, 'param 0');
    expectClose(ps[1].grad!.data, [12 * c], { rtol: 1e-15 }, 'param 1');
    expect(ps[2].grad).toBeNull();
    // below maxNorm: the coefficient is clamped to 1, gradients unchanged
    const q = param([0, 0], [0.3, 0.4]);
    expect(optim.clipGradNorm(q, 1)).toBeCloseTo(0.5, 15);
    expect(Array.from(q.grad!.data)).toEqual([0.3, 0.4]);
    expect(optim.clipGradNorm([param([0], null)], 1)).toBe(0);
    expect(optim.clipGradNorm(param([0, 0], [6, 8]), 100)).toBe(10); // a single tensor is accepted too
  });

  it('clipGradValue clamps in place', () => {
    const p = param([0, 0, 0], [-2, 0.1, 3], 'float32');
    optim.clipGradValue([p], 0.5);
    expect(Array.from(p.grad!.data)).toEqual([-0.5, Math.fround(0.1), 0.5]);
  });
});
