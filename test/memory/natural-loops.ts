import { describe, expect, it } from 'vitest';
import { data, getBackend, manualSeed, memoryStats, models, nn, noGrad, optim, rand, randn, setBackend, train, type Tensor } from '../../src/index.js';

/**
 * Shared by natural.wasm.test.ts and natural.js.test.ts (two files so they run in parallel).
 *
 * The loop a PyTorch user writes — no scope, no dispose, tensors kept as long as the user likes — must run at
 * flat memory (issue 8). Every pattern runs for thousands of steps after a warm-up, on both backends, and
 * fails when memory grows: the process's resident set size after a full garbage collection, its V8 heap,
 * and, with the wasm backend, the allocator's own figures (the linear memory's size, which never shrinks,
 * and the bytes in live blocks).
 *
 * Bounds: 64 MB of growth over ≥ 3,000 steps, 160 MB for the 25.7 MB-tensor BatchNorm2d over 80 steps.
 * Model sizes: the paper's MLP (784-100-100-100-10) on wasm; on js, whose kernels are ~10× slower, a
 * narrower MLP (64-32-32-32-10) and the small CNN on 12×12 images, so the same loops fit the suite's time.
 * The code paths (modules, autograd, storage ownership) are the same.
 */

const gc = (globalThis as { gc?: () => void }).gc;
const MB = 2 ** 20;

interface Sample { rss: number; heap: number; inUse: number; memoryBytes: number }

function sample(): Sample {
  gc?.();
  const m = process.memoryUsage(), s = memoryStats();
  return { rss: m.rss, heap: m.heapUsed, inUse: s?.inUse ?? 0, memoryBytes: s?.memoryBytes ?? 0 };
}

/** Run `warmup` steps, then `steps` more, sampling memory along the way; returns the growth after warm-up (MB). */
export async function growth(step: (i: number) => unknown, { warmup, steps }: { warmup: number; steps: number }) {
  for (let i = 0; i < warmup; i++) await step(i);
  const base = sample();
  let worst = { rss: 0, heap: 0, inUse: 0, memoryBytes: 0 };
  const every = Math.max(1, Math.floor(steps / 6));
  for (let i = 0; i < steps; i++) {
    await step(warmup + i);
    if ((i + 1) % every === 0 || i === steps - 1) {
      const s = sample();
      worst = {
        rss: Math.max(worst.rss, s.rss - base.rss), heap: Math.max(worst.heap, s.heap - base.heap),
        inUse: Math.max(worst.inUse, s.inUse - base.inUse), memoryBytes: Math.max(worst.memoryBytes, s.memoryBytes - base.memoryBytes),
      };
    }
  }
  const r = { rss: worst.rss / MB, heap: worst.heap / MB, inUse: worst.inUse / MB, memoryBytes: worst.memoryBytes / MB };
  return r;
}

export function expectFlat(name: string, g: Awaited<ReturnType<typeof growth>>, bound: number): void {
  const msg = `${name} (${getBackend().name}): growth after warm-up, MB: ${JSON.stringify(Object.fromEntries(Object.entries(g).map(([k, v]) => [k, +v.toFixed(1)])))}`;
  console.log(msg);
  expect(g.rss, msg).toBeLessThan(bound);
  expect(g.heap, msg).toBeLessThan(bound);
  expect(g.inUse, msg).toBeLessThan(bound);
  expect(g.memoryBytes, msg).toBeLessThan(bound);
}

/** The MLP of the paper (or a narrower one on js): Linear (no bias) → BN → sigmoid, three times, then Linear. */
function mlp(features: number, width: number): nn.Sequential {
  const layers: nn.Module[] = [];
  let d = features;
  for (let i = 0; i < 3; i++) { layers.push(new nn.Linear(d, width, { bias: false }), new nn.BatchNorm1d(width), new nn.Sigmoid()); d = width; }
  layers.push(new nn.Linear(d, 10));
  return new nn.Sequential(...layers);
}

export function naturalLoops(backend: 'wasm' | 'js'): void {
  describe(`natural loops run at flat memory (${backend} backend)`, () => {
  const wasm = backend === 'wasm';
  const F = wasm ? 784 : 64, H = wasm ? 100 : 32;
  const STEPS = 3000;
  // Long enough for the soft limit to settle (two or three collections of the paper MLP's leftovers).
  const WARMUP = 800;
  const setup = () => { setBackend(backend); manualSeed(0); };

  it('the README loop over a DataLoader (epochs of an 8,000-sample set)', async () => {
    setup();
    const set = data.syntheticDataset({ n: 8000, features: F, classes: 10, seed: 1 });
    const model = mlp(F, H);
    const opt = new optim.SGD(model.parameters(), { lr: 0.5, clipNorm: 5 });
    const loader = new data.DataLoader(set, { batchSize: 60, seed: 0 });
    let it = loader[Symbol.iterator]();
    const step = () => {
      let n = it.next();
      if (n.done) { it = loader[Symbol.iterator](); n = it.next(); }
      const { x, y } = n.value;
      const loss = nn.functional.crossEntropy(model.forward(x), y);
      opt.zeroGrad(); loss.backward(); opt.step();
    };
    expectFlat('README loop', await growth(step, { warmup: WARMUP, steps: STEPS }), 64);
  }, 300_000);

  it('a plain loop making fresh inputs with rand()', async () => {
    setup();
    const model = mlp(F, H);
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const y = Int32Array.from({ length: 60 }, (_, i) => i % 10);
    const step = () => {
      const loss = nn.functional.crossEntropy(model.forward(rand([60, F])), y);
      opt.zeroGrad(); loss.backward(); opt.step();
    };
    expectFlat('rand loop', await growth(step, { warmup: WARMUP, steps: STEPS }), 64);
  }, 300_000);

  it('the same with an await each step', async () => {
    setup();
    const model = mlp(F, H);
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const y = Int32Array.from({ length: 60 }, (_, i) => i % 10);
    const step = async () => {
      const loss = nn.functional.crossEntropy(model.forward(rand([60, F])), y);
      opt.zeroGrad(); loss.backward(); opt.step();
      await Promise.resolve(loss.item());
    };
    expectFlat('await loop', await growth(step, { warmup: WARMUP, steps: STEPS }), 64);
  }, 300_000);

  it('an evaluation loop under noGrad (batch 200)', async () => {
    setup();
    const model = mlp(F, H).eval();
    const xs = randn([200, F]);
    let correct = 0;
    const step = () => noGrad(() => {
      const pred = model.forward(xs.mul(1.01)).argmax(-1).toArray() as number[];
      correct += pred.filter((p) => p === 3).length;
    });
    expectFlat('noGrad eval loop', await growth(step, { warmup: WARMUP, steps: STEPS }), 64);
    expect(correct).toBeGreaterThanOrEqual(0);
  }, 300_000);

  it('outputs and losses kept for 100 steps, read back (values right), then dropped', async () => {
    setup();
    const model = mlp(F, H);
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const y = Int32Array.from({ length: 60 }, (_, i) => i % 10);
    let kept: { out: Tensor; loss: Tensor; expected: number[]; lossValue: number }[] = [];
    const step = () => {
      const out = model.forward(rand([60, F]));
      const loss = nn.functional.crossEntropy(out, y);
      // What the values are now, to compare with what is read 100 steps later (after evictions).
      kept.push({ out, loss, expected: Array.from((out.toArray() as number[][])[7]), lossValue: loss.item() });
      opt.zeroGrad(); loss.backward(); opt.step();
      if (kept.length === 100) {
        for (const k of kept) {
          expect((k.out.toArray() as number[][])[7]).toEqual(k.expected);
          expect(k.loss.item()).toBe(k.lossValue);
        }
        kept = [];
      }
    };
    expectFlat('kept outputs', await growth(step, { warmup: WARMUP, steps: STEPS }), 64);
  }, 300_000);

  it('BatchNorm2d on a [32, 64, 56, 56] tensor: training forward+backward, then inference (80 steps each)', async () => {
    setup();
    const shape = [32, 64, 56, 56];
    const x = randn(shape, { requiresGrad: true }), dy = randn(shape);
    const bn = new nn.BatchNorm2d(64);
    const train = () => { bn.train(); x.grad = null; bn.zeroGrad(); bn.forward(x).backward(dy); };
    expectFlat('BN2d fwd+bwd', await growth(train, { warmup: 20, steps: 80 }), 160);
    const infer = () => noGrad(() => { bn.eval(); return bn.forward(x); });
    expectFlat('BN2d inference', await growth(infer, { warmup: 20, steps: 80 }), 160);
  }, 300_000);

  it('the small CNN (models.cnn), batch 4', async () => {
    setup();
    const side = wasm ? 28 : 12;
    const model = models.cnn({ image: [1, side, side] });
    const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const y = Int32Array.from({ length: 4 }, (_, i) => i % 10);
    const step = () => {
      const loss = nn.functional.crossEntropy(model.forward(rand([4, side * side])), y);
      opt.zeroGrad(); loss.backward(); opt.step();
    };
    expectFlat('small CNN', await growth(step, { warmup: 300, steps: STEPS }), 64);
  }, 300_000);

  it('the Trainer', async () => {
    setup();
    const set = data.syntheticDataset({ n: 1200, features: F, classes: 10, seed: 3 });
    const model = models.mlp({ inputs: F, hidden: [H, H, H], norm: 'batch', initStd: 0.05, seed: 1 });
    const trainer = new train.Trainer({ model, optimizer: new optim.SGD(model.parameters(), { lr: 0.5 }), data: new data.DataLoader(set, { batchSize: 60, dropLast: true, seed: 0 }) });
    const step = () => trainer.trainStep();
    expectFlat('Trainer', await growth(step, { warmup: WARMUP, steps: STEPS }), 64);
  }, 300_000);
  });
}
