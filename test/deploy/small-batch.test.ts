import { describe, expect, it } from 'vitest';
import { data, deploy, manualSeed, models, nn, optim, train } from '../../src/index.js';

/**
 * The BN note's two options for inference statistics on a model trained with tiny batches: the moving
 * averages (momentum 0.9 over batches of 2 — about 20 batches, 40 samples, of very noisy statistics from
 * ever-changing weights) against population statistics recomputed over the whole training split with the
 * final weights.
 */
describe('population statistics after small-batch training', () => {
  it('a paper MLP trained with batches of 2 evaluates better with recomputed statistics than with its moving averages', async () => {
    const mnist = await data.loadMnist();
    const { train: trainSet, test } = data.splitDataset(mnist, { seed: 0 });
    manualSeed(0);
    const net = models.mlp({ norm: 'batch', activation: 'sigmoid', seed: 0 });
    const opt = new optim.SGD(net.parameters(), { lr: 0.05 });
    const loader = new data.DataLoader(trainSet, { batchSize: 2, seed: 0, dropLast: true });
    let step = 0;
    for (const b of loader.batches()) {
      const loss = nn.functional.crossEntropy(net.forward(b.x), b.y);
      opt.zeroGrad(); loss.backward(); opt.step();
      if (++step === 2000) break;
    }
    const moving = train.evaluate(net, test);
    const r = deploy.recomputeBatchNormStats(net, new data.DataLoader(trainSet, { batchSize: 1000, shuffle: false }));
    expect([r.samples, r.passes]).toEqual([trainSet.count, 3]);
    const population = train.evaluate(net, test);
    console.info(`batch 2, 2000 steps: test accuracy ${(100 * moving.accuracy).toFixed(2)}% (loss ${moving.loss.toFixed(4)}) with moving averages, ` +
      `${(100 * population.accuracy).toFixed(2)}% (loss ${population.loss.toFixed(4)}) with population statistics`);
    // Seen: wasm 42.65% → 48.65% (loss 1.833 → 1.597), js 45.05% → 46.10% (1.724 → 1.582); the trajectories of
    // batch-2 training part with rounding, so only the direction is asserted.
    expect(population.loss).toBeLessThan(moving.loss);
    expect(population.accuracy).toBeGreaterThan(moving.accuracy);
    expect(net.training).toBe(true);
  }, 180_000); // 2000 training steps: about 10 s on wasm, 40 s on the js backend of a busy machine
});
