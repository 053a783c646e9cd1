import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { data, getBackend, memoryStats, models, optim, setBackend, train, wasmSupported } from '../../src/index.js';

/**
 * Issue 5's memory goal: 10,000 training steps of the paper's MLP (784-100-100-100-10 sigmoid with BN,
 * batch 60, SGD) at flat memory after warm-up — the wasm backend's linear memory neither grows nor keeps
 * more live blocks, because each step's temporaries are freed when it ends.
 */
describe.skipIf(!wasmSupported())('wasm memory stays flat over 10,000 training steps', () => {
  let before = '';
  beforeAll(() => { before = getBackend().name; setBackend('wasm'); });
  afterAll(() => setBackend(before));

  it('paper MLP with BN, batch 60, SGD', () => {
    const set = data.syntheticDataset({ n: 1200, features: 784, classes: 10, seed: 3 });
    const model = models.mlp({ norm: 'batch', initStd: 0.05, seed: 1 });
    const trainer = new train.Trainer({
      model, optimizer: new optim.SGD(model.parameters(), { lr: 0.5 }),
      data: new data.DataLoader(set, { batchSize: 60, dropLast: true, seed: 0 }),
    });
    trainer.run(100);
    const warm = memoryStats()!;
    const samples: { step: number; inUse: number; blocks: number; memoryBytes: number }[] = [];
    trainer.run(10_100, { every: 1000, onEval: (step) => { const m = memoryStats()!; samples.push({ step, inUse: m.inUse, blocks: m.blocks, memoryBytes: m.memoryBytes }); } });
    expect(samples.map((s) => s.step)).toEqual([1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 10100]);
    for (const s of samples) {
      expect(s.inUse, `bytes in use at step ${s.step}`).toBe(warm.inUse);
      expect(s.blocks, `live blocks at step ${s.step}`).toBe(warm.blocks);
      expect(s.memoryBytes, `linear memory size at step ${s.step}`).toBe(warm.memoryBytes);
    }
  }, 600_000);
});
