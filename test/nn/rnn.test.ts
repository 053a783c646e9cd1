import { describe, expect, it } from 'vitest';
import { manualSeed, nn, noGrad, randn, zeros, type Tensor } from '../../src/index.js';
import { expectClose } from '../helpers/close.js';

/*
 * nn.RNN / nn.LSTM as modules: parameter names, shapes and initialization, options and their errors, input
 * errors naming the shape, final state, dtype conversion, and the batch-normalized variants' running
 * statistics (one update per step per BatchNorm1d) and evaluation mode.
 */

const dtype = 'float64' as const;

describe('parameters and state-dict names', () => {
  it('LSTM: PyTorch names, layouts and U(−1/√H, 1/√H) initialization', () => {
    manualSeed(0);
    const m = new nn.LSTM(5, 16, { numLayers: 2 });
    const shapes = Object.fromEntries(Object.entries(m.stateDict()).map(([k, v]) => [k, v.shape]));
    expect(shapes).toEqual({
      weight_ih_l0: [64, 5], weight_hh_l0: [64, 16], bias_ih_l0: [64], bias_hh_l0: [64],
      weight_ih_l1: [64, 16], weight_hh_l1: [64, 16], bias_ih_l1: [64], bias_hh_l1: [64],
    });
    const bound = 1 / Math.sqrt(16);
    for (const p of m.parameters()) {
      expect(Math.max(...p.data.map(Math.abs))).toBeLessThanOrEqual(bound);
      expect(Math.max(...p.data.map(Math.abs))).toBeGreaterThan(0.8 * bound); // spread over the whole interval
    }
    expect(m.stateDict().weight_ih_l0.data).toBe(m.weightIhL0.data); // the property is the parameter
  });

  it('RNN without bias has no bias entries; RNN gates are H wide', () => {
    expect(Object.keys(new nn.RNN(3, 4, { bias: false, numLayers: 2 }).stateDict())).toEqual(['weight_ih_l0', 'weight_hh_l0', 'weight_ih_l1', 'weight_hh_l1']);
    expect(new nn.RNN(3, 4).weightIhL0.shape).toEqual([4, 3]);
  });

  it('layer-normalized LSTM: ln_ih / ln_hh over 4H and ln_c over H, after the cell parameters', () => {
    const m = new nn.LSTM(3, 4, { layerNorm: true });
    const shapes = Object.fromEntries(Object.entries(m.stateDict()).map(([k, v]) => [k, v.shape]));
    expect(shapes).toEqual({
      weight_ih_l0: [16, 3], weight_hh_l0: [16, 4], bias_ih_l0: [16], bias_hh_l0: [16],
      'ln_ih_l0.weight': [16], 'ln_ih_l0.bias': [16], 'ln_hh_l0.weight': [16], 'ln_hh_l0.bias': [16],
      'ln_c_l0.weight': [4], 'ln_c_l0.bias': [4],
    });
    expect([...m.stateDict()['ln_c_l0.weight'].data]).toEqual([1, 1, 1, 1]);
  });

  it('batch-normalized LSTM: BatchNorm1d modules per term (shared) or per term and step (perStep), γ = batchNormGamma', () => {
    const shared = new nn.LSTM(3, 4, { batchNorm: 'shared', batchNormGamma: 0.25 });
    expect(Object.keys(shared.stateDict()).filter((k) => k.startsWith('bn_'))).toEqual(
      ['ih', 'hh', 'c'].flatMap((t) => ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map((b) => `bn_${t}_l0.${b}`)));
    expect([...shared.stateDict()['bn_ih_l0.weight'].data]).toEqual(new Array(16).fill(0.25));
    const perStep = new nn.LSTM(3, 4, { batchNorm: 'perStep', maxSteps: 3, numLayers: 2 });
    const names = Object.keys(perStep.stateDict()).filter((k) => k.endsWith('running_var'));
    expect(names).toEqual([0, 1].flatMap((l) => ['ih', 'hh', 'c'].flatMap((t) => [0, 1, 2].map((s) => `bn_${t}_l${l}.${s}.running_var`))));
    expect(perStep.stateDict()['bn_c_l1.2.running_var'].shape).toEqual([4]);
    expect(perStep.stateDict()['bn_hh_l1.0.weight'].data[0]).toBeCloseTo(0.1, 7); // default γ (float32)
  });

  it('a state dict saved from one LSTM loads into another of the same structure', () => {
    manualSeed(1);
    const a = new nn.LSTM(3, 4, { batchNorm: 'perStep', maxSteps: 2 }), b = new nn.LSTM(3, 4, { batchNorm: 'perStep', maxSteps: 2 });
    a.forward(randn([4, 3, 3]));
    b.loadStateDict(a.stateDict());
    a.eval(); b.eval();
    const x = randn([2, 3, 3]);
    expect([...b.forward(x).data]).toEqual([...a.forward(x).data]);
    expect(() => new nn.LSTM(3, 4).loadStateDict(a.stateDict())).toThrow(/unexpected: bn_ih_l0\.0\.weight/);
  });
});

describe('forward', () => {
  it('output is the last layer\'s h at every step; finalState holds each layer\'s last h and c', () => {
    manualSeed(2);
    const m = new nn.LSTM(3, 4, { numLayers: 2, dtype });
    const x = randn([2, 5, 3], { dtype });
    const y = m.forward(x);
    const { h, c } = m.finalState!;
    expect(y.shape).toEqual([2, 5, 4]);
    expect(h.shape).toEqual([2, 2, 4]);
    expect(c!.shape).toEqual([2, 2, 4]);
    expect([...h.select(0, 1).data]).toEqual([...y.select(1, 4).data]);
    // Running the first 3 steps, then the last 2 from the state reached, gives the same output.
    const first = m.forward(x.narrow(1, 0, 3));
    const { h: h3, c: c3 } = m.finalState!;
    const rest = m.forward(x.narrow(1, 3, 2), h3, c3!);
    expectClose(first, y.narrow(1, 0, 3), { rtol: 1e-14, atol: 1e-15 }, 'first part');
    expectClose(rest, y.narrow(1, 3, 2), { rtol: 1e-14, atol: 1e-15 }, 'resumed');
  });

  it('forwardWithState returns the same as forward + finalState', () => {
    manualSeed(3);
    const m = new nn.RNN(3, 4, { dtype });
    const x = randn([2, 3, 3], { dtype }), h0 = randn([1, 2, 4], { dtype });
    const r = m.forwardWithState(x, { h: h0 });
    expect([...m.forward(x, h0).data]).toEqual([...r.output.data]);
    expect([...m.finalState!.h.data]).toEqual([...r.h.data]);
    expect(r.c).toBeNull();
  });

  it('to(dtype) converts the parameters and the forward follows', () => {
    manualSeed(4);
    const m = new nn.LSTM(3, 4, { layerNorm: true });
    const x = randn([2, 3, 3]);
    const y32 = m.forward(x);
    m.to('float64');
    const y64 = m.forward(x.to('float64'));
    expect(y64.dtype).toBe('float64');
    expectClose(y64, y32, { rtol: 1e-5, atol: 1e-6 }, 'float64 vs float32');
  });
});

describe('errors name the shape or option at fault', () => {
  const lstm = new nn.LSTM(5, 6, { numLayers: 2 });
  it('input of the wrong rank or feature size', () => {
    expect(() => lstm.forward(zeros([3, 5]))).toThrow('LSTM(5, 6): expected input [N, T, 5] (batch first, 5 features), got shape [3, 5]');
    expect(() => lstm.forward(zeros([3, 4, 7]))).toThrow('LSTM(5, 6): expected input [N, T, 5] (batch first, 5 features), got shape [3, 4, 7]');
    expect(() => new nn.RNN(5, 6).forward(zeros([2, 3, 4, 5]))).toThrow('got shape [2, 3, 4, 5]');
    expect(() => lstm.forward(zeros([3, 0, 5]))).toThrow(/input \[3, 0, 5\] holds no sequence/);
  });
  it('initial states of the wrong shape or dtype; a cell state for an RNN', () => {
    expect(() => lstm.forward(zeros([3, 4, 5]), zeros([1, 3, 6]))).toThrow('expected the initial hidden state h of shape [2, 3, 6] [numLayers, N, hiddenSize] for input [3, 4, 5], got [1, 3, 6]');
    expect(() => lstm.forward(zeros([3, 4, 5]), zeros([2, 3, 6]), zeros([2, 4, 6]))).toThrow(/initial cell state c of shape \[2, 3, 6\].*got \[2, 4, 6\]/);
    expect(() => lstm.forward(zeros([3, 4, 5]), zeros([2, 3, 6], { dtype }))).toThrow(/initial hidden state h is float64 but the input is float32/);
    const rnn = new nn.RNN(5, 6);
    expect(() => rnn.forwardWithState(zeros([3, 4, 5]), { c: zeros([1, 3, 6]) })).toThrow(/an RNN has no cell state/);
    expect(() => (rnn.forward as (...a: Tensor[]) => Tensor)(zeros([3, 4, 5]), zeros([1, 3, 6]), zeros([1, 3, 6]))).toThrow(/an RNN has no cell state/);
  });
  it('input dtype different from the module\'s', () => {
    expect(() => lstm.forward(zeros([3, 4, 5], { dtype }))).toThrow("LSTM(5, 6): input is float64 but the module is float32; call module.to('float64') or convert the input");
  });
  it('batch normalization in training with one sequence', () => {
    const m = new nn.LSTM(5, 6, { batchNorm: 'shared' });
    expect(() => m.forward(zeros([1, 4, 5]))).toThrow("LSTM(5, 6): batchNorm 'shared' needs more than 1 sequence per batch in training, got input shape [1, 4, 5]");
    m.eval();
    expect(m.forward(zeros([1, 4, 5])).shape).toEqual([1, 4, 6]); // evaluation uses running statistics: fine
  });
  it('options', () => {
    expect(() => new nn.LSTM(0, 6)).toThrow('LSTM: inputSize must be a positive integer, got 0');
    expect(() => new nn.RNN(5, 2.5)).toThrow('RNN: hiddenSize must be a positive integer, got 2.5');
    expect(() => new nn.LSTM(5, 6, { numLayers: 0 })).toThrow('LSTM: numLayers must be a positive integer, got 0');
    expect(() => new nn.LSTM(5, 6, { batchNorm: 'perstep' as 'perStep', maxSteps: 3 })).toThrow("LSTM: unknown batchNorm 'perstep'; expected one of 'none', 'shared', 'perStep'");
    expect(() => new nn.LSTM(5, 6, { batchNorm: 'perStep' })).toThrow("LSTM: batchNorm 'perStep' needs maxSteps (a positive integer: how many steps get their own BatchNorm1d), got undefined");
    expect(() => new nn.LSTM(5, 6, { maxSteps: 3 })).toThrow("LSTM: maxSteps applies to batchNorm 'perStep' only (batchNorm is 'none')");
    expect(() => new nn.LSTM(5, 6, { layerNorm: true, batchNorm: 'shared' })).toThrow("LSTM: layerNorm and batchNorm 'shared' cannot be combined; choose one");
    expect(() => new nn.RNN(5, 6, { nonlinearity: 'sigmoid' as 'tanh' })).toThrow("RNN: nonlinearity must be 'tanh' or 'relu', got 'sigmoid'");
    expect(() => new nn.LSTM(5, 6, { batchNorm: 'shared', batchNormGamma: NaN })).toThrow('LSTM: batchNormGamma must be a finite number, got NaN');
  });
});

/** Mean over the batch of x_t·W_ihᵀ at step t: what bn_ih sees at that step. */
function ihBatchMean(x: Tensor, w: Tensor, t: number): number[] {
  return [...noGrad(() => x.select(1, t).matmul(w.transpose()).mean(0)).data];
}

describe('batch-normalized cells: running statistics and evaluation', () => {
  it("perStep: each step's BatchNorm1d updates once per forward; steps ≥ maxSteps reuse (and update) the last", () => {
    manualSeed(5);
    const T = 5, maxSteps = 3;
    const m = new nn.LSTM(3, 4, { batchNorm: 'perStep', maxSteps, dtype });
    const x = randn([6, T, 3], { dtype });
    m.forward(x);
    m.forward(x);
    const sd = m.stateDict();
    for (const term of ['ih', 'hh', 'c'])
      for (let s = 0; s < maxSteps; s++)
        expect(sd[`bn_${term}_l0.${s}.num_batches_tracked`].item(), `${term} step ${s}`).toBe(s < maxSteps - 1 ? 2 : 2 * (T - maxSteps + 1));
    // Step 0 and 1 saw the input term of their own step twice: running = (1 − 0.9²)·μ_t (μ the same both times).
    for (const t of [0, 1])
      expectClose(sd[`bn_ih_l0.${t}.running_mean`], ihBatchMean(x, m.weightIhL0, t).map((v) => v * (1 - 0.9 ** 2)), { rtol: 1e-12, atol: 1e-15 }, `step ${t}`);
  });

  it("shared: one BatchNorm1d per term, updated once per step (T times per forward) with that step's statistics", () => {
    manualSeed(6);
    const T = 4;
    const m = new nn.RNN(3, 4, { batchNorm: 'shared', dtype });
    const x = randn([5, T, 3], { dtype });
    m.forward(x);
    const sd = m.stateDict();
    expect(sd['bn_ih_l0.num_batches_tracked'].item()).toBe(T);
    expect(sd['bn_hh_l0.num_batches_tracked'].item()).toBe(T);
    // running = Σ_t 0.1·0.9^(T−1−t)·μ_t: the exponential average over the steps in order.
    const want = new Array<number>(4).fill(0);
    for (let t = 0; t < T; t++) ihBatchMean(x, m.weightIhL0, t).forEach((v, j) => { want[j] = 0.9 * want[j] + 0.1 * v; });
    expectClose(sd['bn_ih_l0.running_mean'], want, { rtol: 1e-12, atol: 1e-15 }, 'shared running mean');
  });

  it('batchNormOptions reach the BatchNorm1d modules (momentum, runningStats)', () => {
    manualSeed(7);
    const m = new nn.RNN(3, 4, { batchNorm: 'shared', batchNormOptions: { momentum: 0.5 }, dtype });
    const x = randn([5, 1, 3], { dtype });
    m.forward(x);
    expectClose(m.stateDict()['bn_ih_l0.running_mean'], ihBatchMean(x, m.weightIhL0, 0).map((v) => 0.5 * v), { rtol: 1e-12, atol: 1e-15 });
    const none = new nn.RNN(3, 4, { batchNorm: 'shared', batchNormOptions: { runningStats: 'none' } });
    expect(Object.keys(none.stateDict()).some((k) => k.includes('running'))).toBe(false);
  });

  for (const batchNorm of ['shared', 'perStep'] as const) {
    it(`${batchNorm}: evaluation uses the running statistics (per-sample results, nothing updated)`, () => {
      manualSeed(8);
      const m = new nn.LSTM(3, 4, { batchNorm, maxSteps: batchNorm === 'perStep' ? 4 : undefined, dtype });
      const x = randn([6, 4, 3], { dtype });
      for (let i = 0; i < 3; i++) m.forward(randn([6, 4, 3], { dtype }).mul(2).add(1));
      const trainOut = m.forward(x);
      m.eval();
      const before = Object.entries(m.stateDict()).map(([k, v]) => [k, [...v.data]]);
      const all = m.forward(x);
      // In evaluation a sequence's result does not depend on the rest of the batch...
      for (let n = 0; n < 6; n++) expectClose(m.forward(x.narrow(0, n, 1)), all.narrow(0, n, 1), { rtol: 1e-12, atol: 1e-14 }, `sample ${n}`);
      // ...nothing was updated, and the result differs from training mode (batch statistics).
      expect(Object.entries(m.stateDict()).map(([k, v]) => [k, [...v.data]])).toEqual(before);
      expect(Math.max(...all.sub(trainOut).abs().data)).toBeGreaterThan(1e-3);
      // The running statistics are what is used: moving one changes the output.
      noGrad(() => m.stateDict()[batchNorm === 'shared' ? 'bn_ih_l0.running_mean' : 'bn_ih_l0.2.running_mean'].data.fill(0.5));
      expect(Math.max(...m.forward(x).sub(all).abs().data)).toBeGreaterThan(1e-3);
      m.train();
    });
  }

  it('perStep in evaluation: a sequence longer than maxSteps uses the last step\'s statistics beyond it', () => {
    manualSeed(9);
    const m = new nn.RNN(2, 3, { batchNorm: 'perStep', maxSteps: 2, dtype });
    m.forward(randn([4, 2, 2], { dtype }));
    m.eval();
    const x = randn([2, 5, 2], { dtype });
    const y = m.forward(x);
    expect(y.shape).toEqual([2, 5, 3]);
    // Only the 2 modules exist; none of them moved in evaluation.
    expect(Object.keys(m.stateDict()).filter((k) => k.endsWith('num_batches_tracked'))).toEqual(
      ['bn_ih_l0.0.num_batches_tracked', 'bn_ih_l0.1.num_batches_tracked', 'bn_hh_l0.0.num_batches_tracked', 'bn_hh_l0.1.num_batches_tracked']);
    expect(m.stateDict()['bn_ih_l0.1.num_batches_tracked'].item()).toBe(1);
  });

  it('freezeStats on the cell\'s BatchNorm1d modules works as on any BatchNorm', () => {
    manualSeed(10);
    const m = new nn.LSTM(3, 4, { batchNorm: 'shared' });
    for (const bn of m.modules()) if (bn instanceof nn.BatchNorm) bn.freezeStats();
    m.forward(randn([4, 3, 3]));
    expect(m.stateDict()['bn_ih_l0.num_batches_tracked'].item()).toBe(0);
    expect([...m.stateDict()['bn_ih_l0.running_mean'].data]).toEqual(new Array(16).fill(0));
  });
});

describe('training', () => {
  it('a few SGD steps of a layer-normalized LSTM(28 → 16) + Linear lower the loss on a fixed batch', () => {
    manualSeed(11);
    const lstm = new nn.LSTM(28, 16, { layerNorm: true }), head = new nn.Linear(16, 10);
    const x = randn([16, 8, 28]), labels = Array.from({ length: 16 }, (_, i) => i % 10);
    const params = [...lstm.parameters(), ...head.parameters()];
    const loss = () => nn.functional.crossEntropy(head.forward(lstm.forward(x).select(1, -1)), labels);
    const first = loss().item();
    for (let i = 0; i < 4; i++) {
      for (const p of params) p.grad = null;
      loss().backward();
      noGrad(() => { for (const p of params) p.data.set(p.sub(p.grad!.mul(0.5)).data); });
    }
    expect(loss().item()).toBeLessThan(first);
  });
});
