import { describe, expect, it } from 'vitest';
import { Rng, manualSeed, nn, randn, tensor, type Tensor } from '../../src/index.js';

/* Module: PyTorch-style names and order, state dicts in and out, dtype conversion, gradients, user modules. */

/** Sequential(Linear(4, 3), BatchNorm1d(3), Sigmoid(), Linear(3, 2)), trained one step so every buffer moved. */
function mlp(seed: number): nn.Sequential {
  manualSeed(seed);
  const m = new nn.Sequential(new nn.Linear(4, 3), new nn.BatchNorm1d(3), new nn.Sigmoid(), new nn.Linear(3, 2));
  m.forward(randn([5, 4])).sum().backward();
  return m;
}

function snapshot(m: nn.Module): Record<string, { shape: readonly number[]; dtype: string; data: number[] }> {
  return Object.fromEntries(Object.entries(m.stateDict()).map(([k, v]) => [k, { shape: v.shape, dtype: v.dtype, data: Array.from(v.data) }]));
}

const PYTORCH_KEYS = ['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked', '3.weight', '3.bias'];

describe('stateDict', () => {
  it('has the keys of the same PyTorch model, in PyTorch order, with the shapes PyTorch has', () => {
    const sd = mlp(0).stateDict();
    expect(Object.keys(sd)).toEqual(PYTORCH_KEYS);
    expect(Object.values(sd).map((t) => t.shape)).toEqual([[3, 4], [3], [3], [3], [3], [3], [], [2, 3], [2]]);
    expect(sd['1.num_batches_tracked'].item()).toBe(1);
    expect(Object.values(sd).every((t) => !t.requiresGrad)).toBe(true);
  });

  it('BatchNorm without affine or without running statistics has the keys PyTorch has', () => {
    expect(Object.keys(new nn.BatchNorm2d(3, { affine: false }).stateDict())).toEqual(['running_mean', 'running_var', 'num_batches_tracked']);
    expect(Object.keys(new nn.BatchNorm1d(3, { runningStats: 'none' }).stateDict())).toEqual(['weight', 'bias']);
    expect(Object.keys(new nn.BatchNorm1d(3, { runningStats: 'cumulative' }).stateDict())).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
  });

  it('namedParameters and namedBuffers use the same dotted names', () => {
    const m = mlp(0);
    expect([...m.namedParameters()].map(([n]) => n)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '3.weight', '3.bias']);
    expect([...m.namedBuffers()].map(([n]) => n)).toEqual(['1.running_mean', '1.running_var', '1.num_batches_tracked']);
    expect(m.parameters().every((p) => p.requiresGrad)).toBe(true);
  });
});

describe('loadStateDict', () => {
  const encodings: Record<string, (t: Tensor) => unknown> = {
    tensors: (t) => t.clone().detach(),
    'typed arrays': (t) => t.data.slice(),
    'float64 typed arrays': (t) => Float64Array.from(t.data),
    'number arrays': (t) => Array.from(t.data),
    'nested arrays': (t) => t.toArray(),
  };
  for (const [name, encode] of Object.entries(encodings)) {
    it(`round-trips through ${name}: same state, same eval output`, () => {
      const a = mlp(1), b = mlp(2);
      expect(snapshot(b)).not.toEqual(snapshot(a));
      const record = Object.fromEntries(Object.entries(a.stateDict()).map(([k, v]) => [k, encode(v)]));
      b.loadStateDict(record as Record<string, nn.StateValue>);
      expect(snapshot(b)).toEqual(snapshot(a));
      const x = randn([3, 4]);
      a.eval(); b.eval();
      expect(Array.from(b.forward(x).data)).toEqual(Array.from(a.forward(x).data));
    });
  }

  it('copies values (no aliasing of the record) and keeps the module\'s tensors and dtypes', () => {
    const a = mlp(1), b = mlp(2);
    const weight = b.stateDict()['0.weight'];
    const record = a.stateDict();
    b.loadStateDict(record);
    expect(b.stateDict()['0.weight'].data).toBe(weight.data);
    record['0.weight'].data[0] = 123;
    expect(b.stateDict()['0.weight'].data[0]).not.toBe(123);
  });

  it('round-trips a model whose module appears twice (its names both present, as in PyTorch)', () => {
    const shared = new nn.Linear(2, 2);
    const a = new nn.Sequential(shared, new nn.ReLU(), shared);
    expect(Object.keys(a.stateDict())).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(a.parameters()).toHaveLength(2);
    const b = new nn.Sequential(new nn.Linear(2, 2), new nn.ReLU(), new nn.Linear(2, 2));
    b.loadStateDict(a.stateDict());
    expect(snapshot(b)).toEqual(snapshot(a));
    a.loadStateDict(b.stateDict());
  });

  it('missing, unexpected and mis-shaped entries are errors naming each of them, and nothing changes', () => {
    const src = mlp(1).stateDict();
    const target = mlp(2);
    const before = snapshot(target);
    const attempt = (record: Record<string, unknown>, ...patterns: RegExp[]) => {
      let message = '';
      try { target.loadStateDict(record as Record<string, nn.StateValue>); } catch (e) { message = (e as Error).message; }
      expect(message).not.toBe('');
      for (const p of patterns) expect(message).toMatch(p);
      expect(snapshot(target)).toEqual(before);
    };
    const { ['0.bias']: _b, ['1.running_var']: _v, ...missing } = src;
    attempt(missing, /missing: 0\.bias, 1\.running_var/);
    attempt({ ...src, '4.weight': randn([2]), 'extra': [1] }, /unexpected: 4\.weight, extra/);
    attempt({ ...src, '0.weight': randn([4, 3]) }, /0\.weight: shape \[4, 3\] does not match the module's \[3, 4\]/);
    attempt({ ...src, '3.weight': [[1, 2], [3, 4], [5, 6]] }, /3\.weight: shape \[3, 2\] does not match the module's \[2, 3\]/);
    attempt({ ...src, '1.running_mean': [1, 2] }, /1\.running_mean: shape \(2 values\) does not match the module's \[3\]/);
    attempt({ ...src, '1.bias': new Float32Array(4) }, /1\.bias: shape \(4 values\)/);
    attempt({ ...src, '1.weight': [[1, 2], [3]] }, /1\.weight: expected a tensor, typed array, number array or number/);
    attempt({ ...src, '3.bias': 'zeros' }, /3\.bias: expected a tensor/);
    // several problems at once are all named; the valid entries are not written either
    attempt({ ...missing, extra: [1], '0.weight': randn([3, 5]), '3.bias': [9, 9] }, /missing: 0\.bias, 1\.running_var/, /unexpected: extra/, /0\.weight: shape \[3, 5\]/);
    expect(() => target.loadStateDict(null as unknown as Record<string, nn.StateValue>)).toThrow(/expected an object/);
  });

  it('accepts a number for the scalar num_batches_tracked', () => {
    const m = mlp(1);
    const record: Record<string, nn.StateValue> = { ...m.stateDict(), '1.num_batches_tracked': 41 };
    m.loadStateDict(record);
    expect((m.at(1) as nn.BatchNorm1d).numBatchesTracked!.item()).toBe(41);
  });
});

describe('to(dtype)', () => {
  it("converts parameters and float buffers, keeps values and requiresGrad, leaves num_batches_tracked alone", () => {
    const m = mlp(3);
    const bn = m.at(1) as nn.BatchNorm1d;
    const counter = bn.numBatchesTracked!;
    const before = snapshot(m);
    expect(m.to('float64')).toBe(m);
    const after = snapshot(m);
    for (const k of PYTORCH_KEYS) {
      expect(after[k].dtype, k).toBe('float64');
      expect(after[k].data, k).toEqual(before[k].data); // float32 → float64 is exact
      expect(after[k].shape, k).toEqual(before[k].shape);
    }
    expect(bn.numBatchesTracked).toBe(counter);
    expect(m.parameters().every((p) => p.requiresGrad && p.dtype === 'float64')).toBe(true);
    const y = m.forward(randn([4, 4], { dtype: 'float64' }));
    expect(y.dtype).toBe('float64');
    y.sum().backward();
    expect(m.parameters().every((p) => p.grad?.dtype === 'float64')).toBe(true);
    m.to('float32');
    const back = snapshot(m);
    for (const k of PYTORCH_KEYS) expect(back[k].dtype, k).toBe(k === '1.num_batches_tracked' ? 'float64' : 'float32');
    expect(bn.numBatchesTracked).toBe(counter);
    expect(bn.numBatchesTracked!.item()).toBe(2);
    // @ts-expect-error: not a DType
    expect(() => m.to('int8')).toThrow(/unknown dtype 'int8'/);
  });
});

describe('gradients and parameters', () => {
  it('zeroGrad drops every gradient; gradients accumulate until then', () => {
    const m = mlp(4);
    const g1 = m.parameters().map((p) => Array.from(p.grad!.data));
    m.forward(randn([5, 4])).sum().backward();
    expect(m.parameters().some((p, i) => p.grad!.data.some((v, j) => v !== g1[i][j]))).toBe(true);
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
  });

  it('parameters() lists a tensor shared by two modules once, under its first name', () => {
    const a = new nn.Linear(3, 3), b = new nn.Linear(3, 3);
    b.weight = a.weight;
    const m = new nn.Sequential(a, b, a);
    expect(m.parameters()).toHaveLength(3);
    expect([...m.namedParameters()].map(([n]) => n)).toEqual(['0.weight', '0.bias', '1.bias']);
  });
});

describe('user-defined modules', () => {
  class Block extends nn.Module {
    fc = new nn.Linear(4, 3);
    bn = new nn.BatchNorm1d(3);
    act = new nn.ReLU();
    forward(x: Tensor) { return this.act.forward(this.bn.forward(this.fc.forward(x))); }
  }
  class Net extends nn.Module {
    note = 'not a module';
    blocks = [new Block(), new nn.Identity()];
    head = new nn.Linear(3, 2, { bias: false });
    constructor() {
      super();
      this.registerParameter('scale', tensor([2]));
      this.registerBuffer('steps', tensor([0]));
    }
    forward(x: Tensor) { return this.head.forward(this.blocks[1].forward(this.blocks[0].forward(x))).mul(this.scale); }
    declare scale: Tensor;
  }

  it('finds child modules in properties and arrays, in definition order, with PyTorch-style names', () => {
    const net = new Net();
    expect(Object.keys(net.stateDict())).toEqual([
      'scale', 'steps',
      'blocks.0.fc.weight', 'blocks.0.fc.bias', 'blocks.0.bn.weight', 'blocks.0.bn.bias',
      'blocks.0.bn.running_mean', 'blocks.0.bn.running_var', 'blocks.0.bn.num_batches_tracked',
      'head.weight',
    ]);
    expect([...net.namedModules()].map(([n]) => n)).toEqual(['', 'blocks.0', 'blocks.0.fc', 'blocks.0.bn', 'blocks.0.act', 'blocks.1', 'head']);
    expect(net.children()).toHaveLength(3);
  });

  it('trains end to end: every parameter gets a gradient, and eval() reaches the nested BatchNorm', () => {
    const net = new Net();
    const x = randn([6, 4], { rng: new Rng(5) });
    net.forward(x).sum().backward();
    expect(net.parameters().map((p) => p.grad !== null)).toEqual(new Array(6).fill(true));
    net.eval();
    expect((net.blocks[0] as Block).bn.training).toBe(false);
    const y1 = Array.from(net.forward(x).data), y2 = Array.from(net.forward(x.reshape([6, 4])).data);
    expect(y1).toEqual(y2);
  });
});

