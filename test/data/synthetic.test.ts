import { describe, expect, it } from 'vitest';
import { syntheticDataset, type Dataset } from '../../src/data/index.js';

/** Accuracy of the nearest class mean (computed from the data itself): how separable the classes are. */
function nearestMeanAccuracy(d: Dataset): number {
  const f = d.features, means = new Float64Array(d.classes * f), n = new Float64Array(d.classes);
  for (let i = 0; i < d.count; i++) { n[d.y[i]]++; for (let j = 0; j < f; j++) means[d.y[i] * f + j] += d.x[i * f + j]; }
  for (let c = 0; c < d.classes; c++) for (let j = 0; j < f; j++) means[c * f + j] /= n[c];
  let right = 0;
  for (let i = 0; i < d.count; i++) {
    let best = -1, bestDist = Infinity;
    for (let c = 0; c < d.classes; c++) {
      let s = 0;
      for (let j = 0; j < f; j++) s += (d.x[i * f + j] - means[c * f + j]) ** 2;
      if (s < bestDist) { bestDist = s; best = c; }
    }
    if (best === d.y[i]) right++;
  }
  return right / d.count;
}

describe('syntheticDataset', () => {
  it('has the requested shape and balanced labels', () => {
    const d = syntheticDataset({ n: 100, features: 4, classes: 3, seed: 1 });
    expect([d.count, d.features, d.classes, d.x.length, d.y.length]).toEqual([100, 4, 3, 400, 100]);
    const counts = [0, 0, 0];
    for (const y of d.y) counts[y]++;
    expect(counts.sort()).toEqual([33, 33, 34]);
    expect(d.x.every(Number.isFinite)).toBe(true);
  });

  it('is determined by the seed', () => {
    const a = syntheticDataset({ seed: 5 }), b = syntheticDataset({ seed: 5 }), c = syntheticDataset({ seed: 6 });
    expect(b.x).toEqual(a.x);
    expect(b.y).toEqual(a.y);
    expect(c.x).not.toEqual(a.x);
  });

  it('is learnable with the defaults and gets harder with more noise', () => {
    const easy = nearestMeanAccuracy(syntheticDataset());
    const hard = nearestMeanAccuracy(syntheticDataset({ noise: 3 }));
    expect(easy).toBeGreaterThan(0.97);
    expect(hard).toBeLessThan(easy);
    expect(hard).toBeGreaterThan(1 / 3); // still above chance
    const exact = syntheticDataset({ n: 30, noise: 0 });
    for (let i = 0; i < 30; i++) for (let j = 0; j < 10; j++) {
      const first = exact.y.indexOf(exact.y[i]);
      expect(exact.x[i * 10 + j]).toBe(exact.x[first * 10 + j]);
    }
  });

  it('names the option at fault', () => {
    expect(() => syntheticDataset({ n: 0 })).toThrow(/n must be a positive integer/);
    expect(() => syntheticDataset({ features: 2.5 })).toThrow(/features must be a positive integer/);
    expect(() => syntheticDataset({ classes: -1 })).toThrow(/classes must be a positive integer/);
    expect(() => syntheticDataset({ noise: -0.1 })).toThrow(/noise must be/);
    expect(() => syntheticDataset({ seed: Infinity })).toThrow(/seed must be/);
  });
});
