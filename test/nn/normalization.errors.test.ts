import { afterEach, describe, expect, it, vi } from 'vitest';
import { nn, randn, tensor, type Tensor } from '../../src/index.js';
import { resetWarnings } from '../../src/warn.js';

/* Bad input to LayerNorm, GroupNorm, InstanceNorm: an error that names the shape or option at fault; no state changed. */

const F = nn.functional;
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const shapeRe = (shape: number[]) => new RegExp(esc(`[${shape.join(', ')}]`));
const snapshot = (m: nn.Module) => Object.fromEntries(Object.entries(m.stateDict()).map(([k, v]) => [k, [...v.data]]));

/** f() must throw an error matching every pattern. */
function expectThrows(f: () => unknown, ...patterns: RegExp[]): void {
  let message = '';
  try { f(); } catch (e) { message = (e as Error).message; }
  expect(message, 'should throw').not.toBe('');
  for (const p of patterns) expect(message).toMatch(p);
}

/** forward(x) must throw (every pattern) and leave the module's state as it was. */
function expectRejected(m: nn.Module, x: Tensor, ...patterns: RegExp[]): void {
  const before = snapshot(m);
  expectThrows(() => m.forward(x), ...patterns);
  expect(snapshot(m)).toEqual(before);
}

describe('LayerNorm errors', () => {
  it('input whose trailing axes do not match normalizedShape: names both shapes', () => {
    expectRejected(new nn.LayerNorm([4, 5]), randn([2, 3, 5]), /LayerNorm\(\[4, 5\]\)/, /normalizedShape \[4, 5\]/, shapeRe([2, 3, 5]));
    expectRejected(new nn.LayerNorm([4, 5]), randn([2, 5, 4]), /normalizedShape \[4, 5\]/, shapeRe([2, 5, 4]));
    expectRejected(new nn.LayerNorm(6), randn([6, 5]), /normalizedShape \[6\]/, shapeRe([6, 5]));
    expectRejected(new nn.LayerNorm([2, 3, 4]), randn([3, 4]), /normalizedShape \[2, 3, 4\]/, shapeRe([3, 4])); // rank too small
    expectThrows(() => F.layerNorm(randn([2, 3]), [4]), /layerNorm/, /normalizedShape \[4\]/, shapeRe([2, 3]));
  });

  it('invalid normalizedShape, eps, dtype at construction', () => {
    for (const s of [[], [0], [3, -1], 2.5, [2, Number.NaN]]) expectThrows(() => new nn.LayerNorm(s as number[]), /LayerNorm: normalizedShape must be a positive integer/);
    expectThrows(() => new nn.LayerNorm(3, { eps: 0 }), /eps must be > 0, got 0/);
    expectThrows(() => new nn.LayerNorm(3, { dtype: 'int8' as 'float32' }), /unknown dtype 'int8'/);
  });

  it('functional: weight/bias of the wrong shape or dtype name them and the shapes', () => {
    const x = randn([2, 3, 4]);
    expectThrows(() => F.layerNorm(x, [3, 4], { weight: randn([4]) }), /weight has shape \[4\]/, /needs \[3, 4\]/);
    expectThrows(() => F.layerNorm(x, 4, { bias: randn([3, 4]) }), /bias has shape \[3, 4\]/, /needs \[4\]/);
    expectThrows(() => F.layerNorm(x, 4, { weight: randn([4], { dtype: 'float64' }) }), /weight is float64 but the input is float32/);
  });

  it('dtype mismatch between input and module names both and the fix', () => {
    expectRejected(new nn.LayerNorm(4), randn([2, 4], { dtype: 'float64' }), /float64/, /float32/, /to\('float64'\)/);
  });
});

describe('GroupNorm errors', () => {
  it('channels not divisible by groups: at construction, naming both', () => {
    expectThrows(() => new nn.GroupNorm(4, 6), /GroupNorm: numChannels 6 must be divisible by numGroups 4/);
    expectThrows(() => new nn.GroupNorm(0, 6), /numGroups must be a positive integer, got 0/);
    expectThrows(() => new nn.GroupNorm(2, 3.5), /numChannels must be a positive integer, got 3.5/);
    expectThrows(() => new nn.GroupNorm(2, 4, { eps: -1 }), /eps must be > 0, got -1/);
    expectThrows(() => F.groupNorm(randn([2, 6, 3]), 4), /groupNorm/, /6 channels/, shapeRe([2, 6, 3]), /numGroups 4/);
    expectThrows(() => F.groupNorm(randn([2, 6, 3]), 0), /numGroups 0/);
  });

  it('input channels ≠ numChannels, or rank < 2, name the shape', () => {
    expectRejected(new nn.GroupNorm(2, 4), randn([2, 6, 3]), /GroupNorm\(2, 4\)/, /expected 4 channels/, shapeRe([2, 6, 3]));
    expectRejected(new nn.GroupNorm(2, 4), randn([4]), /rank ≥ 2/, shapeRe([4]));
    expectThrows(() => F.groupNorm(randn([4]), 2), /rank ≥ 2/, shapeRe([4]));
  });

  it('functional: γ of the wrong length; dtype mismatch with the module', () => {
    expectThrows(() => F.groupNorm(randn([2, 4, 3]), 2, { weight: randn([2]) }), /weight has shape \[2\]/, shapeRe([2, 4, 3]), /needs \[4\]/);
    expectRejected(new nn.GroupNorm(2, 4, { dtype: 'float64' }), randn([2, 4, 3]), /float32/, /float64/);
  });
});

describe('InstanceNorm errors', () => {
  afterEach(() => vi.restoreAllMocks());

  /** A tracking InstanceNorm with non-trivial running statistics. */
  function tracked<T extends nn.InstanceNorm>(m: T, shape: number[]): T {
    m.forward(randn(shape).mul(2).add(1));
    return m;
  }

  it('wrong rank names the layer, the expected layouts and the shape', () => {
    expectRejected(tracked(new nn.InstanceNorm2d(3, { trackRunningStats: true, affine: true }), [2, 3, 4, 4]), randn([2, 3]), /InstanceNorm2d\(3\)/, /\[N, C, H, W\] or \[C, H, W\]/, shapeRe([2, 3]));
    expectRejected(new nn.InstanceNorm2d(3), randn([2, 3, 4, 4, 2]), /InstanceNorm2d/, shapeRe([2, 3, 4, 4, 2]));
    expectRejected(tracked(new nn.InstanceNorm1d(3, { trackRunningStats: true }), [2, 3, 5]), randn([2, 3, 4, 4]), /InstanceNorm1d\(3\)/, /\[N, C, L\] or \[C, L\]/, shapeRe([2, 3, 4, 4]));
    expectRejected(new nn.InstanceNorm1d(3), randn([3]), /InstanceNorm1d/, shapeRe([3]));
  });

  it('channel count ≠ numFeatures (batched and unbatched) names the count and the shape', () => {
    const m = tracked(new nn.InstanceNorm1d(3, { trackRunningStats: true }), [2, 3, 5]);
    expectRejected(m, randn([2, 4, 5]), /expected 3 channels/, shapeRe([2, 4, 5]));
    expectRejected(m, randn([4, 5]), /expected 3 channels/, shapeRe([4, 5]));
    expectRejected(new nn.InstanceNorm2d(2), randn([1, 3, 2, 2]), /expected 2 channels/, shapeRe([1, 3, 2, 2]));
  });

  it('one spatial element with instance statistics is an error (PyTorch\'s); fine in eval with tracked statistics', () => {
    const m = tracked(new nn.InstanceNorm1d(3, { trackRunningStats: true }), [2, 3, 5]);
    expectRejected(m, randn([4, 3, 1]), /more than 1 spatial element/, shapeRe([4, 3, 1]));
    expectRejected(new nn.InstanceNorm2d(3).eval(), randn([2, 3, 1, 1]), /more than 1 spatial element/, shapeRe([2, 3, 1, 1]));
    m.eval();
    expect(m.forward(randn([4, 3, 1])).shape).toEqual([4, 3, 1]);
  });

  it('options: numFeatures, eps, momentum out of range; momentum < 0.5 warns once (the PyTorch mix-up)', () => {
    expectThrows(() => new nn.InstanceNorm1d(0), /numFeatures must be a positive integer, got 0/);
    expectThrows(() => new nn.InstanceNorm1d(3, { eps: 0 }), /eps must be > 0/);
    expectThrows(() => new nn.InstanceNorm2d(3, { momentum: 1.5 }), /InstanceNorm2d: momentum must be in \[0, 1\], got 1.5/);
    resetWarnings();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    new nn.InstanceNorm1d(3, { momentum: 0.1 }); // no running statistics: the momentum is unused, no warning
    expect(warn).not.toHaveBeenCalled();
    new nn.InstanceNorm1d(3, { momentum: 0.1, trackRunningStats: true });
    new nn.InstanceNorm2d(3, { momentum: 0.1, trackRunningStats: true });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/momentum 0.1 < 0.5.*momentum=0.9 here/);
  });

  it('dtype mismatch names both dtypes', () => {
    expectRejected(tracked(new nn.InstanceNorm1d(2, { trackRunningStats: true }), [2, 2, 3]), randn([2, 2, 3], { dtype: 'float64' }), /float64/, /float32/);
  });

  it('functional: running statistics half given, missing for useInputStats false, or of the wrong shape; state unchanged', () => {
    const x = randn([2, 3, 4]), rm = tensor([0, 0, 0]), rv = tensor([1, 1, 1]);
    expectThrows(() => F.instanceNorm(x, { runningMean: rm }), /both runningMean and runningVar/);
    expectThrows(() => F.instanceNorm(x, { useInputStats: false }), /useInputStats false needs runningMean and runningVar/);
    expectThrows(() => F.instanceNorm(x, { runningMean: tensor([0, 0]), runningVar: tensor([1, 1]) }), /runningMean has shape \[2\]/, shapeRe([2, 3, 4]));
    expectThrows(() => F.instanceNorm(x, { runningMean: rm, runningVar: rv, momentum: -0.1 }), /momentum must be in \[0, 1\]/);
    expectThrows(() => F.instanceNorm(randn([2, 3, 1]), { runningMean: rm, runningVar: rv }), /more than 1 spatial element/);
    expect([...rm.data, ...rv.data]).toEqual([0, 0, 0, 1, 1, 1]);
  });
});
