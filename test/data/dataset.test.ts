import { describe, expect, it } from 'vitest';
import { makeDataset, splitDataset, subset, permutation, type Dataset } from '../../src/data/index.js';
import { Rng } from '../../src/random.js';

/** n samples whose row i is [i, −i] and label i mod 5, so every row names its origin. */
function numbered(n: number): Dataset {
  const x = new Float32Array(2 * n), y = new Int32Array(n);
  for (let i = 0; i < n; i++) { x[2 * i] = i; x[2 * i + 1] = -i; y[i] = i % 5; }
  return makeDataset(x, y, 2);
}

const origins = (d: Dataset): number[] => Array.from({ length: d.count }, (_, i) => d.x[2 * i]);

describe('splitDataset', () => {
  const data = numbered(1000);

  it('gives disjoint train and test sets of the requested sizes with rows intact', () => {
    const { train, test } = splitDataset(data, { trainSize: 700, testSize: 250, seed: 3 });
    expect([train.count, test.count, train.features, train.classes]).toEqual([700, 250, 2, 5]);
    expect([train.x.length, train.y.length, test.x.length, test.y.length]).toEqual([1400, 700, 500, 250]);
    for (const d of [train, test])
      for (let i = 0; i < d.count; i++) {
        const o = d.x[2 * i];
        expect(d.x[2 * i + 1]).toBe(-o);
        expect(d.y[i]).toBe(o % 5);
      }
    const tr = new Set(origins(train)), te = new Set(origins(test));
    expect(tr.size).toBe(700);
    expect(te.size).toBe(250);
    for (const o of te) expect(tr.has(o)).toBe(false);
  });

  it('is a function of the seed: same seed, same split; other seed, other split', () => {
    const a = splitDataset(data, { trainSize: 800, testSize: 200, seed: 0 });
    const b = splitDataset(data, { trainSize: 800, testSize: 200, seed: 0 });
    const c = splitDataset(data, { trainSize: 800, testSize: 200, seed: 1 });
    expect(origins(b.train)).toEqual(origins(a.train));
    expect(origins(b.test)).toEqual(origins(a.test));
    expect(origins(c.test)).not.toEqual(origins(a.test));
    expect(new Set(origins(c.test))).not.toEqual(new Set(origins(a.test)));
    // train ∪ test covers everything when the sizes add up.
    expect(new Set([...origins(a.train), ...origins(a.test)]).size).toBe(1000);
  });

  it('defaults to seed 0 and 8000/2000', () => {
    const big = numbered(10_000);
    const d = splitDataset(big);
    const e = splitDataset(big, { trainSize: 8000, testSize: 2000, seed: 0 });
    expect([d.train.count, d.test.count]).toEqual([8000, 2000]);
    expect(origins(d.test)).toEqual(origins(e.test));
  });

  it('names the option at fault', () => {
    expect(() => splitDataset(data, { trainSize: 900, testSize: 200 })).toThrow(/trainSize 900 \+ testSize 200 exceeds the 1000 samples/);
    expect(() => splitDataset(data, { trainSize: -1, testSize: 2 })).toThrow(/trainSize must be a non-negative integer/);
    expect(() => splitDataset(data, { trainSize: 1, testSize: 2.5 })).toThrow(/testSize must be a non-negative integer/);
    expect(() => splitDataset(data, { trainSize: 1, testSize: 2, seed: NaN })).toThrow(/seed/);
  });
});

describe('dataset helpers', () => {
  it('permutation is a seeded permutation', () => {
    const p = permutation(50, new Rng(7));
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(permutation(50, new Rng(7))).toEqual(p);
    expect(permutation(50, new Rng(8))).not.toEqual(p);
  });

  it('subset copies the chosen rows in order', () => {
    const s = subset(numbered(10), [7, 2, 2]);
    expect(Array.from(s.x)).toEqual([7, -7, 2, -2, 2, -2]);
    expect(Array.from(s.y)).toEqual([2, 2, 2]);
    expect(() => subset(numbered(10), [10])).toThrow(/index 10 .* out of range for 10 samples/);
  });

  it('makeDataset checks lengths and labels', () => {
    expect(makeDataset(new Float32Array(6), new Int32Array([0, 3]), 3).classes).toBe(4);
    expect(() => makeDataset(new Float32Array(5), new Int32Array(2), 3)).toThrow(/x has 5 values but y has 2 labels of 3 features/);
    expect(() => makeDataset(new Float32Array(2), new Int32Array([-1, 0]), 1)).toThrow(/label 0 is -1/);
    expect(() => makeDataset(new Float32Array(2), new Int32Array([4, 0]), 1, 3)).toThrow(/classes is 3 but the largest label is 4/);
    expect(() => makeDataset(new Float32Array(2), new Int32Array(2), 0)).toThrow(/features must be a positive integer/);
  });
});
