import { describe, it } from 'vitest';
import type { AdamHyper, SgdHyper } from '../../src/kernels/types.js';
import { expectSame, normals, rng, setup, wasm32 } from './wasm-helpers.js';

/*
 * The fused optimizer updates compute in float64 with the js kernel's operation order and float32 rounding
 * points, so parameters and state must equal the js results bit for bit, over several steps, for every
 * option (momentum, dampening, Nesterov, weight decay, first-step buffer, clipping, gradient scale; Adam, AdamW,
 * AMSGrad), odd lengths (the scalar tail), unaligned views and NaN gradients.
 */

const { mem, kw, js } = setup();

const sgdCases: Partial<SgdHyper>[] = [
  {},
  { momentum: 0.9 },
  { momentum: 0.9, nesterov: true, weightDecay: 1e-4 },
  { momentum: 0.5, dampening: 0.3, clipValue: 0.5, gradScale: 0.7 },
  { weightDecay: 0.01, clipValue: 0.1 },
];
const adamCases: Partial<AdamHyper>[] = [
  {},
  { weightDecay: 0.01 },
  { weightDecay: 0.01, decoupled: true },
  { amsgrad: true, clipValue: 0.2, gradScale: 0.5 },
  { beta1: 0.5, beta2: 0.9, eps: 1e-3, decoupled: true, amsgrad: true, weightDecay: 0.1 },
];

describe('wasm sgdUpdate', () => {
  for (const c of sgdCases) for (const n of [1, 37]) {
    it(`${JSON.stringify(c)} n=${n}`, () => {
      const r = rng(n);
      const p0 = normals(r, n);
      const p = wasm32(mem, p0, true), jp = Float32Array.from(p0);
      const buf = wasm32(mem, new Array(n).fill(0)), jbuf = new Float32Array(n);
      for (let step = 0; step < 4; step++) {
        const g = normals(r, n, 0, 2);
        if (step === 2 && n > 3) g[3] = NaN;
        const grad = wasm32(mem, g, step % 2 === 1);
        const h: SgdHyper = { lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, initBuf: step === 0,
          clipValue: Infinity, gradScale: 1, ...c };
        kw.sgdUpdate(p, grad, h.momentum ? buf : null, h);
        js.sgdUpdate(jp, grad, h.momentum ? jbuf : null, h);
        expectSame(p, jp, `param after step ${step}`);
        expectSame(buf, jbuf, `momentum buffer after step ${step}`);
      }
    });
  }
});

describe('wasm adamUpdate', () => {
  for (const c of adamCases) for (const n of [1, 37]) {
    it(`${JSON.stringify(c)} n=${n}`, () => {
      const r = rng(100 + n);
      const p0 = normals(r, n);
      const p = wasm32(mem, p0), jp = Float32Array.from(p0);
      const m = wasm32(mem, new Array(n).fill(0), true), v = wasm32(mem, new Array(n).fill(0)), vm = wasm32(mem, new Array(n).fill(0));
      const jm = new Float32Array(n), jv = new Float32Array(n), jvm = new Float32Array(n);
      for (let step = 1; step <= 4; step++) {
        const g = normals(r, n, 0, 2);
        if (step === 3 && n > 3) g[3] = NaN;
        const grad = wasm32(mem, g, true);
        const h: AdamHyper = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, amsgrad: false,
          step, clipValue: Infinity, gradScale: 1, ...c };
        kw.adamUpdate(p, grad, m, v, h.amsgrad ? vm : null, h);
        js.adamUpdate(jp, grad, jm, jv, h.amsgrad ? jvm : null, h);
        expectSame(p, jp, `param after step ${step}`);
        expectSame(m, jm, `m after step ${step}`);
        expectSame(v, jv, `v after step ${step}`);
        expectSame(vm, jvm, `vMax after step ${step}`);
      }
    });
  }
});
