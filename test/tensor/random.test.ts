import { describe, expect, it } from 'vitest';
import { Rng, getRngState, manualSeed, rand, randn, setRngState } from '../../src/index.js';

/* The seeded generator: reproducibility, state save/restore (including a pending Box–Muller normal), statistics. */

describe('random numbers', () => {
  it('manualSeed reproduces the same sequence; different seeds differ', () => {
    manualSeed(123);
    const a = [...randn([50]).data, ...rand([50]).data];
    manualSeed(123);
    const b = [...randn([50]).data, ...rand([50]).data];
    expect(b).toEqual(a);
    manualSeed(124);
    expect([...randn([50]).data]).not.toEqual(a.slice(0, 50));
  });

  it('a private Rng does not disturb the global one', () => {
    manualSeed(5);
    const a = Array.from(randn([10]).data);
    manualSeed(5);
    randn([100], { rng: new Rng(1) });
    expect(Array.from(randn([10]).data)).toEqual(a);
    expect(Array.from(randn([4], { rng: new Rng(1) }).data)).toEqual(Array.from(randn([4], { rng: new Rng(1) }).data));
  });

  it('getRngState / setRngState restore the exact stream, also mid Box–Muller pair, and survive JSON', () => {
    manualSeed(7);
    randn([3]); // an odd count leaves a spare normal pending
    const st = getRngState();
    expect(st.spare).not.toBeNull();
    const a = [...randn([9], { dtype: 'float64' }).data, ...rand([5], { dtype: 'float64' }).data];
    setRngState(JSON.parse(JSON.stringify(st)));
    const b = [...randn([9], { dtype: 'float64' }).data, ...rand([5], { dtype: 'float64' }).data];
    expect(b).toEqual(a);
    const r = new Rng(9);
    r.normal();
    const s = r.getState(), x = [r.normal(), r.uniform(), r.nextU32()];
    r.setState(s);
    expect([r.normal(), r.uniform(), r.nextU32()]).toEqual(x);
  });

  it('bad states and seeds are errors', () => {
    expect(() => setRngState({ s: [1, 2, 3], spare: null } as never)).toThrow(/four uint32 words/);
    expect(() => setRngState({ s: [1, 2, 3, -1], spare: null })).toThrow(/four uint32 words/);
    expect(() => manualSeed(NaN)).toThrow(/finite number, got NaN/);
    manualSeed(0);
  });

  it('normal and uniform samples have the right moments; int is uniform on [0, n)', () => {
    const r = new Rng(11), n = 40000;
    let s = 0, q = 0, su = 0, qu = 0;
    const counts = new Array(7).fill(0);
    for (let i = 0; i < n; i++) {
      const z = r.normal(), u = r.uniform();
      s += z; q += z * z; su += u; qu += u * u;
      counts[r.int(7)]++;
    }
    expect(Math.abs(s / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(q / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(su / n - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(qu / n - 1 / 3)).toBeLessThan(5 * Math.sqrt(4 / 45 / n));
    // χ² with 6 degrees of freedom: 30 is far beyond its 99.99th percentile (≈ 27.9)
    const chi2 = counts.reduce((p, c) => p + (c - n / 7) ** 2 / (n / 7), 0);
    expect(chi2).toBeLessThan(30);
  });
});
