import { describe, expect, it } from 'vitest';
import { deploy, manualSeed, models, nn, noGrad, randn, type Tensor } from '../../src/index.js';
import { expectClose } from '../helpers/close.js';

type DType = 'float32' | 'float64';
const TOL: Record<DType, number> = { float64: 1e-12, float32: 1e-5 };

/** Train-mode forwards over random batches (running statistics move away from 0 and 1), then random γ and β. */
function giveStatistics(model: nn.Module, input: readonly number[], dtype: DType): void {
  model.train();
  noGrad(() => { for (let i = 0; i < 5; i++) model.forward(randn([8, ...input], { dtype }).mul(2).add(0.5)); });
  for (const m of model.modules())
    if (m instanceof nn.BatchNorm && m.weight && m.bias) { nn.init.uniform(m.weight, 0.5, 2); nn.init.uniform(m.bias, -1, 1); }
  model.eval();
}

/** Outputs equal to `rtol` relative to the output's scale (elementwise |a − b| ≤ rtol·(|b| + max|b|)). */
function expectSameOutputs(a: nn.Module, b: nn.Module, x: Tensor, dtype: DType, label: string): void {
  const [ya, yb] = noGrad(() => [a.forward(x), b.forward(x)]);
  const ref = yb.data;
  let scale = 0;
  for (const v of ref) scale = Math.max(scale, Math.abs(v));
  expect(scale).toBeGreaterThan(0);
  expectClose(ya, yb, { rtol: TOL[dtype], atol: TOL[dtype] * scale }, label);
}

function stateValues(m: nn.Module): Record<string, number[]> {
  return Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.data)]));
}

describe('deploy.foldBatchNorm', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    it(`folds the MLP with BatchNorm1d (${dtype}): Linear without bias gains one, outputs equal`, () => {
      manualSeed(1);
      const net = models.mlp({ inputs: 20, hidden: [16, 12, 8], classes: 5, norm: 'batch', activation: 'sigmoid', dtype });
      giveStatistics(net, [20], dtype);
      const before = stateValues(net);
      const { model, folded, kept } = deploy.foldBatchNorm(net);
      expect(folded).toEqual([{ layer: '0', bn: '1' }, { layer: '3', bn: '4' }, { layer: '6', bn: '7' }]);
      expect(kept).toEqual([]);
      expect(model.at(1)).toBeInstanceOf(nn.Identity);
      expect((model.at(0) as nn.Linear).bias?.shape).toEqual([16]);
      expect(model.training).toBe(false);
      expect(Object.keys(model.stateDict())).toEqual(['0.weight', '0.bias', '3.weight', '3.bias', '6.weight', '6.bias', '9.weight', '9.bias']);
      expectSameOutputs(model, net, randn([33, 20], { dtype }), dtype, 'mlp');
      expect(stateValues(net)).toEqual(before);
      expect(net.at(1)).toBeInstanceOf(nn.BatchNorm1d);
    });

    it(`folds the small CNN's BatchNorm2d layers into bias-free Conv2d (${dtype})`, () => {
      manualSeed(2);
      const net = models.cnn({ image: [1, 12, 12], channels: [4, 6], dtype });
      giveStatistics(net, [144], dtype);
      const before = stateValues(net);
      const { model, folded, kept } = deploy.foldBatchNorm(net);
      expect(folded).toEqual([{ layer: '1', bn: '2' }, { layer: '5', bn: '6' }]);
      expect(kept).toEqual([]);
      expectSameOutputs(model, net, randn([9, 144], { dtype }), dtype, 'cnn');
      expect(stateValues(net)).toEqual(before);
    });
  }

  it('folds BN with affine false, after a Linear with a bias, and after a grouped Conv2d', () => {
    manualSeed(3);
    const dtype = 'float64';
    const net = new nn.Sequential(
      new nn.Conv2d(4, 8, 3, { groups: 4, padding: 1, dtype }), new nn.BatchNorm2d(8, { affine: false, dtype }), new nn.ReLU(),
      new nn.Flatten(), new nn.Linear(8 * 25, 6, { dtype }), new nn.BatchNorm1d(6, { dtype }), new nn.Tanh(),
      new nn.Linear(6, 3, { bias: false, dtype }), new nn.BatchNorm1d(3, { affine: false, dtype }));
    giveStatistics(net, [4, 5, 5], dtype);
    const { model, folded, kept } = deploy.foldBatchNorm(net);
    expect(folded.map((f) => f.bn)).toEqual(['1', '5', '8']);
    expect(kept).toEqual([]);
    expectSameOutputs(model, net, randn([7, 4, 5, 5], { dtype }), dtype, 'mixed');
  });

  it('folds inside nested Sequentials and Sequentials held by user modules; keeps what it cannot fold, with reasons', () => {
    manualSeed(4);
    const dtype = 'float64';
    class Block extends nn.Module {
      body = new nn.Sequential(new nn.Linear(6, 6, { dtype }), new nn.BatchNorm1d(6, { dtype }));
      side = new nn.BatchNorm1d(6, { dtype });
      forward(x: Tensor): Tensor { return this.side.forward(this.body.forward(x)).relu(); }
    }
    const shared = new nn.Linear(6, 6, { dtype });
    const net = new nn.Sequential(
      new nn.BatchNorm1d(6, { dtype }),                                                   // 0: first in its Sequential
      new nn.Sequential(new nn.Linear(6, 6, { bias: false, dtype }), new nn.BatchNorm1d(6, { dtype })), // 1.0 ← 1.1
      new Block(),                                                                          // 2.body.0 ← 2.body.1; 2.side kept
      new nn.ReLU(), new nn.BatchNorm1d(6, { dtype }),                                      // 4: after a ReLU
      shared, new nn.BatchNorm1d(6, { dtype }), shared,                                     // 6: after a shared Linear
      new nn.Linear(6, 6, { dtype }), new nn.BatchNorm1d(6, { runningStats: 'none', dtype }), // 9: no running statistics
    );
    giveStatistics(net, [6], dtype);
    const before = stateValues(net);
    const { model, folded, kept } = deploy.foldBatchNorm(net);
    expect(folded).toEqual([{ layer: '1.0', bn: '1.1' }, { layer: '2.body.0', bn: '2.body.1' }]);
    const reasons = Object.fromEntries(kept.map((k) => [k.bn, k.reason]));
    expect(Object.keys(reasons).sort()).toEqual(['0', '2.side', '4', '6', '9']);
    expect(reasons['0']).toMatch(/first layer/);
    expect(reasons['2.side']).toMatch(/not inside a Sequential/);
    expect(reasons['4']).toMatch(/follows a ReLU/);
    expect(reasons['6']).toMatch(/more than one place/);
    expect(reasons['9']).toMatch(/runningStats is 'none'/);
    expect(model.at(2)).toBeInstanceOf(Block);
    expect((model.at(2) as Block).body.at(1)).toBeInstanceOf(nn.Identity);
    // The shared Linear stays shared in the copy.
    expect(model.at(5)).toBe(model.at(7));
    expectSameOutputs(model, net, randn([10, 6], { dtype }), dtype, 'nested');
    expect(stateValues(net)).toEqual(before);
  });

  it('folds SyncBatchNorm (eval mode: plain BN) and copies one it keeps', () => {
    manualSeed(8);
    const dtype = 'float64';
    const net = nn.SyncBatchNorm.convert(new nn.Sequential(
      new nn.Linear(5, 4, { dtype }), new nn.BatchNorm1d(4, { dtype }), new nn.ReLU(), new nn.BatchNorm1d(4, { dtype }))) as nn.Sequential;
    expect(net.at(1)).toBeInstanceOf(nn.SyncBatchNorm);
    giveStatistics(net, [5], dtype);
    const { model, folded, kept } = deploy.foldBatchNorm(net);
    expect(folded).toEqual([{ layer: '0', bn: '1' }]);
    expect(kept.map((k) => k.bn)).toEqual(['3']);
    expect(model.at(3)).toBeInstanceOf(nn.SyncBatchNorm);
    expectSameOutputs(model, net, randn([6, 5], { dtype }), dtype, 'sync');
  });

  it('refuses a model in training mode (naming the module) and leaves it unchanged', () => {
    manualSeed(5);
    const net = models.mlp({ inputs: 4, hidden: [3], classes: 2, norm: 'batch' });
    expect(() => deploy.foldBatchNorm(net)).toThrow(/training mode.*call model\.eval\(\)/);
    net.eval();
    net.at(1).train();
    expect(() => deploy.foldBatchNorm(net)).toThrow(/module '1', a BatchNorm1d/);
    expect(net.at(1).training).toBe(true);
    expect(() => deploy.foldBatchNorm({} as nn.Module)).toThrow(/expected an nn.Module/);
  });

  it('returns a copy independent of the original', () => {
    manualSeed(6);
    const net = models.mlp({ inputs: 4, hidden: [3], classes: 2, norm: 'batch' }).eval();
    const { model } = deploy.foldBatchNorm(net);
    const before = stateValues(net);
    for (const p of model.parameters()) p.data.fill(7);
    expect(stateValues(net)).toEqual(before);
    // The copy's parameters are trainable leaves like any module's.
    expect(model.parameters().every((p) => p.requiresGrad)).toBe(true);
  });
});

describe('deploy.copyModule', () => {
  it('copies modules, buffers, options and modes; shares what the original shares', () => {
    manualSeed(7);
    const bn = new nn.BatchNorm1d(3, { momentum: 0.8, runningStats: 'cumulative', unbiasedRunningVar: false });
    const net = new nn.Sequential(new nn.Linear(2, 3), bn, new nn.Dropout(0.3), bn);
    bn.freezeStats();
    net.at(0).eval();
    const c = deploy.copyModule(net);
    expect(c).not.toBe(net);
    expect(c.at(1)).toBe(c.at(3));
    const cbn = c.at(1) as nn.BatchNorm1d;
    expect([cbn.momentum, cbn.runningStats, cbn.unbiasedRunningVar, cbn.statsFrozen]).toEqual([0.8, 'cumulative', false, true]);
    expect(c.at(0).training).toBe(false);
    expect(c.at(1).training).toBe(true);
    expect(stateValues(c)).toEqual(stateValues(net));
    expect((c.at(2) as nn.Dropout).p).toBe(0.3);
    expect(() => deploy.copyModule(new nn.Sequential(new nn.RNN(2, 3)))).toThrow(/cannot copy RNN at '0'/);
  });
});
