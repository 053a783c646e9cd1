import { describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '../../src/index.js';
import * as optim from '../../src/optim/index.js';

/* Option validation: every error names the class and the option (or parameter) at fault. */

const ps = (): Tensor[] => [tensor([1, 2], undefined, { requiresGrad: true })];
// Options as plain JavaScript would pass them (wrong types included).
type Loose = Record<string, unknown>;
const sgd = (o: Loose) => () => new optim.SGD(ps(), o as unknown as optim.SGDOptions);
const adam = (o: Loose) => () => new optim.Adam(ps(), o as optim.AdamOptions);
const adamw = (o: Loose) => () => new optim.AdamW(ps(), o as optim.AdamOptions);

describe('optimizer options', () => {
  it('SGD: lr is required and ≥ 0', () => {
    expect(() => new (optim.SGD as unknown as new (p: Tensor[]) => unknown)(ps())).toThrow(/SGD: option lr is required/);
    expect(sgd({})).toThrow(/SGD: option lr is required/);
    expect(sgd({ lr: -0.1 })).toThrow(/SGD: option lr must be a finite number ≥ 0, got -0.1/);
    expect(sgd({ lr: NaN })).toThrow(/option lr .* got NaN/);
    expect(sgd({ lr: '0.1' })).toThrow(/option lr .* got "0.1"/);
    expect(sgd({ lr: 0 })).not.toThrow();
  });

  it('SGD: momentum, dampening, weightDecay ≥ 0; nesterov needs momentum > 0 and dampening 0', () => {
    expect(sgd({ lr: 1, momentum: -0.9 })).toThrow(/SGD: option momentum must be/);
    expect(sgd({ lr: 1, dampening: -1 })).toThrow(/SGD: option dampening must be/);
    expect(sgd({ lr: 1, weightDecay: -1e-4 })).toThrow(/SGD: option weightDecay must be/);
    expect(sgd({ lr: 1, nesterov: true })).toThrow(/SGD: option nesterov requires momentum > 0 and dampening 0, got momentum 0/);
    expect(sgd({ lr: 1, nesterov: true, momentum: 0.9, dampening: 0.1 })).toThrow(/nesterov requires .* dampening 0.1/);
    expect(sgd({ lr: 1, nesterov: 1, momentum: 0.9 })).toThrow(/SGD: option nesterov must be true or false/);
    expect(sgd({ lr: 1, nesterov: true, momentum: 0.9 })).not.toThrow();
  });

  it('Adam/AdamW: betas in [0, 1), eps > 0, weightDecay ≥ 0, amsgrad boolean', () => {
    for (const [name, make] of [['Adam', adam], ['AdamW', adamw]] as const) {
      expect(make({ betas: [1, 0.999] })).toThrow(new RegExp(`${name}: option betas\\[0\\] must be in \\[0, 1\\), got 1`));
      expect(make({ betas: [0.9, -0.1] })).toThrow(/option betas\[1\] must be in \[0, 1\), got -0.1/);
      expect(make({ betas: [0.9] })).toThrow(/option betas must be a pair \[beta1, beta2\], got \[0.9\]/);
      expect(make({ eps: 0 })).toThrow(new RegExp(`${name}: option eps must be a finite number > 0, got 0`));
      expect(make({ weightDecay: -1 })).toThrow(/option weightDecay must be a finite number ≥ 0/);
      expect(make({ lr: -1 })).toThrow(/option lr must be/);
      expect(make({ amsgrad: 'yes' })).toThrow(/option amsgrad must be true or false/);
      expect(make({ betas: [0, 0] })).not.toThrow();
    }
    expect(new optim.Adam(ps()).weightDecay).toBe(0);
    expect(new optim.AdamW(ps()).weightDecay).toBe(1e-2);
    const a = new optim.Adam(ps());
    expect([a.lr, [...a.betas], a.eps, a.amsgrad]).toEqual([1e-3, [0.9, 0.999], 1e-8, false]);
  });

  it('clipping thresholds must be > 0, on every optimizer', () => {
    for (const [name, make] of [['SGD', (o: Loose) => sgd({ lr: 1, ...o })], ['Adam', adam], ['AdamW', adamw]] as const) {
      for (const opt of ['clipValue', 'clipNorm', 'globalClipNorm']) {
        expect(make({ [opt]: 0 })).toThrow(new RegExp(`${name}: option ${opt} must be a finite number > 0, got 0`));
        expect(make({ [opt]: -1 })).toThrow(new RegExp(`option ${opt} must be`));
        expect(make({ [opt]: Infinity })).toThrow(new RegExp(`option ${opt} must be`));
        expect(make({ [opt]: 1 })).not.toThrow();
      }
    }
  });

  it('an option given as undefined takes its default (as a CLI passes unset flags)', () => {
    const s = new optim.SGD(ps(), { lr: 0.1, momentum: undefined, nesterov: undefined, clipValue: undefined, clipNorm: undefined, globalClipNorm: undefined });
    expect([s.momentum, s.nesterov, s.clipValue, s.clipNorm, s.globalClipNorm]).toEqual([0, false, undefined, undefined, undefined]);
    const a = new optim.AdamW(ps(), { lr: undefined, weightDecay: undefined, betas: undefined });
    expect([a.lr, a.weightDecay, [...a.betas]]).toEqual([1e-3, 1e-2, [0.9, 0.999]]);
  });

  it('unknown options are refused, with a hint for PyTorch spellings', () => {
    expect(sgd({ lr: 1, weight_decay: 0.1 })).toThrow(/SGD: unknown option 'weight_decay' \(did you mean 'weightDecay'\?\); valid options: lr, momentum/);
    expect(adam({ clipnorm: 1, foo: 2 })).toThrow(/Adam: unknown options 'clipnorm' \(did you mean 'clipNorm'\?\), 'foo';/);
  });

  it('params: a non-empty iterable of distinct leaf tensors', () => {
    expect(() => new optim.SGD([], { lr: 1 })).toThrow(/SGD: got an empty parameter list/);
    expect(() => new optim.Adam([1 as unknown as Tensor])).toThrow(/Adam: parameter 0 is not a Tensor/);
    expect(() => new optim.Adam(null as unknown as Tensor[])).toThrow(/Adam: params must be an array or iterable of Tensors/);
    const p = ps()[0];
    expect(() => new optim.SGD([p, p], { lr: 1 })).toThrow(/SGD: parameter 1 \(shape \[2\]\) appears more than once/);
    expect(() => new optim.SGD([p.mul(2)], { lr: 1 })).toThrow(/SGD: parameter 0 \(shape \[2\]\) is not a leaf tensor/);
    const gen = function* () { yield p; };
    expect(new optim.SGD(gen(), { lr: 1 }).params).toEqual([p]);
  });

  it('the lr setter validates and keeps the old value on error', () => {
    const o = new optim.SGD(ps(), { lr: 0.1 });
    o.lr = 0.05;
    expect(o.lr).toBe(0.05);
    expect(() => { o.lr = -1; }).toThrow(/SGD: option lr must be a finite number ≥ 0, got -1/);
    expect(o.lr).toBe(0.05);
  });

  it('a grad of the wrong shape or dtype is refused when assigned (as PyTorch), naming both', () => {
    const [p] = ps();
    const o = new optim.SGD([p], { lr: 1 });
    expect(() => { p.grad = tensor([1, 2, 3]); }).toThrow(/grad: a gradient of shape \[3\] \(float32\) does not fit a tensor of shape \[2\] \(float32\)/);
    expect(() => { p.grad = tensor([[1, 2]]); }).toThrow(/shape \[1, 2\] \(float32\) does not fit a tensor of shape \[2\]/);
    expect(() => { p.grad = tensor([1, 2], undefined, { dtype: 'float64' }); }).toThrow(/\[2\] \(float64\) does not fit a tensor of shape \[2\] \(float32\)/);
    expect(p.grad).toBe(null);
    o.step(); // no gradient: nothing happens
    expect(Array.from(p.data)).toEqual([1, 2]);
  });

  it('clipGradNorm / clipGradValue validate their threshold', () => {
    expect(() => optim.clipGradNorm(ps(), 0)).toThrow(/clipGradNorm: option maxNorm must be a finite number > 0, got 0/);
    expect(() => optim.clipGradValue(ps(), -1)).toThrow(/clipGradValue: option clipValue must be/);
    expect(() => optim.clipGradNorm([3 as unknown as Tensor], 1)).toThrow(/clipGradNorm: parameter 0 is not a Tensor/);
  });
});

describe('scheduler options', () => {
  const opt = () => new optim.SGD(ps(), { lr: 0.1 });
  it('names the option at fault', () => {
    expect(() => new optim.StepLR(opt(), { stepSize: 0 })).toThrow(/StepLR: option stepSize must be a positive integer, got 0/);
    expect(() => new optim.StepLR(opt(), { stepSize: 1.5 })).toThrow(/option stepSize must be a positive integer, got 1.5/);
    expect(() => new optim.StepLR(opt(), { stepSize: 2, gamma: -0.1 })).toThrow(/StepLR: option gamma must be a finite number ≥ 0/);
    expect(() => new optim.ExponentialLR(opt(), {} as { gamma: number })).toThrow(/ExponentialLR: option gamma must be a finite number ≥ 0, got undefined/);
    expect(() => new optim.CosineAnnealingLR(opt(), { tMax: 0 })).toThrow(/CosineAnnealingLR: option tMax must be a positive integer/);
    expect(() => new optim.CosineAnnealingLR(opt(), { tMax: 5, etaMin: -1 })).toThrow(/CosineAnnealingLR: option etaMin must be/);
    expect(() => new optim.CosineAnnealingLR(opt(), { T_max: 5 } as unknown as { tMax: number })).toThrow(/unknown option 'T_max' \(did you mean 'tMax'\?\)/);
    expect(() => new optim.StepLR({ lr: 0.1 } as unknown as optim.Optimizer, { stepSize: 1 })).toThrow(/StepLR: the first argument must be an optimizer/);
  });

  it('creating a scheduler leaves the learning rate alone', () => {
    const o = opt();
    const s = new optim.CosineAnnealingLR(o, { tMax: 10, etaMin: 0.001 });
    expect([o.lr, s.lastLr, s.baseLr, s.lastEpoch]).toEqual([0.1, 0.1, 0.1, 0]);
  });
});
