import { describe, expect, it } from 'vitest';
import { Rng, getRngState, manualSeed, nn, ones, randn, setRngState } from '../../src/index.js';

/* nn.Dropout: inverted dropout statistics, eval identity, gradients through the mask, seeded reproducibility. */

const zeroFraction = (d: ArrayLike<number>) => Array.from(d).filter((v) => v === 0).length / d.length;

describe('nn.Dropout', () => {
  it('zeroes a fraction ≈ p (within 5 standard errors) and scales the kept values by exactly 1/(1 − p)', () => {
    manualSeed(11);
    const n = 100_000;
    for (const p of [0.1, 0.5, 0.8]) {
      const x = randn([n], { dtype: 'float64' });
      const y = new nn.Dropout(p).forward(x);
      const frac = zeroFraction(y.data);
      expect(Math.abs(frac - p), `p = ${p}: zeroed ${frac}`).toBeLessThan(5 * Math.sqrt(p * (1 - p) / n));
      let wrong = 0;
      for (let i = 0; i < n; i++) if (y.data[i] !== 0 && y.data[i] !== x.data[i] * (1 / (1 - p))) wrong++;
      expect(wrong, `p = ${p}: kept values not x/(1 − p)`).toBe(0);
      // E[y] = x: the mean of dropout(1) is 1 within 5 standard errors (sd of one element √(p/(1−p)))
      const m = Array.from(new nn.Dropout(p).forward(ones([n], { dtype: 'float64' })).data).reduce((a, v) => a + v, 0) / n;
      expect(Math.abs(m - 1), `p = ${p}: mean ${m}`).toBeLessThan(5 * Math.sqrt(p / (1 - p) / n));
    }
  });

  it('is the identity in eval mode and for p = 0 (the input tensor itself, no random draws)', () => {
    const x = randn([4, 5]);
    const drop = new nn.Dropout(0.5);
    drop.eval();
    const before = getRngState();
    expect(drop.forward(x)).toBe(x);
    expect(new nn.Dropout(0).forward(x)).toBe(x);
    expect(nn.functional.dropout(x, 0.5, false)).toBe(x);
    expect(getRngState()).toEqual(before);
    drop.train();
    expect(zeroFraction(drop.forward(ones([1000])).data)).toBeGreaterThan(0.3);
    expect(new nn.Dropout().p).toBe(0.5);
  });

  it('the gradient goes through the same mask: dx = dy·mask/(1 − p)', () => {
    manualSeed(2);
    const x = randn([50, 20], { dtype: 'float64', requiresGrad: true });
    const y = new nn.Dropout(0.3).forward(x);
    y.sum().backward();
    expect(Array.from(x.grad!.data)).toEqual(Array.from(y.data, (v) => (v === 0 ? 0 : 1 / 0.7)));
  });

  it('masks come from the global seeded generator: same seed, same masks; a restored RNG state resumes them', () => {
    const drop = new nn.Dropout(0.5);
    const masks = () => [0, 1, 2].map(() => Array.from(drop.forward(ones([64])).data));
    manualSeed(7);
    const a = masks();
    manualSeed(7);
    expect(masks()).toEqual(a);
    expect(a[0]).not.toEqual(a[1]); // a fresh mask per call
    manualSeed(8);
    expect(masks()[0]).not.toEqual(a[0]);
    // checkpoint/resume: save the state after one call, run two more, restore, and get the same two again
    manualSeed(7);
    drop.forward(ones([64]));
    const st = getRngState();
    const rest = [Array.from(drop.forward(ones([64])).data), Array.from(drop.forward(ones([64])).data)];
    setRngState(st);
    expect([Array.from(drop.forward(ones([64])).data), Array.from(drop.forward(ones([64])).data)]).toEqual(rest);
    expect(rest).toEqual(a.slice(1));
  });

  it('functional form takes its own generator; float32 keeps the dtype', () => {
    const x = ones([3, 100]);
    const y1 = nn.functional.dropout(x, 0.25, true, new Rng(4)), y2 = nn.functional.dropout(x, 0.25, true, new Rng(4));
    expect(Array.from(y1.data)).toEqual(Array.from(y2.data));
    expect(y1.dtype).toBe('float32');
    expect(y1.shape).toEqual([3, 100]);
    expect(new Set(y1.data)).toEqual(new Set([0, Math.fround(1 / 0.75)]));
  });
});
