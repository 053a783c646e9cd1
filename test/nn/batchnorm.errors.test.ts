import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { Rng, nn, ones, randn, tensor, zeros, type Tensor } from '../../src/index.js';

/* Bad input to BatchNorm: an error that names the shape or option at fault, and no state changed. */

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const shapeRe = (shape: number[]) => new RegExp(esc(`[${shape.join(', ')}]`));

/** Copies of every parameter and buffer, by state-dict name. */
function snapshot(m: nn.Module): Record<string, number[]> {
  return Object.fromEntries(Object.entries(m.stateDict()).map(([k, v]) => [k, Array.from(v.data)]));
}

/** A module with non-trivial running statistics (two training steps). */
function trained<T extends nn.BatchNorm>(bn: T, shape: number[]): T {
  const rng = new Rng(1);
  for (let i = 0; i < 2; i++) bn.forward(randn(shape, { rng, dtype: bn.runningMean?.dtype ?? 'float32' }).mul(2).add(1));
  return bn;
}

/** forward(x) must throw an error matching every pattern, and leave the module's state as it was. */
function expectRejected(bn: nn.BatchNorm, x: Tensor, ...patterns: RegExp[]): void {
  const before = snapshot(bn);
  let message = '';
  try { bn.forward(x); } catch (e) { message = (e as Error).message; }
  expect(message, `forward(${x.shape}) should throw`).not.toBe('');
  for (const p of patterns) expect(message).toMatch(p);
  expect(snapshot(bn)).toEqual(before);
}

describe('BatchNorm input shape errors', () => {
  it('wrong rank names the layer, the expected layout and the shape', () => {
    expectRejected(trained(new nn.BatchNorm1d(3), [4, 3]), randn([2, 3, 4, 5]), /BatchNorm1d/, /\[N, C\] or \[N, C, L\]/, shapeRe([2, 3, 4, 5]));
    expectRejected(trained(new nn.BatchNorm1d(3), [4, 3]), randn([3]), /BatchNorm1d/, shapeRe([3]));
    expectRejected(trained(new nn.BatchNorm2d(3), [2, 3, 2, 2]), randn([4, 3]), /BatchNorm2d/, /\[N, C, H, W\]/, shapeRe([4, 3]));
    expectRejected(trained(new nn.BatchNorm2d(3), [2, 3, 2, 2]), randn([2, 3, 4]), /BatchNorm2d/, shapeRe([2, 3, 4]));
  });

  it('wrong channel count names the expected count and the shape (train and eval)', () => {
    const bn = trained(new nn.BatchNorm1d(3), [4, 3]);
    expectRejected(bn, randn([4, 5]), /3 channels/, shapeRe([4, 5]));
    bn.eval();
    expectRejected(bn, randn([4, 2, 6]), /3 channels/, shapeRe([4, 2, 6]));
    expectRejected(trained(new nn.BatchNorm2d(2), [2, 2, 3, 3]), randn([2, 3, 3, 3]), /2 channels/, shapeRe([2, 3, 3, 3]));
  });

  it('one value per channel in training is an error naming the shape: [1, C], [1, C, 1], [1, C, 1, 1]', () => {
    expectRejected(trained(new nn.BatchNorm1d(3), [4, 3]), randn([1, 3]), /more than 1 value per channel/, shapeRe([1, 3]));
    expectRejected(trained(new nn.BatchNorm1d(3), [4, 3]), randn([1, 3, 1]), /more than 1 value per channel/, shapeRe([1, 3, 1]));
    expectRejected(trained(new nn.BatchNorm2d(3), [2, 3, 2, 2]), randn([1, 3, 1, 1]), /more than 1 value per channel/, shapeRe([1, 3, 1, 1]));
    // 'none' normalizes with batch statistics in eval too, so one value per channel is an error there as well
    const none = new nn.BatchNorm1d(3, { runningStats: 'none' }).eval();
    expectRejected(none, randn([1, 3]), /more than 1 value per channel/, shapeRe([1, 3]));
  });

  it('one value per channel is fine in eval, and with frozen statistics, where the running ones are used', () => {
    for (const bn of [trained(new nn.BatchNorm1d(3), [4, 3]), trained(new nn.BatchNorm2d(3), [2, 3, 2, 2])]) {
      const shape = bn instanceof nn.BatchNorm2d ? [1, 3, 1, 1] : [1, 3];
      const x = tensor([0.5, -1, 2], shape);
      const expected = [0, 1, 2].map((c) => (x.data[c] - bn.runningMean!.data[c]) / Math.sqrt(bn.runningVar!.data[c] + 1e-5));
      bn.freezeStats();
      const frozen = Array.from(bn.forward(x).data);
      bn.freezeStats(false).eval();
      const evaluated = Array.from(bn.forward(x).data);
      for (const y of [frozen, evaluated]) y.forEach((v, c) => expect(v).toBeCloseTo(expected[c], 5));
    }
  });

  it('dtype mismatch names both dtypes and the fix, and changes nothing', () => {
    const bn = trained(new nn.BatchNorm1d(3), [4, 3]);
    expectRejected(bn, randn([4, 3], { dtype: 'float64' }), /float64/, /float32/, /to\('float64'\)/);
    const bn64 = trained(new nn.BatchNorm2d(2, { dtype: 'float64' }), [2, 2, 2, 2]);
    expectRejected(bn64, randn([2, 2, 2, 2]), /float32/, /float64/);
    const noAffine = trained(new nn.BatchNorm1d(3, { affine: false }), [4, 3]);
    expectRejected(noAffine, randn([4, 3], { dtype: 'float64' }), /float64/, /float32/);
  });
});

describe('BatchNorm option errors', () => {
  let warn: MockInstance;
  beforeAll(() => { warn = vi.spyOn(console, 'warn').mockImplementation(() => {}); });
  afterAll(() => warn.mockRestore());

  it('eps ≤ 0 (or NaN) names eps and the value', () => {
    for (const eps of [0, -1e-5, NaN]) {
      expect(() => new nn.BatchNorm1d(3, { eps })).toThrow(new RegExp(`BatchNorm1d: eps must be > 0, got ${eps}`));
      expect(() => new nn.BatchNorm2d(3, { eps })).toThrow(/eps/);
      expect(() => nn.functional.batchNorm(randn([4, 3]), null, null, { training: true, eps })).toThrow(new RegExp(`eps must be > 0, got ${eps}`));
    }
  });

  it('momentum outside [0, 1] names momentum and the value: constructor, setter (value kept), functional', () => {
    for (const momentum of [-0.1, 1.5, NaN, Infinity]) {
      expect(() => new nn.BatchNorm1d(3, { momentum })).toThrow(new RegExp(`momentum must be in \\[0, 1\\], got ${momentum}`));
      const bn = new nn.BatchNorm2d(3, { momentum: 0.8 });
      expect(() => { bn.momentum = momentum; }).toThrow(/BatchNorm2d: momentum must be in \[0, 1\]/);
      expect(bn.momentum).toBe(0.8);
      expect(() => nn.functional.batchNorm(randn([4, 3]), zeros([3]), ones([3]), { training: true, momentum })).toThrow(/momentum must be in \[0, 1\]/);
    }
    for (const momentum of [0, 1]) expect(new nn.BatchNorm1d(2, { momentum }).momentum).toBe(momentum);
  });

  it('unknown runningStats names the value and the allowed ones', () => {
    // @ts-expect-error: not a RunningStats value
    expect(() => new nn.BatchNorm1d(3, { runningStats: 'exp' })).toThrow(/unknown runningStats 'exp'.*'ema', 'cumulative', 'none'/);
  });

  it('freezeStats with runningStats none is an error naming the option; unfreezing is fine', () => {
    const bn = new nn.BatchNorm1d(3, { runningStats: 'none' });
    expect(() => bn.freezeStats()).toThrow(/runningStats 'none'/);
    expect(bn.statsFrozen).toBe(false);
    expect(bn.freezeStats(false).statsFrozen).toBe(false);
  });

  it('bad numFeatures and dtype name the value', () => {
    for (const n of [0, -2, 2.5, NaN]) expect(() => new nn.BatchNorm1d(n)).toThrow(new RegExp(`numFeatures must be a positive integer, got ${n}`));
    // @ts-expect-error: not a DType
    expect(() => new nn.BatchNorm2d(3, { dtype: 'float16' })).toThrow(/float16/);
  });
});

describe('nn.functional.batchNorm argument errors', () => {
  it('names the argument and the shapes; running statistics are untouched', () => {
    const x = randn([4, 3, 2]);
    const rm = tensor([0.1, 0.2, 0.3]), rv = tensor([1, 2, 3]);
    const check = (f: () => unknown, re: RegExp) => {
      expect(f).toThrow(re);
      expect(Array.from(rm.data)).toEqual(Array.from(tensor([0.1, 0.2, 0.3]).data));
      expect(Array.from(rv.data)).toEqual([1, 2, 3]);
    };
    check(() => nn.functional.batchNorm(x, null, null), /training: false\) needs runningMean and runningVar/);
    check(() => nn.functional.batchNorm(x, rm, null, { training: true }), /both runningMean and runningVar/);
    check(() => nn.functional.batchNorm(x, rm, tensor([1, 2]), { training: true }), /runningVar has shape \[2\] but the input \[4, 3, 2\] has 3 channels/);
    check(() => nn.functional.batchNorm(x, rm, rv, { training: true, weight: ones([4]) }), /weight has shape \[4\]/);
    check(() => nn.functional.batchNorm(x, rm, rv, { training: true, bias: ones([3], { dtype: 'float64' }) }), /bias is float64 but the input is float32/);
    check(() => nn.functional.batchNorm(randn([1, 3]), rm, rv, { training: true }), /more than 1 value per channel.*\[1, 3\]/);
    check(() => nn.functional.batchNorm(randn([5]), rm, rv, { training: true }), /rank ≥ 2, got shape \[5\]/);
  });
});
