import { describe, expect, it } from 'vitest';
import { Rng, manualSeed, nn, zeros, type Tensor } from '../../src/index.js';

/* nn.init: fans, gains, and the sample statistics of every initializer against its formula (PyTorch's). */

const { init } = nn;

function moments(t: Tensor): { mean: number; variance: number; min: number; max: number } {
  let s = 0, min = Infinity, max = -Infinity;
  for (const v of t.data) { s += v; min = Math.min(min, v); max = Math.max(max, v); }
  const mean = s / t.size;
  let q = 0;
  for (const v of t.data) q += (v - mean) ** 2;
  return { mean, variance: q / t.size, min, max };
}

/** Sample mean and variance within 5 standard errors of N(μ, σ²)'s (se of s² is σ²·√(2/n)). */
function expectNormal(t: Tensor, mu: number, sigma: number, label: string): void {
  const n = t.size, m = moments(t);
  expect(Math.abs(m.mean - mu), `${label} mean ${m.mean}`).toBeLessThan(5 * sigma / Math.sqrt(n));
  expect(Math.abs(m.variance - sigma ** 2), `${label} variance ${m.variance}`).toBeLessThan(5 * sigma ** 2 * Math.sqrt(2 / n));
}

/** All values in [lo, hi), reaching close to both ends; mean and variance within 5 standard errors of U(lo, hi)'s. */
function expectUniform(t: Tensor, lo: number, hi: number, label: string): void {
  const n = t.size, m = moments(t), w = hi - lo;
  expect(m.min, label).toBeGreaterThanOrEqual(lo);
  expect(m.max, label).toBeLessThan(hi);
  expect(m.min - lo, label).toBeLessThan(w * 1e-3);
  expect(hi - m.max, label).toBeLessThan(w * 1e-3);
  expect(Math.abs(m.mean - (lo + hi) / 2), `${label} mean`).toBeLessThan(5 * w / Math.sqrt(12 * n));
  // Var((X − μ)²) = w⁴/80 − w⁴/144 = w⁴/180
  expect(Math.abs(m.variance - w * w / 12), `${label} variance`).toBeLessThan(5 * w * w / Math.sqrt(180 * n));
}

describe('nn.init', () => {
  it('fans follow PyTorch: [out, in, *k] → fanIn = in·∏k, fanOut = out·∏k; rank < 2 is an error naming the shape', () => {
    expect(init.fans(zeros([7, 3]))).toEqual({ fanIn: 3, fanOut: 7 });
    expect(init.fans(zeros([8, 4, 3, 5]))).toEqual({ fanIn: 60, fanOut: 120 });
    expect(init.fans(zeros([2, 6, 5]))).toEqual({ fanIn: 30, fanOut: 10 });
    expect(() => init.fans(zeros([5]))).toThrow(/rank ≥ 2, got shape \[5\]/);
    expect(() => init.xavierUniform(zeros([5]))).toThrow(/\[5\]/);
    expect(() => init.kaimingNormal(zeros([]))).toThrow(/\[\]/);
  });

  it('calculateGain matches torch.nn.init.calculate_gain', () => {
    expect(init.calculateGain('linear')).toBe(1);
    expect(init.calculateGain('sigmoid')).toBe(1);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3, 15);
    expect(init.calculateGain('relu')).toBeCloseTo(Math.SQRT2, 15);
    expect(init.calculateGain('leaky_relu')).toBeCloseTo(Math.sqrt(2 / (1 + 0.01 ** 2)), 15);
    expect(init.calculateGain('leaky_relu', 0.2)).toBeCloseTo(Math.sqrt(2 / 1.04), 15);
    // @ts-expect-error: not a nonlinearity
    expect(() => init.calculateGain('gelu')).toThrow(/unknown nonlinearity 'gelu'/);
  });

  it('normal and uniform have the requested statistics; constant, zeros, ones fill', () => {
    const rng = new Rng(1);
    expectNormal(init.normal(zeros([200, 100]), 0.3, -2, rng), -2, 0.3, 'normal(0.3, −2)');
    expectNormal(init.normal(zeros([100, 100], { dtype: 'float64' }), undefined, undefined, rng), 0, 1, 'normal()');
    expectUniform(init.uniform(zeros([200, 100]), -0.5, 1.5, rng), -0.5, 1.5, 'uniform(−0.5, 1.5)');
    expectUniform(init.uniform(zeros([100, 100]), undefined, undefined, rng), 0, 1, 'uniform()');
    expect(Array.from(init.constant(zeros([2, 2]), 0.25).data)).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(Array.from(init.ones(zeros([3])).data)).toEqual([1, 1, 1]);
    expect(Array.from(init.zeros(init.ones(zeros([3]))).data)).toEqual([0, 0, 0]);
  });

  it('xavier: U(±gain·√(6/(fanIn + fanOut))) and N(0, gain²·2/(fanIn + fanOut))', () => {
    const rng = new Rng(2);
    const a = 2 * Math.sqrt(6 / (60 * 9 + 40 * 9)); // fanIn = 60·3·3, fanOut = 40·3·3
    expectUniform(init.xavierUniform(zeros([40, 60, 3, 3]), 2, rng), -a, a, 'xavierUniform');
    expectNormal(init.xavierNormal(zeros([300, 100]), 1, rng), 0, Math.sqrt(2 / 400), 'xavierNormal');
    expectNormal(init.xavierNormal(zeros([300, 100]), 5 / 3, rng), 0, 5 / 3 * Math.sqrt(2 / 400), 'xavierNormal gain');
  });

  it('kaiming: U(±gain·√(3/fan)) and N(0, gain²/fan), both modes, gains of each nonlinearity', () => {
    const rng = new Rng(3);
    const t = () => zeros([200, 50, 2]); // fanIn 100, fanOut 400
    expectUniform(init.kaimingUniform(t(), { rng }), -Math.SQRT2 * Math.sqrt(3 / 100), Math.SQRT2 * Math.sqrt(3 / 100), 'kaimingUniform default');
    const g = Math.sqrt(2 / (1 + 5));
    expectUniform(init.kaimingUniform(t(), { a: Math.sqrt(5), mode: 'fanOut', rng }), -g * Math.sqrt(3 / 400), g * Math.sqrt(3 / 400), 'kaimingUniform a=√5 fanOut');
    expectNormal(init.kaimingNormal(t(), { nonlinearity: 'relu', rng }), 0, Math.SQRT2 / 10, 'kaimingNormal relu');
    expectNormal(init.kaimingNormal(t(), { nonlinearity: 'tanh', mode: 'fanOut', rng }), 0, 5 / 3 / 20, 'kaimingNormal tanh fanOut');
    // @ts-expect-error: not a mode
    expect(() => init.kaimingNormal(t(), { mode: 'fan_in' })).toThrow(/mode must be 'fanIn' or 'fanOut', got 'fan_in'/);
  });

  it('argument errors name the value', () => {
    expect(() => init.normal(zeros([2]), -1)).toThrow(/std must be ≥ 0, got -1/);
    expect(() => init.uniform(zeros([2]), 1, 0)).toThrow(/need a ≤ b, got a=1, b=0/);
  });

  it('fills in place without recording a graph, and is reproducible from the seed', () => {
    const fc = new nn.Linear(3, 2);
    const w = fc.weight;
    expect(init.xavierUniform(w)).toBe(w);
    expect(w.isLeaf && w.requiresGrad && w.grad === null).toBe(true);
    const draw = () => { manualSeed(42); return Array.from(init.kaimingNormal(zeros([4, 5])).data); };
    expect(draw()).toEqual(draw());
    const a = Array.from(init.normal(zeros([10]), 1, 0, new Rng(9)).data), b = Array.from(init.normal(zeros([10]), 1, 0, new Rng(9)).data);
    expect(a).toEqual(b);
  });

  it("Linear's default init is U(±1/√in) for weight and bias (PyTorch's), variance 1/(3·in)", () => {
    manualSeed(4);
    const fc = new nn.Linear(400, 100);
    const bound = 1 / Math.sqrt(400);
    expectUniform(fc.weight, -bound, bound, 'Linear weight');
    const b = moments(fc.bias!);
    expect(b.min).toBeGreaterThanOrEqual(-bound);
    expect(b.max).toBeLessThan(bound);
  });
});
