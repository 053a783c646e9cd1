import { describe, expect, it } from 'vitest';
import { DataLoader, makeDataset, syntheticDataset, type Batch, type Dataset } from '../../src/data/index.js';
import { manualSeed } from '../../src/random.js';

/** n samples whose row i is [i, 2i, 3i] and label i mod 7, so every row names its origin. */
function numbered(n: number): Dataset {
  const x = new Float32Array(3 * n), y = new Int32Array(n);
  for (let i = 0; i < n; i++) { x[3 * i] = i; x[3 * i + 1] = 2 * i; x[3 * i + 2] = 3 * i; y[i] = i % 7; }
  return makeDataset(x, y, 3);
}

const data = numbered(103);
const ids = (batches: Batch[]): number[][] => batches.map((b) => Array.from(b.indices));
const take = (it: Iterable<Batch>, n: number): Batch[] => {
  const out: Batch[] = [];
  if (n === 0) return out;
  for (const b of it) { out.push(b); if (out.length === n) break; }
  return out;
};

describe('DataLoader', () => {
  it('yields ⌈N/B⌉ batches of [B, features] tensors with matching labels (last one smaller)', () => {
    const loader = new DataLoader(data, { batchSize: 10, seed: 0 });
    expect(loader.length).toBe(11);
    const batches = [...loader];
    expect(batches.length).toBe(11);
    expect(batches.map((b) => b.x.shape[0])).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3]);
    batches.forEach((b, k) => {
      expect(b.index).toBe(k);
      expect(b.epoch).toBe(0);
      expect(b.x.dtype).toBe('float32');
      expect(b.x.shape).toEqual([b.indices.length, 3]);
      expect(b.y.length).toBe(b.indices.length);
      b.indices.forEach((r, i) => {
        expect(Array.from(b.x.data.subarray(3 * i, 3 * i + 3))).toEqual([r, 2 * r, 3 * r]);
        expect(b.y[i]).toBe(r % 7);
      });
    });
  });

  it('visits every sample exactly once per epoch', () => {
    const loader = new DataLoader(data, { batchSize: 16, seed: 1 });
    for (let e = 0; e < 3; e++) {
      const seen = [...loader].flatMap((b) => Array.from(b.indices));
      expect(seen.length).toBe(103);
      expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 103 }, (_, i) => i));
    }
    expect(loader.epoch).toBe(3);
  });

  it('drops the last partial batch with dropLast: ⌊N/B⌋ full batches of distinct samples', () => {
    const loader = new DataLoader(data, { batchSize: 10, dropLast: true, seed: 0 });
    expect(loader.length).toBe(10);
    for (let e = 0; e < 2; e++) {
      const batches = [...loader];
      expect(batches.map((b) => b.x.shape[0])).toEqual(new Array(10).fill(10));
      expect(new Set(batches.flatMap((b) => Array.from(b.indices))).size).toBe(100);
    }
    expect(new DataLoader(data, { batchSize: 103, dropLast: true }).length).toBe(1);
  });

  it('reshuffles every epoch; shuffle = false keeps the dataset order', () => {
    const loader = new DataLoader(data, { batchSize: 103, seed: 2 });
    const [e0] = [...loader], [e1] = [...loader];
    expect(Array.from(e1.indices)).not.toEqual(Array.from(e0.indices));
    expect(e1.epoch).toBe(1);
    const inOrder = new DataLoader(data, { batchSize: 50, shuffle: false });
    for (let e = 0; e < 2; e++)
      expect([...inOrder].flatMap((b) => Array.from(b.indices))).toEqual(Array.from({ length: 103 }, (_, i) => i));
  });

  it('is determined by its seed; without one, by manualSeed', () => {
    const a = take(new DataLoader(data, { batchSize: 8, seed: 42 }).batches(), 30);
    const b = take(new DataLoader(data, { batchSize: 8, seed: 42 }).batches(), 30);
    const c = take(new DataLoader(data, { batchSize: 8, seed: 43 }).batches(), 30);
    expect(ids(b)).toEqual(ids(a));
    expect(ids(c)).not.toEqual(ids(a));
    manualSeed(7);
    const d = take(new DataLoader(data, { batchSize: 8 }).batches(), 30);
    manualSeed(7);
    const e = take(new DataLoader(data, { batchSize: 8 }).batches(), 30);
    expect(ids(e)).toEqual(ids(d));
  });

  it('batches() runs across epochs without end', () => {
    const loader = new DataLoader(data, { batchSize: 10, seed: 0 });
    let step = 0;
    const epochs: number[] = [];
    for (const b of loader.batches()) { epochs.push(b.epoch); if (++step === 25) break; }
    expect(epochs).toEqual([...new Array(11).fill(0), ...new Array(11).fill(1), 2, 2, 2]);
    expect([loader.epoch, loader.position]).toEqual([2, 3]);
  });

  it('continues the same epoch after a loop is left early', () => {
    const ref = [...new DataLoader(data, { batchSize: 10, seed: 4 })];
    const loader = new DataLoader(data, { batchSize: 10, seed: 4 });
    const first = take(loader, 4);
    const rest = [...loader];
    expect(ids([...first, ...rest])).toEqual(ids(ref));
    expect(rest.map((b) => b.index)).toEqual([4, 5, 6, 7, 8, 9, 10]);
  });

  it('resumes exactly from stateDict (mid-epoch, at an epoch boundary, across a JSON round trip)', () => {
    const opts = { batchSize: 10, seed: 9 };
    const ref = take(new DataLoader(data, opts).batches(), 40);
    for (const cut of [0, 1, 5, 11, 17, 22, 33]) {
      const first = new DataLoader(data, opts);
      take(first.batches(), cut);
      const saved = JSON.parse(JSON.stringify(first.stateDict()));
      const resumed = new DataLoader(data, { ...opts, seed: 12345 }); // the state, not the seed, decides
      take(resumed.batches(), 3); // some unrelated progress that the load must undo
      resumed.loadStateDict(saved);
      const rest = take(resumed.batches(), 40 - cut);
      expect(ids(rest), `cut ${cut}`).toEqual(ids(ref.slice(cut)));
      expect(rest.map((b) => [b.epoch, b.index])).toEqual(ref.slice(cut).map((b) => [b.epoch, b.index]));
      expect(Array.from(rest[0].x.data)).toEqual(Array.from(ref[cut].x.data));
    }
  });

  it('refuses a state from a loader with other settings', () => {
    const saved = new DataLoader(data, { batchSize: 10, seed: 0 }).stateDict();
    expect(() => new DataLoader(data, { batchSize: 11 }).loadStateDict(saved)).toThrow(/batchSize is 10 in the state but 11/);
    expect(() => new DataLoader(data, { batchSize: 10, dropLast: true }).loadStateDict(saved)).toThrow(/dropLast/);
    expect(() => new DataLoader(numbered(50), { batchSize: 10 }).loadStateDict(saved)).toThrow(/count is 103 in the state but 50/);
    expect(() => new DataLoader(data, { batchSize: 10 }).loadStateDict({ ...saved, position: 12 })).toThrow(/position 12 is outside \[0, 11\]/);
  });

  it('names the option at fault', () => {
    for (const bad of [0, -1, 1.5, NaN, undefined])
      expect(() => new DataLoader(data, { batchSize: bad as number })).toThrow(/batchSize must be a positive integer/);
    expect(() => new DataLoader(data, { batchSize: 104, dropLast: true })).toThrow(/batchSize 104 is larger than the dataset \(103 samples\) with dropLast = true/);
    const whole = new DataLoader(data, { batchSize: 500 });
    expect(whole.length).toBe(1);
    expect([...whole][0].x.shape).toEqual([103, 3]);
    expect(() => new DataLoader(data, { batch_size: 10 } as never)).toThrow(/unknown option 'batch_size' \(PyTorch's batch_size is batchSize\)/);
    expect(() => new DataLoader(data, { batchSize: 10, shufle: true } as never)).toThrow(/unknown option 'shufle' \(did you mean 'shuffle'\?\)/);
    expect(() => new DataLoader(data, { batchSize: 10, shuffle: 'yes' as never })).toThrow(/shuffle must be a boolean/);
    expect(() => new DataLoader(data, { batchSize: 10, seed: NaN })).toThrow(/seed must be a finite number/);
    expect(() => new DataLoader(data, { batchSize: 10, dtype: 'int32' as never })).toThrow(/dtype must be/);
    expect(() => new DataLoader(makeDataset(new Float32Array(0), new Int32Array(0), 2), { batchSize: 1 })).toThrow(/empty/);
  });

  it('makes float64 batches on request and works on the synthetic set', () => {
    const loader = new DataLoader(syntheticDataset({ n: 64, features: 5 }), { batchSize: 16, dtype: 'float64', seed: 0 });
    const [b] = [...loader];
    expect(b.x.dtype).toBe('float64');
    expect(b.x.shape).toEqual([16, 5]);
    expect(b.y.every((c) => c >= 0 && c < 3)).toBe(true);
  });
});
