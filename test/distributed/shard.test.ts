import { describe, expect, it } from 'vitest';
import { data } from '../../src/index.js';

const dataset = data.syntheticDataset({ n: 103, features: 4, classes: 3, seed: 1 });

describe('DataLoader shard: { rank, worldSize }', () => {
  for (const worldSize of [2, 3]) {
    it(`${worldSize} ranks draw contiguous slices of the same seeded global batches and cover each epoch exactly once`, () => {
      const whole = new data.DataLoader(dataset, { batchSize: 10, seed: 5 });
      const shards = Array.from({ length: worldSize }, (_, rank) => new data.DataLoader(dataset, { batchSize: 10, seed: 5, shard: { rank, worldSize } }));
      for (let epoch = 0; epoch < 2; epoch++) {
        const global = [...whole];
        const parts = shards.map((s) => [...s]);
        for (const p of parts) expect(p.length).toBe(global.length); // every rank takes the same number of steps
        const seen = new Set<number>();
        global.forEach((g, k) => {
          const slices = parts.map((p) => p[k]);
          // the ranks' slices, in rank order, are the global batch
          expect(slices.flatMap((s) => [...s.indices])).toEqual([...g.indices]);
          expect(slices.flatMap((s) => [...s.y])).toEqual([...g.y]);
          expect(slices.flatMap((s) => [...(s.x.data as Float32Array)])).toEqual([...(g.x.data as Float32Array)]);
          const sizes = slices.map((s) => s.x.shape[0]);
          expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
          expect(sizes).toEqual([...sizes].sort((a, b) => b - a)); // the lower ranks take the extra samples
          for (const s of slices) { expect(s.epoch).toBe(epoch); for (const i of s.indices) { expect(seen.has(i)).toBe(false); seen.add(i); } }
        });
        expect(seen.size).toBe(dataset.count);
      }
    });
  }

  it('resumes with stateDict like the unsharded loader', () => {
    const a = new data.DataLoader(dataset, { batchSize: 12, seed: 2, shard: { rank: 1, worldSize: 3 } });
    const it1 = a.batches();
    for (let i = 0; i < 13; i++) it1.next();
    const b = new data.DataLoader(dataset, { batchSize: 12, seed: 2, shard: { rank: 1, worldSize: 3 } });
    b.loadStateDict(a.stateDict());
    expect([...b.batches().next().value!.indices]).toEqual([...it1.next().value!.indices]);
  });

  it('refuses a bad shard, naming it, and a last batch some rank would get nothing of', () => {
    const make = (shard: unknown, extra: object = {}) => () => new data.DataLoader(dataset, { batchSize: 10, seed: 0, shard, ...extra } as data.DataLoaderOptions);
    expect(make({ rank: 2, worldSize: 2 })).toThrow('DataLoader: shard.rank must be an integer in [0, 2), got 2');
    expect(make({ rank: 0, worldSize: 0 })).toThrow('DataLoader: shard.worldSize must be a positive integer, got 0');
    expect(make(null)).toThrow('DataLoader: shard must be { rank, worldSize }');
    expect(make({ rank: 0, worldSize: 11 })).toThrow(/batchSize 10 \(the global batch\) is smaller than shard.worldSize 11/);
    // 103 = 10·10 + 3: a last batch of 3 samples cannot feed 4 ranks
    expect(make({ rank: 0, worldSize: 4 })).toThrow(/the last batch of an epoch holds 3 samples \(103 samples, batchSize 10\), fewer than shard.worldSize 4/);
    expect(make({ rank: 0, worldSize: 4 }, { dropLast: true })).not.toThrow();
  });
});
