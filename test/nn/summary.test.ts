import { describe, expect, it } from 'vitest';
import { getRngState, manualSeed, nn, randn, type Tensor } from '../../src/index.js';

/* nn.summary: layers, output shapes, parameter counts (trainable and not) with totals, as Keras and torchinfo;
 * the model and the global random state are left as they were. */

const mlp = () => new nn.Sequential(new nn.Linear(784, 100, { bias: false }), new nn.BatchNorm1d(100), new nn.Sigmoid(), new nn.Linear(100, 10));

describe('nn.summary', () => {
  it('rows: names, types, depths, output shapes and own parameter counts; totals as Keras counts them', () => {
    const s = nn.summary(mlp(), [60, 784]);
    expect(s.rows.map((r) => [r.name, r.type, r.depth, r.outputShape, r.trainableParams, r.nonTrainableParams])).toEqual([
      ['', 'Sequential', 0, [60, 10], 0, 0],
      ['0', 'Linear', 1, [60, 100], 784 * 100, 0],
      ['1', 'BatchNorm1d', 1, [60, 100], 200, 200], // γ, β trainable; running mean and variance not (num_batches_tracked is no parameter)
      ['2', 'Sigmoid', 1, [60, 100], 0, 0],
      ['3', 'Linear', 1, [60, 10], 1010, 0],
    ]);
    expect([s.trainableParams, s.nonTrainableParams, s.totalParams]).toEqual([79610, 200, 79810]);
    expect(s.outputShape).toEqual([60, 10]);
  });

  it('the table', () => {
    expect(String(nn.summary(mlp(), [60, 784]))).toBe([
      'Input shape: [60, 784]',
      '─────────────────────────────────────────',
      'Layer (type)       Output shape   Param #',
      '─────────────────────────────────────────',
      'Sequential         [60, 10]            --',
      '  0: Linear        [60, 100]       78,400',
      '  1: BatchNorm1d   [60, 100]          400',
      '  2: Sigmoid       [60, 100]           --',
      '  3: Linear        [60, 10]         1,010',
      '─────────────────────────────────────────',
      'Total params: 79,810',
      'Trainable params: 79,610',
      'Non-trainable params: 200',
    ].join('\n'));
  });

  it('the totals equal the model\'s parameters and floating-point buffers, each shared tensor once; frozen parameters are non-trainable', () => {
    const shared = new nn.Linear(8, 8);
    class Net extends nn.Module {
      conv = new nn.Conv2d(1, 4, 3, { padding: 1 });
      bn = new nn.BatchNorm2d(4);
      head = new nn.Sequential(new nn.Flatten(), new nn.Linear(4 * 4 * 4, 8), shared, shared, new nn.LayerNorm(8));
      forward(x: Tensor) { return this.head.forward(new nn.MaxPool2d(2).forward(this.bn.forward(this.conv.forward(x)).relu())); }
    }
    const net = new Net();
    net.conv.bias!.requiresGrad = false;
    const s = nn.summary(net, [2, 1, 8, 8]);
    const trainable = net.parameters().filter((p) => p.requiresGrad).reduce((n, p) => n + p.size, 0);
    const frozen = net.parameters().filter((p) => !p.requiresGrad).reduce((n, p) => n + p.size, 0)
      + [...net.namedBuffers()].filter(([n]) => !n.endsWith('num_batches_tracked')).reduce((n, [, b]) => n + b.size, 0);
    expect([s.trainableParams, s.nonTrainableParams]).toEqual([trainable, frozen]);
    expect(frozen).toBe(4 + 8);
    const row = (name: string) => s.rows.find((r) => r.name === name)!;
    expect(row('head.2').calls).toBe(2);                 // a module used twice runs twice
    expect(String(s)).toContain('[2, 8] ×2');
    expect([row('head.2').trainableParams, row('head.3').trainableParams]).toEqual([72, 0]); // listed under both names, counted once
    expect(row('head').depth).toBe(1);
    expect(row('head.4').depth).toBe(2);
    expect(row('head.0').outputShape).toEqual([2, 64]);
  });

  it('leaves the model as it was: parameters, running statistics, modes, hooks; the global generator is not drawn from', () => {
    manualSeed(7);
    const model = mlp();
    model.forward(randn([60, 784])); // non-trivial running statistics
    (model.at(3) as nn.Module).eval();
    const state = Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, [...v.data]]));
    const modes = model.modules().map((m) => m.training);
    const rng = JSON.stringify(getRngState());
    nn.summary(model, [60, 784]);
    expect(Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, [...v.data]]))).toEqual(state);
    expect(model.modules().map((m) => m.training)).toEqual(modes);
    expect(JSON.stringify(getRngState())).toBe(rng);
    for (const m of model.modules()) expect(Object.prototype.hasOwnProperty.call(m, 'forward')).toBe(false);
    const lstm = new nn.LSTM(3, 4);
    nn.summary(lstm, [2, 5, 3]);
    expect(lstm.finalState).toBeNull();
  });

  it('several inputs, a float64 model, and depth', () => {
    class Pair extends nn.Module {
      fc = new nn.Linear(3, 2).to('float64');
      forward(a: Tensor, b: Tensor) { return this.fc.forward(a.add(b)); }
    }
    const s = nn.summary(new Pair(), [[4, 3], [4, 3]]);
    expect(s.outputShape).toEqual([4, 2]);
    expect(s.inputShapes).toEqual([[4, 3], [4, 3]]);
    const model = new nn.Sequential(new nn.Sequential(new nn.Linear(2, 2)));
    expect(String(nn.summary(model, [1, 2], { depth: 1 }))).not.toContain('Linear');
    expect(nn.summary(model, [1, 2], { depth: 1 }).trainableParams).toBe(6);
  });

  it('errors name the problem; a failing forward names the input shape; the model is restored', () => {
    const model = mlp();
    expect(() => nn.summary(model, [60, 785])).toThrow(/summary: the model's forward failed on input \[60, 785\] \(float32\): linear: input shape \[60, 785\]/);
    expect(model.training).toBe(true);
    expect(model.modules().some((m) => Object.prototype.hasOwnProperty.call(m, 'forward'))).toBe(false);
    expect(() => nn.summary(model, [60, 0])).toThrow(/summary: inputShape must be a shape/);
    expect(() => nn.summary(model, 784 as never)).toThrow(/summary: inputShape must be a shape/);
    expect(() => nn.summary({} as never, [1])).toThrow(/summary: expected a Module/);
    expect(() => nn.summary(model, [60, 784], { detph: 1 } as never)).toThrow(/unknown option 'detph' \(did you mean 'depth'\?\)/);
  });
});
