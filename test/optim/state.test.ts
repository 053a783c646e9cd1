import { describe, expect, it } from 'vitest';
import { tensor, type DType } from '../../src/index.js';
import * as optim from '../../src/optim/index.js';
import { loadFixture, makeOptimizer, makeParams, runSteps, type UpdatesFile } from './fixture.js';

/*
 * Checkpoints: stateDict() → JSON → loadStateDict() on a fresh optimizer over fresh parameters (restored to the
 * saved values) continues bit for bit like the uninterrupted run. Invalid states are refused and change nothing.
 */

const file = loadFixture<UpdatesFile>('optim_updates.json');
const byName = (n: string) => file.cases.find((c) => c.name === n)!;

/** A JSON round trip, typed arrays written as number arrays. */
function viaJson<T>(x: T): T {
  return JSON.parse(JSON.stringify(x, (_, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v))) as T;
}

describe('optimizer stateDict / loadStateDict', () => {
  // Saved after 2 steps: parameter 3 has had no gradient yet (null state), parameter 1 has none at step 3.
  const cases = ['sgd_nesterov_weight_decay', 'sgd_dampening', 'adam_amsgrad_weight_decay', 'adamw_allClips', 'sgd_momentum_lr_changes', 'adam_lr_changes'];
  for (const name of cases) {
    for (const dtype of ['float64', 'float32'] as DType[]) {
      it(`${name} (${dtype}): save after 2 steps, restore, continue identically`, () => {
        const c = byName(name);
        const ref = makeParams(file, dtype);
        const whole = runSteps(file, c, makeOptimizer(c, ref), ref, dtype);

        const params = makeParams(file, dtype);
        const first = makeOptimizer(c, params);
        runSteps(file, c, first, params, dtype, 0, 2);
        // through JSON (buffers as number arrays) for even cases, through structuredClone (typed arrays) otherwise
        const saved = cases.indexOf(name) % 2 === 0 ? viaJson(first.stateDict()) : structuredClone(first.stateDict());
        expect(saved.state[3]).toBeNull();
        const values = params.map((p) => Array.from(p.data));

        const fresh = makeParams(file, dtype);
        fresh.forEach((p, i) => p.data.set(values[i]));
        const second = makeOptimizer({ ...c, options: { ...c.options, lr: 12345 } }, fresh);
        second.loadStateDict(saved);
        expect(second.lr).toBe(first.lr);
        const rest = runSteps(file, c, second, fresh, dtype, 2);
        expect(rest).toEqual(whole.slice(2));
      });
    }
  }

  it('holds PyTorch names, plain numbers and copies (not views)', () => {
    const c = byName('adam_amsgrad');
    const params = makeParams(file, 'float32');
    const opt = makeOptimizer(c, params);
    runSteps(file, c, opt, params, 'float32', 0, 3);
    const sd = opt.stateDict();
    expect(sd.optimizer).toBe('Adam');
    expect(sd.options).toMatchObject({ betas: [0.8, 0.99], eps: 1e-8, weightDecay: 0, amsgrad: true });
    expect(Object.keys(sd.state[0]!)).toEqual(['step', 'exp_avg', 'exp_avg_sq', 'max_exp_avg_sq']);
    expect(sd.state.map((s) => s?.step ?? null)).toEqual([3, 2, 3, 1]); // parameter 1 had no grad at step 3
    const m = sd.state[0]!.exp_avg as Float32Array;
    expect(m).toBeInstanceOf(Float32Array);
    expect(m.length).toBe(12);
    const copy = Array.from(m);
    opt.step();
    expect(Array.from(m)).toEqual(copy); // a copy: the optimizer's next step does not change it
    expect(Array.from(opt.stateDict().state[0]!.exp_avg as Float32Array)).not.toEqual(copy);
    const s = new optim.SGD(makeParams(file, 'float64'), { lr: 0.1, momentum: 0.9 });
    expect(s.stateDict()).toEqual({ optimizer: 'SGD', lr: 0.1, options: expect.any(Object), state: [null, null, null, null] });
  });

  it('refuses mismatched states with a clear error and changes nothing', () => {
    const c = byName('sgd_momentum');
    const params = makeParams(file, 'float64');
    const opt = makeOptimizer(c, params);
    runSteps(file, c, opt, params, 'float64', 0, 2);
    const good = opt.stateDict();
    const before = JSON.stringify(opt.stateDict());
    const bad: [unknown, RegExp][] = [
      [null, /SGD.loadStateDict: expected an object/],
      [{ ...good, optimizer: 'Adam' }, /SGD.loadStateDict: the state is from Adam, this optimizer is SGD/],
      [{ ...good, lr: -1 }, /SGD.loadStateDict: option lr must be/],
      [{ ...good, state: good.state.slice(1) }, /the state holds 3 entries, this optimizer has 4 parameters/],
      [{ ...good, state: [{}, ...good.state.slice(1)] }, /state\[0\] misses momentum_buffer/],
      [{ ...good, state: [{ ...good.state[0], exp_avg: [1] }, ...good.state.slice(1)] }, /state\[0\] has unexpected exp_avg/],
      [{ ...good, state: [{ momentum_buffer: [1, 2] }, ...good.state.slice(1)] }, /state\[0\].momentum_buffer has 2 values, parameter 0 has shape \[3, 4\] \(12 values\)/],
      [{ ...good, state: [{ momentum_buffer: new Array(12).fill('x') }, ...good.state.slice(1)] }, /state\[0\].momentum_buffer\[0\] is not a number/],
      // the last entry is bad: the earlier, valid ones must not have been written either
      [{ ...good, lr: 7, state: [...good.state.slice(0, 3), { momentum_buffer: 3 }] }, /state\[3\].momentum_buffer has no values/],
    ];
    for (const [sd, msg] of bad) {
      expect(() => opt.loadStateDict(sd as optim.OptimizerStateDict)).toThrow(msg);
      expect(JSON.stringify(opt.stateDict())).toBe(before);
    }
    // momentum buffers do not fit an SGD without momentum; Adam's without amsgrad do not fit amsgrad
    expect(() => new optim.SGD(makeParams(file, 'float64'), { lr: 0.1 }).loadStateDict(good)).toThrow(/state\[0\] has unexpected momentum_buffer \(this optimizer's options need no state\)/);
    const a = new optim.Adam(makeParams(file, 'float64'));
    a.params.forEach((p) => { p.grad = tensor(new Array(p.size).fill(1), p.shape, { dtype: 'float64' }); });
    a.step();
    expect(() => new optim.Adam(makeParams(file, 'float64'), { amsgrad: true }).loadStateDict(a.stateDict())).toThrow(/state\[0\] misses max_exp_avg_sq/);
    expect(() => new optim.AdamW(makeParams(file, 'float64')).loadStateDict(a.stateDict())).toThrow(/the state is from Adam, this optimizer is AdamW/);
  });
});

describe('scheduler stateDict / loadStateDict', () => {
  for (const make of [
    (o: optim.Optimizer) => new optim.StepLR(o, { stepSize: 3, gamma: 0.5 }),
    (o: optim.Optimizer) => new optim.ExponentialLR(o, { gamma: 0.9 }),
    (o: optim.Optimizer) => new optim.CosineAnnealingLR(o, { tMax: 10, etaMin: 0.001 }),
  ]) {
    const p = () => [tensor([0], undefined, { requiresGrad: true })];
    it(`${make(new optim.SGD(p(), { lr: 1 })).name}: restore at epoch 7 and continue identically`, () => {
      const o1 = new optim.SGD(p(), { lr: 0.1 }), s1 = make(o1);
      const whole: number[] = [];
      for (let e = 0; e < 15; e++) { s1.step(); whole.push(o1.lr); }
      const o2 = new optim.SGD(p(), { lr: 0.1 }), s2 = make(o2);
      for (let e = 0; e < 7; e++) s2.step();
      const saved = JSON.parse(JSON.stringify(s2.stateDict())) as optim.SchedulerStateDict;
      const o3 = new optim.SGD(p(), { lr: 5 }), s3 = make(o3);
      s3.loadStateDict(saved);
      expect([s3.lastEpoch, s3.baseLr, o3.lr, s3.lastLr]).toEqual([7, 0.1, whole[6], whole[6]]);
      const rest: number[] = [];
      for (let e = 7; e < 15; e++) { s3.step(); rest.push(o3.lr); }
      expect(rest).toEqual(whole.slice(7));
      expect(() => s3.loadStateDict({ ...saved, scheduler: 'Other' })).toThrow(/loadStateDict: the state is from Other, this scheduler is/);
      expect(() => s3.loadStateDict({ ...saved, lastEpoch: -1 })).toThrow(/lastEpoch must be an integer ≥ 0, got -1/);
      expect(s3.lastEpoch).toBe(15);
    });
  }
});
