import { afterEach, describe, expect, it, vi } from 'vitest';
import { models, nn, optim, randn, tensor, zeros, type Tensor } from '../../src/index.js';
import { checkOptions, closest } from '../../src/nn/check.js';

/* Options are checked in every module constructor (one nn/check.ts, shared with the optimizers): unknown names
 * with a did-you-mean, wrong types, PyTorch habits pointed to their counterpart here. Non-Tensor inputs to
 * forward get an error naming the module. */

const make = (f: () => unknown) => f;
// Options objects as a user without types (or with a typo TypeScript would flag) writes them.
const loose = <T>(o: Record<string, unknown>) => o as T;

describe('unknown options: an error with a did-you-mean, in every module', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['Linear biass', () => new nn.Linear(2, 2, loose({ biass: false })), /Linear: unknown option 'biass' \(did you mean 'bias'\?\); valid options: bias, dtype/],
    ['Conv2d pad', () => new nn.Conv2d(1, 1, 3, loose({ pad: 1 })), /Conv2d: unknown option 'pad' \(did you mean 'padding'\?\)/],
    ['Conv2d padding_mode', () => new nn.Conv2d(1, 1, 3, loose({ padding_mode: 'reflect' })), /Conv2d: unknown option 'padding_mode' \(only zero padding/],
    ['BatchNorm2d track_running_stats', () => new nn.BatchNorm2d(3, loose({ track_running_stats: false })), /BatchNorm2d: unknown option 'track_running_stats' \(PyTorch's track_running_stats=False is runningStats: 'none' here\)/],
    ['BatchNorm1d running_stats', () => new nn.BatchNorm1d(3, loose({ running_stats: 'none' })), /did you mean 'runningStats'/],
    ['BatchNorm1d unbiased', () => new nn.BatchNorm1d(3, loose({ unbiased: false })), /did you mean 'unbiasedRunningVar'/],
    ['LayerNorm affine', () => new nn.LayerNorm(3, loose({ affine: false })), /LayerNorm: unknown option 'affine' \(LayerNorm's option is elementwiseAffine\)/],
    ['LayerNorm elementwise_affine', () => new nn.LayerNorm(3, loose({ elementwise_affine: false })), /did you mean 'elementwiseAffine'/],
    ['GroupNorm epsilon', () => new nn.GroupNorm(2, 4, loose({ epsilon: 1e-3 })), /GroupNorm: unknown option 'epsilon'/],
    ['InstanceNorm2d track_running_stats', () => new nn.InstanceNorm2d(3, loose({ track_running_stats: true })), /did you mean 'trackRunningStats'/],
    ['MaxPool2d ceil_mode', () => new nn.MaxPool2d(2, loose({ ceil_mode: true })), /MaxPool2d: unknown option 'ceil_mode' \(ceil mode is not supported\)/],
    ['AvgPool2d count_include_pad', () => new nn.AvgPool2d(2, loose({ count_include_pad: false })), /did you mean 'countIncludePad'/],
    ['LSTM batch_first', () => new nn.LSTM(2, 3, loose({ batch_first: true })), /LSTM: unknown option 'batch_first' \(inputs are always batch-first/],
    ['LSTM nonlinearity', () => new nn.LSTM(2, 3, loose({ nonlinearity: 'relu' })), /LSTM: unknown option 'nonlinearity' \(an option of nn.RNN only\)/],
    ['RNN num_layers', () => new nn.RNN(2, 3, loose({ num_layers: 2 })), /RNN: unknown option 'num_layers' \(did you mean 'numLayers'\?\); valid options: .*nonlinearity/],
    ['functional.batchNorm', () => nn.functional.batchNorm(randn([4, 3]), null, null, loose({ trainig: true })), /batchNorm: unknown option 'trainig' \(did you mean 'training'\?\)/],
    ['functional.conv2d', () => nn.functional.conv2d(randn([1, 1, 3, 3]), randn([1, 1, 2, 2]), null, loose({ strides: 1 })), /conv2d: unknown option 'strides' \(did you mean 'stride'\?\)/],
    ['functional.layerNorm', () => nn.functional.layerNorm(randn([2, 3]), 3, loose({ epsilon: 1 })), /layerNorm: unknown option 'epsilon'/],
    ['models.mlp', () => models.mlp(loose({ hiden: [8] })), /mlp: unknown option 'hiden' \(did you mean 'hidden'\?\)/],
    ['models.cnn', () => models.cnn(loose({ batchNorm: true })), /cnn: unknown option 'batchNorm'; valid options: image, channels, classes, bn, dtype/],
    ['optimizer (the same check)', () => new optim.SGD([zeros([1], { requiresGrad: true })], loose({ lr: 1, weight_decay: 0 })), /SGD: unknown option 'weight_decay' \(did you mean 'weightDecay'\?\)/],
  ];
  for (const [name, f, re] of cases) it(name, () => expect(make(f)).toThrow(re));

  it('options that are not an object are refused', () => {
    expect(() => new nn.Linear(2, 2, 5 as never)).toThrow(/Linear: options must be an object, got number/);
    expect(() => new nn.BatchNorm1d(3, null as never)).toThrow(/BatchNorm1d: options must be an object, got null/);
    expect(() => new nn.Conv2d(1, 1, 3, [1] as never)).toThrow(/Conv2d: options must be an object, got an array/);
  });

  it('did-you-mean: other spellings, prefixes and small typos; nothing for unrelated names', () => {
    expect(closest('weight_decay', ['lr', 'weightDecay'])).toBe('weightDecay');
    expect(closest('clipnorm', ['clipNorm', 'clipValue'])).toBe('clipNorm');
    expect(closest('pad', ['stride', 'padding'])).toBe('padding');
    expect(closest('biass', ['bias', 'dtype'])).toBe('bias');
    expect(closest('momentun', ['eps', 'momentum'])).toBe('momentum');
    expect(closest('detph', ['dtype', 'depth'])).toBe('depth'); // a swap is one edit
    expect(closest('foo', ['bias', 'dtype'])).toBeUndefined();
    expect(closest('xyz', ['padding', 'stride'])).toBeUndefined();
    expect(() => checkOptions('X', { a: 1, foo: 2 }, ['a'])).toThrow(/X: unknown option 'foo'; valid options: a/);
    expect(() => checkOptions('X', { b: 1, c: 2 }, ['a'])).toThrow(/unknown options 'b', 'c'/);
  });
});

describe('wrong option types are errors naming the option and the value', () => {
  it('booleans, dtypes, enumerations, numbers', () => {
    expect(() => new nn.Linear(2, 2, { bias: 'no' as never })).toThrow(/Linear: bias must be true or false, got "no"/);
    expect(() => new nn.Conv2d(1, 1, 3, { bias: 0 as never })).toThrow(/Conv2d: bias must be true or false, got 0/);
    expect(() => new nn.BatchNorm1d(3, { affine: 1 as never })).toThrow(/BatchNorm1d: affine must be true or false, got 1/);
    expect(() => new nn.BatchNorm1d(3, { unbiasedRunningVar: 'yes' as never })).toThrow(/unbiasedRunningVar must be true or false/);
    expect(() => new nn.InstanceNorm1d(3, { trackRunningStats: 1 as never })).toThrow(/InstanceNorm1d: trackRunningStats must be true or false/);
    expect(() => new nn.LayerNorm(3, { elementwiseAffine: null as never })).toThrow(/elementwiseAffine must be true or false, got null/);
    expect(() => new nn.Linear(2, 2, { dtype: 'float16' as never })).toThrow(/Linear: unknown dtype 'float16'; use 'float32' or 'float64'/);
    expect(() => new nn.LSTM(2, 3, { batchNorm: 'yes' as never })).toThrow(/LSTM: unknown batchNorm 'yes'; expected one of 'none', 'shared', 'perStep'/);
    expect(() => new nn.BatchNorm1d(3, { virtualBatchSize: 0 })).toThrow(/BatchNorm1d: virtualBatchSize must be a positive integer, got 0/);
    expect(() => new nn.Linear(2.5, 2)).toThrow(/Linear: inFeatures must be a positive integer, got 2.5/);
    expect(() => new nn.Linear(2, '3' as never)).toThrow(/Linear: outFeatures must be a positive integer, got "3"/);
  });

  it("momentum: null (PyTorch's cumulative average) is an error pointing to runningStats: 'cumulative'; no warning first", () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      for (const Cls of [nn.BatchNorm1d, nn.BatchNorm2d]) {
        expect(() => new Cls(3, { momentum: null as never })).toThrow(/momentum must be a number in \[0, 1\], got null; for a plain average over all batches \(PyTorch's momentum=None\) use runningStats: 'cumulative'/);
        const bn = new Cls(3);
        expect(() => { bn.momentum = null as never; }).toThrow(/runningStats: 'cumulative'/);
        expect(bn.momentum).toBe(0.9);
      }
      expect(() => nn.functional.batchNorm(randn([4, 3]), zeros([3]), zeros([3]), { training: true, momentum: null as never })).toThrow(/momentum must be a number in \[0, 1\], got null; .*1 − 1\/n/);
      expect(() => new nn.InstanceNorm1d(3, { momentum: null as never })).toThrow(/InstanceNorm1d: momentum must be a number in \[0, 1\], got null/);
      expect(() => new nn.BatchNorm1d(3, { momentum: '0.9' as never })).toThrow(/momentum must be in \[0, 1\], got "0.9"/);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
    // the cumulative average it points to is PyTorch's momentum=None: the plain mean of the batch means
    const bn = new nn.BatchNorm1d(1, { runningStats: 'cumulative' });
    for (const b of [[1, 3], [5, 7], [0, 2]]) bn.forward(tensor(b, [2, 1]));
    expect(bn.runningMean!.item()).toBeCloseTo((2 + 6 + 1) / 3, 6);
  });
});

describe('forward with something other than a Tensor', () => {
  afterEach(() => vi.restoreAllMocks());
  const modules: [string, () => nn.Module][] = [
    ['Linear', () => new nn.Linear(2, 2)], ['Sequential', () => new nn.Sequential(new nn.Linear(2, 2))], ['ReLU', () => new nn.ReLU()],
    ['Sigmoid', () => new nn.Sigmoid()], ['BatchNorm1d', () => new nn.BatchNorm1d(2)], ['LayerNorm', () => new nn.LayerNorm(2)],
    ['GroupNorm', () => new nn.GroupNorm(1, 2)], ['InstanceNorm1d', () => new nn.InstanceNorm1d(2)], ['Conv2d', () => new nn.Conv2d(1, 1, 1)],
    ['MaxPool2d', () => new nn.MaxPool2d(1)], ['Dropout', () => new nn.Dropout()], ['Flatten', () => new nn.Flatten()],
    ['LSTM', () => new nn.LSTM(2, 2)], ['RNN', () => new nn.RNN(2, 2)],
  ];
  for (const [name, f] of modules) {
    it(`${name}: a nested array names the module and the fix`, () => {
      const m = f();
      const before = JSON.stringify(Object.entries(m.stateDict()).map(([k, v]) => [k, [...v.data]]));
      expect(() => m.forward([[1, 2]] as unknown as Tensor)).toThrow(new RegExp(`^${name}\\.forward: expected a Tensor input, got an array \\(nested arrays are not tensors: wrap them with tensor\\(\\.\\.\\.\\)\\)$`));
      expect(() => m.forward(new Float32Array(4) as unknown as Tensor)).toThrow(new RegExp(`${name}.forward: expected a Tensor input, got a Float32Array`));
      expect(() => m.forward(undefined as unknown as Tensor)).toThrow(/expected a Tensor input/);
      expect(JSON.stringify(Object.entries(m.stateDict()).map(([k, v]) => [k, [...v.data]]))).toBe(before);
    });
  }

  it('a user module calling a built-in one gets the built-in one named; a bad second argument is named too', () => {
    class Net extends nn.Module {
      fc = new nn.Linear(2, 2);
      forward(x: Tensor) { return this.fc.forward(x); }
    }
    expect(() => new Net().forward([[1, 2]] as unknown as Tensor)).toThrow(/^Linear\.forward: expected a Tensor input, got an array/);
    expect(() => new nn.LSTM(2, 2).forward(randn([1, 3, 2]), [[0]] as unknown as Tensor)).toThrow(/LSTM\.forward: expected a Tensor argument 1, got an array/);
  });

  it('functional forms and losses name themselves', () => {
    expect(() => nn.functional.linear([[1, 2]] as unknown as Tensor, randn([2, 2]))).toThrow(/linear: expected a Tensor input, got an array/);
    expect(() => nn.functional.batchNorm([[1, 2]] as unknown as Tensor, null, null, { training: true })).toThrow(/batchNorm: expected a Tensor input, got an array/);
    expect(() => nn.functional.layerNorm(3 as unknown as Tensor, 3)).toThrow(/layerNorm: expected a Tensor input, got number 3/);
    expect(() => nn.functional.mseLoss([1, 2] as unknown as Tensor, tensor([1, 2]))).toThrow(/mseLoss: input must be a Tensor, got an array; wrap it with tensor/);
  });
});

describe('NormBase: what BatchNorm and InstanceNorm share (PyTorch _NormBase)', () => {
  it('both extend it, with the same checks, parameters and buffers', () => {
    const bn = new nn.BatchNorm1d(3), inorm = new nn.InstanceNorm1d(3, { affine: true, trackRunningStats: true });
    expect(bn).toBeInstanceOf(nn.NormBase);
    expect(inorm).toBeInstanceOf(nn.NormBase);
    expect(Object.keys(bn.stateDict())).toEqual(Object.keys(inorm.stateDict()));
    for (const Cls of [nn.BatchNorm2d, nn.InstanceNorm2d]) {
      expect(() => new Cls(0)).toThrow(new RegExp(`${Cls.name}: numFeatures must be a positive integer, got 0`));
      expect(() => new Cls(3, { eps: -1 })).toThrow(new RegExp(`${Cls.name}: eps must be > 0, got -1`));
      expect(() => new Cls(3, { dtype: 'int8' as never })).toThrow(/unknown dtype 'int8'/);
    }
  });

  it('resetRunningStats and resetParameters restore the initial state', () => {
    const bn = new nn.BatchNorm1d(2);
    bn.forward(tensor([[1, 2], [3, 8]]));
    bn.weight!.data.fill(3);
    expect(bn.runningMean!.toArray()).not.toEqual([0, 0]);
    bn.resetRunningStats();
    expect([bn.runningMean!.toArray(), bn.runningVar!.toArray(), bn.numBatchesTracked!.item(), bn.weight!.toArray()]).toEqual([[0, 0], [1, 1], 0, [3, 3]]);
    bn.resetParameters();
    expect([bn.weight!.toArray(), bn.bias!.toArray()]).toEqual([[1, 1], [0, 0]]);
  });
});
