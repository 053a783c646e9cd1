import { describe, expect, it } from 'vitest';
import { data, manualSeed, models, nn, noGrad, optim, randn, Tensor, train } from '../../src/index.js';

/* evaluate(): eval mode and no gradients inside, the previous mode restored after; gradNorms; percentiles. */

function trainedNet() {
  manualSeed(0);
  const ds = data.syntheticDataset({ n: 103, features: 5, classes: 3, seed: 2 });
  const model = models.mlp({ inputs: 5, hidden: [12], classes: 3, norm: 'batch', seed: 4 });
  const t = new train.Trainer({ model, optimizer: new optim.SGD(model.parameters(), { lr: 0.2 }), data: new data.DataLoader(ds, { batchSize: 20, seed: 1 }) });
  t.run(15);
  return { model, ds };
}

const buffersOf = (m: nn.Module) => Object.fromEntries([...m.namedBuffers()].map(([k, t]) => [k, Array.from(t.data)]));

describe('evaluate', () => {
  it('restores the previous mode (training or eval) and leaves BN statistics and gradients alone', () => {
    const { model, ds } = trainedNet();
    model.zeroGrad();
    const buffers = buffersOf(model);
    model.train();
    train.evaluate(model, ds);
    expect([...model.modules()].every((m) => m.training)).toBe(true);
    model.eval();
    train.evaluate(model, ds);
    expect([...model.modules()].every((m) => !m.training)).toBe(true);
    expect(buffersOf(model)).toEqual(buffers);
    expect(model.parameters().every((p) => p.grad === null)).toBe(true);
  });

  it('restores the mode when the model throws', () => {
    const { model, ds } = trainedNet();
    model.train();
    expect(() => train.evaluate(model, ds, { inputShape: [7] })).toThrow();
    expect([...model.modules()].every((m) => m.training)).toBe(true);
  });

  it('equals the loss and accuracy of one forward over the whole set in eval mode, for any batch size', () => {
    const { model, ds } = trainedNet();
    model.eval();
    const { loss, acc } = noGrad(() => {
      const logits = model.forward(new Tensor(new Float32Array(ds.x), [ds.count, ds.features]));
      const pred = logits.argmax(-1).data;
      return { loss: nn.functional.crossEntropy(logits, ds.y).item(), acc: Array.from(ds.y).filter((y, i) => pred[i] === y).length / ds.count };
    });
    model.train();
    expect(acc).toBeGreaterThan(0.5); // trained: better than chance (1/3)
    for (const batchSize of [1000, 103, 10, 7, 1]) {
      const r = train.evaluate(model, ds, { batchSize });
      expect(r.accuracy, `batch ${batchSize}`).toBe(acc);
      expect(Math.abs(r.loss - loss), `batch ${batchSize}`).toBeLessThan(1e-6 * loss);
    }
  });

  it('a model that does not return [batch, classes] logits is an error that names the shape', () => {
    const ds = data.syntheticDataset({ n: 10, features: 4, classes: 2 });
    expect(() => train.evaluate(new nn.Sequential(new nn.Identity()).eval(), { ...ds, x: ds.x }, { inputShape: [2, 2] })).toThrow(/evaluate: the model returned shape \[10, 2, 2\], expected \[10, classes\]/);
  });
});

describe('gradNorms / totalGradNorm', () => {
  it('the L2 norm of each gradient by parameter name (float64 sums), parameters without a gradient left out', () => {
    manualSeed(3);
    const model = models.mlp({ inputs: 6, hidden: [9, 7], classes: 4, norm: 'batch', seed: 1 });
    const ds = data.syntheticDataset({ n: 16, features: 6, classes: 4 });
    nn.functional.crossEntropy(model.forward(new Tensor(ds.x, [16, 6])), ds.y).backward();
    const names = [...model.namedParameters()].map(([n]) => n);
    const norms = train.gradNorms(model);
    expect(Object.keys(norms)).toEqual(names);
    for (const [n, p] of model.namedParameters()) {
      let s = 0;
      for (const g of p.grad!.data) s += g * g;
      expect(norms[n], n).toBeCloseTo(Math.sqrt(s), 12);
      expect(norms[n], n).toBeGreaterThan(0);
    }
    const total = Math.sqrt(Object.values(norms).reduce((a, v) => a + v * v, 0));
    expect(train.totalGradNorm(model)).toBeCloseTo(total, 12);
    const [first] = model.parameters();
    first.grad = null;
    expect(Object.keys(train.gradNorms(model))).toEqual(names.slice(1));
    model.zeroGrad();
    expect(train.gradNorms(model)).toEqual({});
    expect(train.totalGradNorm(model)).toBe(0);
  });

  it('a hand-checkable case: grad [3, 4] has norm 5', () => {
    const lin = new nn.Linear(2, 1, { bias: false });
    lin.weight.grad = new Tensor(new Float32Array([3, 4]), [1, 2]);
    expect(train.gradNorms(lin)).toEqual({ weight: 5 });
  });

  it('the Trainer records norms before the optimizer clips', () => {
    manualSeed(5);
    const ds = data.syntheticDataset({ n: 64, features: 6, classes: 3 });
    const model = models.mlp({ inputs: 6, hidden: [8], classes: 3, norm: 'batch', seed: 1 });
    const t = new train.Trainer({ model, optimizer: new optim.SGD(model.parameters(), { lr: 0.1, clipNorm: 1e-4 }), data: new data.DataLoader(ds, { batchSize: 16, seed: 0 }), recordGradNorms: true });
    const r = t.trainStep();
    expect(r.gradNorms).toEqual(train.gradNorms(model)); // p.grad is left unclipped by the optimizer
    expect(Math.min(...Object.values(r.gradNorms!))).toBeGreaterThan(1e-4);
    const quiet = new train.Trainer({ model, optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }), data: new data.DataLoader(ds, { batchSize: 16, seed: 0 }) });
    expect(quiet.trainStep().gradNorms).toBeUndefined();
  });
});

describe('percentile / percentiles (NumPy default: linear interpolation between order statistics)', () => {
  // expected values computed by hand: r = p/100·(n−1), v = s[⌊r⌋] + (s[⌈r⌉] − s[⌊r⌋])·(r − ⌊r⌋); cross-checked with numpy.percentile
  it('known values', () => {
    const v = [3, 1, 4, 1, 5, 9, 2, 6]; // sorted 1 1 2 3 4 5 6 9
    const want = [[0, 1], [15, 1.05], [50, 3.5], [85, 5.95], [99, 8.79], [100, 9]];
    const got = train.percentiles(v, want.map(([p]) => p));
    want.forEach(([p, w], i) => expect(got[i], `p${p}`).toBeCloseTo(w, 12));
    const u = new Float32Array([-2.5, 10, 0, 0, 7.25]); // sorted −2.5 0 0 7.25 10
    expect(train.percentiles(u, [10, 12.5, 33.3, 50, 90])).toEqual([-1.5, -1.25, 0, 0, expect.closeTo(8.9, 12)]);
    expect(train.percentile([42], 37)).toBe(42);
    expect(train.percentile([2, 1], 50)).toBe(1.5);
  });

  it('does not reorder the input; sorts numerically (not as strings)', () => {
    const v = [10, 9, 100, -1];
    expect(train.percentile(v, 50)).toBe(9.5);
    expect(v).toEqual([10, 9, 100, -1]);
  });

  it('errors name the problem', () => {
    expect(() => train.percentile([], 50)).toThrow(/percentile: no values/);
    for (const p of [-1, 100.5, NaN]) expect(() => train.percentile([1, 2], p)).toThrow(/percentile: p must be in \[0, 100\], got/);
  });

  it('matches order statistics at the exact ranks on a large random sample', () => {
    manualSeed(9);
    const v = Array.from(randn([1001]).data);
    const s = [...v].sort((a, b) => a - b);
    for (let k = 0; k <= 1000; k += 50) expect(train.percentile(v, k / 10)).toBe(s[k]);
  });
});
