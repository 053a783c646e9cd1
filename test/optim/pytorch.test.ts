import { afterAll, describe, expect, it } from 'vitest';
import { tensor, type DType } from '../../src/index.js';
import * as optim from '../../src/optim/index.js';
import { maxErrors } from '../helpers/close.js';
import { loadFixture, makeOptimizer, makeParams, runSteps, setGrads, type Inputs, type UpdatesFile } from './fixture.js';

/*
 * Optimizers, clipping utilities and schedules against PyTorch 1.13 (scripts/gen_optim_fixtures.py →
 * test/fixtures/optim_*.json). Parameters after each of 5 steps, for given initial values and gradients
 * (some parameters without a gradient at some steps). float64 must match PyTorch's float64 tightly; float32
 * must be about as close to PyTorch's float64 as PyTorch's own float32 is.
 */

// Measured worst (NORMLAB_FIXTURE_REPORT=1): float64 abs 8.9e-16, rel 6.4e-14 (|ref| > 1e-6), i.e. a few ulps
// after 5 steps (PyTorch's CPU kernels may fuse multiply-adds; JavaScript does not).
const F64 = { rtol: 1e-13, atol: 1e-15 };
// float32: max|ours − torch64| ≤ 2·max|torch32 − torch64| + 2⁻²³·max(1, max|ref|), per case, step and parameter.
// Measured worst: ours 4.5e-7 vs PyTorch float32's 5.3e-7 overall; largest ratio 3.2 (2.5e-7 vs 7.7e-8, ~1 ulp).
const F32_RATIO = 2, F32_FLOOR = 2 ** -23;

const measured = { f64Abs: 0, f64Rel: 0, f32Ours: 0, f32Torch: 0, f32WorstRatio: 0, f32WorstAt: '' };

function checkF64(label: string, got: number[], want: number[]): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]), bound = F64.atol + F64.rtol * Math.abs(want[i]);
    if (!(d <= bound)) expect.fail(`${label}[${i}]: got ${got[i]}, PyTorch float64 ${want[i]} (|diff| ${d} > ${bound})`);
    measured.f64Abs = Math.max(measured.f64Abs, d);
    if (Math.abs(want[i]) > 1e-6) measured.f64Rel = Math.max(measured.f64Rel, d / Math.abs(want[i]));
  }
}

function checkF32(label: string, got: number[], torch32: number[], want: number[]): void {
  const mine = maxErrors(got, want).abs, theirs = maxErrors(Float32Array.from(torch32), want).abs;
  const scale = Math.max(1, ...want.map(Math.abs));
  measured.f32Ours = Math.max(measured.f32Ours, mine);
  measured.f32Torch = Math.max(measured.f32Torch, theirs);
  const ratio = theirs > 0 ? mine / theirs : mine > 0 ? Infinity : 0;
  if (ratio > measured.f32WorstRatio) { measured.f32WorstRatio = ratio; measured.f32WorstAt = `${label}: ours ${mine}, PyTorch float32 ${theirs}`; }
  if (!(mine <= F32_RATIO * theirs + F32_FLOOR * scale))
    expect.fail(`${label}: normlab float32 max abs error ${mine} > ${F32_RATIO}·${theirs} + ${F32_FLOOR * scale} (PyTorch float32's error, both vs PyTorch float64)`);
}

afterAll(() => {
  if (process.env.NORMLAB_FIXTURE_REPORT) console.log(`optim fixtures: ${JSON.stringify(measured)}`);
});

const updates = loadFixture<UpdatesFile>('optim_updates.json');

describe('optimizers against PyTorch 1.13', () => {
  it('the fixture covers every optimizer, clipping option and a parameter without grad', () => {
    const names = updates.cases.map((c) => c.name);
    expect(names.length).toBeGreaterThanOrEqual(25);
    for (const want of ['sgd_nesterov', 'sgd_dampening', 'adam_amsgrad', 'adamw', 'adam_weight_decay_clipNorm', 'adamw_globalClipNorm', 'sgd_momentum_weight_decay_clipValue', 'adamw_allClips'])
      expect(names).toContain(want);
    expect(updates.grads.some((row) => row.includes(null))).toBe(true);
  });

  for (const c of updates.cases) {
    for (const dtype of ['float64', 'float32'] as DType[]) {
      it(`${c.name} (${dtype})`, () => {
        const params = makeParams(updates, dtype);
        const opt = makeOptimizer(c, params);
        const got = runSteps(updates, c, opt, params, dtype);
        got.forEach((step, k) => step.forEach((values, i) => {
          const label = `${c.name} step ${k + 1} param ${i}`;
          if (dtype === 'float64') checkF64(label, values, c.f64[k][i]);
          else checkF32(label, values, c.f32[k][i], c.f64[k][i]);
        }));
      });
    }
  }
});

interface ClipCase { name: string; fn: 'clipGradNorm' | 'clipGradValue'; arg: number; step: number;
  f64: (number[] | null)[]; f32: (number[] | null)[]; f64Total?: number; f32Total?: number }

describe('clipGradNorm / clipGradValue against torch.nn.utils', () => {
  const file = loadFixture<Inputs & { cases: ClipCase[] }>('optim_clip.json');
  for (const c of file.cases) {
    for (const dtype of ['float64', 'float32'] as DType[]) {
      it(`${c.name} (${dtype})`, () => {
        const params = file.shapes.map((s) => tensor(new Array<number>(s.reduce((a, b) => a * b, 1)).fill(0), s, { dtype, requiresGrad: true }));
        setGrads(params, file.grads[c.step], dtype);
        const total = c.fn === 'clipGradNorm' ? optim.clipGradNorm(params, c.arg) : optim.clipGradValue(params, c.arg);
        params.forEach((p, i) => {
          const want = c.f64[i];
          if (want === null) { expect(p.grad).toBeNull(); return; }
          const label = `${c.name} param ${i}`;
          if (dtype === 'float64') checkF64(label, Array.from(p.grad!.data), want);
          else checkF32(label, Array.from(p.grad!.data), c.f32[i]!, want);
        });
        if (total !== undefined) {
          const tol = dtype === 'float64' ? 1e-14 : 1e-6;
          expect(Math.abs(total - c.f64Total!) / c.f64Total!, 'total norm').toBeLessThan(tol);
        }
      });
    }
  }
});

interface ScheduleCase { name: string; scheduler: 'StepLR' | 'ExponentialLR' | 'CosineAnnealingLR'; options: Record<string, number>;
  lr: number; chained: number[]; closed: number[] }

describe('learning-rate schedules against torch.optim.lr_scheduler', () => {
  const file = loadFixture<{ cases: ScheduleCase[] }>('optim_schedules.json');
  for (const c of file.cases) {
    it(c.name, () => {
      const opt = new optim.SGD([tensor([0], undefined, { requiresGrad: true })], { lr: c.lr });
      const sched = new (optim[c.scheduler] as new (o: optim.Optimizer, x: Record<string, number>) => optim.LRScheduler)(opt, c.options);
      const lrs = [sched.lastLr];
      for (let e = 1; e < c.closed.length; e++) { sched.step(); lrs.push(sched.lastLr); expect(opt.lr).toBe(sched.lastLr); }
      expect(sched.lastEpoch).toBe(c.closed.length - 1);
      lrs.forEach((lr, e) => {
        // closed form: the same formula, so equal to the last bits of pow/cos (1e-15 relative)
        expect(Math.abs(lr - c.closed[e]), `${c.name} epoch ${e} vs closed form ${c.closed[e]}`).toBeLessThanOrEqual(1e-15 * Math.abs(c.closed[e]) + 1e-300);
        // PyTorch's step() itself (chainable, recursive): equal up to accumulated rounding
        expect(Math.abs(lr - c.chained[e]), `${c.name} epoch ${e} vs PyTorch step() ${c.chained[e]}`).toBeLessThanOrEqual(1e-12 * Math.abs(c.chained[e]) + 1e-300);
      });
    });
  }
});
