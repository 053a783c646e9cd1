import { describe, expect, it } from 'vitest';
import { manualSeed, nn, randn, tensor, type Tensor } from '../../src/index.js';
import * as optim from '../../src/optim/index.js';

/* Skipping parameters without grad, zeroGrad, and the documented examples run on a real model. */

const param = (values: number[]) => tensor(values, undefined, { dtype: 'float64', requiresGrad: true });
const grad = (values: number[]) => tensor(values, undefined, { dtype: 'float64' });

describe('parameters without a gradient', () => {
  it('are skipped: no update, no state, no weight decay, no step count', () => {
    for (const make of [
      (ps: Tensor[]) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9, weightDecay: 0.1 }),
      (ps: Tensor[]) => new optim.Adam(ps, { weightDecay: 0.1 }),
      (ps: Tensor[]) => new optim.AdamW(ps, { weightDecay: 0.1 }),
    ]) {
      const a = param([1, 2]), b = param([3, 4]), frozen = tensor([5], undefined, { dtype: 'float64' });
      const opt = make([a, b, frozen]);
      a.grad = grad([0.5, -0.5]);
      opt.step();
      opt.step();
      expect(Array.from(b.data)).toEqual([3, 4]);
      expect(Array.from(frozen.data)).toEqual([5]);
      expect(Array.from(a.data)).not.toEqual([1, 2]);
      expect(opt.stateDict().state.slice(1)).toEqual([null, null]);
      if (opt instanceof optim.Adam) expect(opt.stateDict().state[0]!.step).toBe(2);
    }
  });

  it('a parameter that gets its gradient later starts its state then (Adam bias correction from t = 1)', () => {
    const a = param([1]), late = param([1]), alone = param([1]);
    const opt = new optim.Adam([a, late], { lr: 0.1 });
    a.grad = grad([1]);
    opt.step(); opt.step();
    late.grad = grad([2]);
    opt.step();
    // the first Adam step moves by lr·sign(g) (m̂ = g, v̂ = g²), whatever the optimizer's other parameters did
    const ref = new optim.Adam([alone], { lr: 0.1 });
    alone.grad = grad([2]);
    ref.step();
    expect(late.data[0]).toBe(alone.data[0]);
    expect(opt.stateDict().state.map((s) => s!.step)).toEqual([3, 1]);
  });
});

describe('zeroGrad', () => {
  it('sets gradients to null by default, or fills them with zeros', () => {
    const a = param([1, 2]), b = param([3]);
    const opt = new optim.SGD([a, b], { lr: 0.1 });
    a.grad = grad([1, 1]);
    opt.zeroGrad();
    expect([a.grad, b.grad]).toEqual([null, null]);
    a.grad = grad([1, 1]);
    const g = a.grad;
    opt.zeroGrad(false);
    expect(a.grad).toBe(g);
    expect(Array.from(a.grad!.data)).toEqual([0, 0]);
    expect(b.grad).toBeNull();
    opt.step(); // a zero gradient is still a gradient: SGD without decay leaves the value
    expect(Array.from(a.data)).toEqual([1, 2]);
  });

  it('gradients accumulate across backward calls until zeroGrad, as in PyTorch', () => {
    const w = param([2]);
    const opt = new optim.SGD([w], { lr: 1 });
    w.mul(w).sum().backward();
    w.mul(w).sum().backward();
    expect(w.grad!.item()).toBe(8);
    opt.zeroGrad();
    w.mul(3).sum().backward();
    opt.step();
    expect(w.data[0]).toBe(-1);
  });
});

describe('documented examples', () => {
  it('SGD with clipNorm and a schedule trains the DESIGN.md network (loss goes down)', () => {
    manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(20, 16), new nn.BatchNorm1d(16), new nn.Sigmoid(), new nn.Linear(16, 3));
    const x = randn([60, 20]);
    const labels = Array.from({ length: 60 }, (_, i) => (x.data[i * 20] > 0 ? 0 : x.data[i * 20 + 1] > 0 ? 1 : 2));
    const opt = new optim.SGD(model.parameters(), { lr: 0.5, momentum: 0.9, clipNorm: 5 });
    const sched = new optim.StepLR(opt, { stepSize: 30 });
    const losses: number[] = [];
    for (let step = 0; step < 60; step++) {
      const loss = nn.functional.crossEntropy(model.forward(x), labels);
      opt.zeroGrad(); loss.backward(); opt.step(); sched.step();
      losses.push(loss.item());
    }
    expect(opt.lr).toBeCloseTo(0.005, 15);
    expect(losses[59]).toBeLessThan(0.5 * losses[0]);
  });

  it('Adam / AdamW with clipGradNorm fit a linear map (mseLoss)', () => {
    for (const Opt of [optim.Adam, optim.AdamW]) {
      manualSeed(1);
      const model = new nn.Linear(4, 2);
      const x = randn([32, 4]);
      const y = x.matmul(tensor([[1, -1], [0.5, 2], [0, 1], [-2, 0]]));
      const opt = new Opt(model.parameters(), { lr: 0.05, globalClipNorm: 1 });
      const sched = new optim.CosineAnnealingLR(opt, { tMax: 200, etaMin: 1e-3 });
      let first = 0, last = 0;
      for (let step = 0; step < 200; step++) {
        opt.zeroGrad();
        const loss = nn.functional.mseLoss(model.forward(x), y);
        loss.backward();
        const norm = optim.clipGradNorm(model.parameters(), 10);
        expect(Number.isFinite(norm)).toBe(true);
        opt.step(); sched.step();
        if (step === 0) first = loss.item();
        last = loss.item();
      }
      expect(last).toBeLessThan(0.02 * first);
    }
  });
});
