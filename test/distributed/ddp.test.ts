import { describe, expect, it } from 'vitest';
import { distributed, manualSeed, nn, optim, Rng, tensor } from '../../src/index.js';

// DistributedDataParallel + SyncBatchNorm over 3 ranks against single-process training on the whole batch
// (float64; the ranks run the js backend). Rank modules: see launch.test.ts.
const RUN = new URL('./ranks/run-ts.mjs', import.meta.url);


/** The network of ranks/ddp.mjs. */
function makeModel() {
  return new nn.Sequential(
    new nn.Linear(6, 8, { dtype: 'float64' }), new nn.BatchNorm1d(8, { dtype: 'float64', momentum: 0.8 }), new nn.ReLU(),
    new nn.Linear(8, 5, { dtype: 'float64' }), new nn.BatchNorm1d(5, { dtype: 'float64', affine: false }), new nn.Tanh(),
    new nn.Linear(5, 3, { dtype: 'float64' }));
}

function makeBatches(seed: number, sizesPerStep: number[][], features = 6) {
  const rng = new Rng(seed);
  return sizesPerStep.map((sizes) => {
    const N = sizes.reduce((p, n) => p + n, 0);
    return { sizes, x: Array.from({ length: N * features }, () => rng.normal() * 1.5 + 0.3), y: Array.from({ length: N }, () => Math.floor(rng.uniform() * 3)) };
  });
}

function singleProcess(seed0: number, lr: number, batches: ReturnType<typeof makeBatches>) {
  manualSeed(seed0);
  const model = makeModel();
  const opt = new optim.SGD(model.parameters(), { lr, momentum: 0.9 });
  for (const { x, y, sizes } of batches) {
    const N = sizes.reduce((p, n) => p + n, 0);
    const loss = nn.functional.crossEntropy(model.forward(tensor(Float64Array.from(x), [N, 6], { dtype: 'float64' })), y);
    opt.zeroGrad(); loss.backward(); opt.step();
  }
  return Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, [...t.storage.peek()]]));
}

describe('DistributedDataParallel + SyncBatchNorm', () => {
  it('several SGD steps over 3 ranks (equal and unequal slices) equal single-process training on the whole batch', async () => {
    const seed0 = 11, lr = 0.2;
    const batches = makeBatches(3, [[4, 4, 4], [5, 3, 4], [2, 6, 1], [4, 4, 4], [3, 3, 2]]);
    const ranks = await distributed.launch<{ state: Record<string, number[]>; losses: number[]; reductions: number }>(3, RUN, { rank: './ddp.ts', seed0, lr, features: 6, batches, bucketElements: 50 });
    const ref = singleProcess(seed0, lr, batches);
    // every rank ends bitwise equal (same averaged gradients, same SyncBN statistics)
    for (const r of ranks) expect(r.state).toEqual(ranks[0].state);
    // 4 buckets of ≤ 50 gradient elements per step (sizes in reverse order 3, 15, 5 | 40, 8 | 8, 8 | 48)
    expect(ranks[0].reductions).toBe(4 * batches.length);
    expect(Object.keys(ranks[0].state)).toEqual(Object.keys(ref));
    let worst = 0;
    for (const [k, v] of Object.entries(ref)) {
      const scale = Math.max(1, ...v.map(Math.abs));
      const err = Math.max(...v.map((x, i) => Math.abs(x - ranks[0].state[k][i]))) / scale;
      worst = Math.max(worst, err);
    }
    // only float64 rounding differs (summation orders of the merged statistics and the averaged gradients):
    // after 5 steps the worst parameter or buffer is within 64 ulp of the reference's scale (measured: 1 ulp)
    expect(worst).toBeLessThan(64 * Number.EPSILON);
    // the trajectory moved: the result is not the initial state
    manualSeed(seed0);
    const init = makeModel().stateDict();
    const w0 = (init['0.weight'].toArray() as number[][])[0][0];
    expect(Math.abs(ref['0.weight'][0] - w0)).toBeGreaterThan(1e-4);
  });

  it('broadcasts rank 0 parameters and buffers at construction; one process is plain training', () => {
    manualSeed(1);
    const model = makeModel();
    const ddp = new distributed.DistributedDataParallel(model);
    expect(ddp.module).toBe(model);
    expect(Object.keys(ddp.stateDict())[0]).toBe('module.0.weight');
    const x = tensor(Float64Array.from({ length: 24 }, (_, i) => Math.sin(i)), [4, 6], { dtype: 'float64' });
    const loss = nn.functional.crossEntropy(ddp.forward(x), [0, 1, 2, 0]);
    loss.backward();
    expect(ddp.reductions).toBe(0); // world size 1: nothing to average
    expect(model.parameters().every((p) => p.grad !== null)).toBe(true);
    expect(() => new distributed.DistributedDataParallel({} as nn.Module)).toThrow(/expected a Module/);
    expect(() => new distributed.DistributedDataParallel(model, { bucketElements: 0 })).toThrow(/bucketElements must be a positive integer, got 0/);
  });
});
