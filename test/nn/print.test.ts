import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { Tensor, manualSeed, nn, ones, randn, setPrintOptions, tensor, zeros } from '../../src/index.js';

/* Printing: String(module) is the module tree with each module's options (PyTorch's repr); String(tensor) and
 * console.log(tensor) show values, shape, dtype and gradient state. */

/** One instance of every module class nn exports, and what its first line must show. */
const EVERY_MODULE: Record<string, [() => nn.Module, string]> = {
  Linear: [() => new nn.Linear(4, 3), 'Linear(inFeatures=4, outFeatures=3, bias=true)'],
  Sigmoid: [() => new nn.Sigmoid(), 'Sigmoid()'],
  ReLU: [() => new nn.ReLU(), 'ReLU()'],
  Tanh: [() => new nn.Tanh(), 'Tanh()'],
  Identity: [() => new nn.Identity(), 'Identity()'],
  Sequential: [() => new nn.Sequential(new nn.ReLU()), 'Sequential('],
  BatchNorm1d: [() => new nn.BatchNorm1d(3, { momentum: 0.8 }), "BatchNorm1d(3, eps=0.00001, momentum=0.8, runningStats='ema', affine=true)"],
  BatchNorm2d: [() => new nn.BatchNorm2d(5, { runningStats: 'none', affine: false }), "BatchNorm2d(5, eps=0.00001, momentum=0.9, runningStats='none', affine=false)"],
  SyncBatchNorm: [() => new nn.SyncBatchNorm(3), "SyncBatchNorm(3, eps=0.00001, momentum=0.9, runningStats='ema', affine=true)"],
  LayerNorm: [() => new nn.LayerNorm([3, 4]), 'LayerNorm([3, 4], eps=0.00001, elementwiseAffine=true)'],
  GroupNorm: [() => new nn.GroupNorm(2, 6, { affine: false }), 'GroupNorm(2, 6, eps=0.00001, affine=false)'],
  InstanceNorm1d: [() => new nn.InstanceNorm1d(3, { trackRunningStats: true }), 'InstanceNorm1d(3, eps=0.00001, momentum=0.9, affine=false, trackRunningStats=true)'],
  InstanceNorm2d: [() => new nn.InstanceNorm2d(3), 'InstanceNorm2d(3, eps=0.00001, momentum=0.9, affine=false, trackRunningStats=false)'],
  Conv2d: [() => new nn.Conv2d(3, 8, 3, { padding: 1, bias: false }), 'Conv2d(3, 8, kernelSize=[3, 3], stride=[1, 1], padding=[1, 1], bias=false)'],
  MaxPool2d: [() => new nn.MaxPool2d(2), 'MaxPool2d(kernelSize=2, stride=2, padding=0)'],
  AvgPool2d: [() => new nn.AvgPool2d(3, { stride: 1, padding: 1, countIncludePad: false }), 'AvgPool2d(kernelSize=3, stride=1, padding=1, countIncludePad=false)'],
  AdaptiveAvgPool2d: [() => new nn.AdaptiveAvgPool2d([2, null]), 'AdaptiveAvgPool2d(outputSize=[2, null])'],
  Dropout: [() => new nn.Dropout(0.25), 'Dropout(p=0.25)'],
  Flatten: [() => new nn.Flatten(), 'Flatten(startDim=1, endDim=-1)'],
  Unflatten: [() => new nn.Unflatten(1, [1, 28, 28]), 'Unflatten(dim=1, shape=[1, 28, 28])'],
  RNN: [() => new nn.RNN(28, 64, { numLayers: 2, nonlinearity: 'relu' }), "RNN(28, 64, numLayers=2, nonlinearity='relu')"],
  LSTM: [() => new nn.LSTM(28, 64, { bias: false }), 'LSTM(28, 64, bias=false)'],
};

describe('String(module)', () => {
  it('every module class nn exports prints its name and options (none is [object Object])', () => {
    const classes = Object.entries(nn).filter(([, v]) => typeof v === 'function' && v.prototype instanceof nn.Module
      && !['BatchNorm', 'NormBase', 'InstanceNorm', 'RecurrentBase'].includes(v.name));
    expect(classes.length).toBeGreaterThan(20);
    for (const [name] of classes) expect(EVERY_MODULE, `a print test for nn.${name}`).toHaveProperty(name);
    for (const [name, [make, first]] of Object.entries(EVERY_MODULE)) {
      const s = String(make());
      expect(s.split('\n')[0], name).toBe(first);
      expect(`${make()}`).toBe(s); // template strings too
    }
  });

  it('a container prints its children, named and indented as in PyTorch', () => {
    const model = new nn.Sequential(new nn.Linear(784, 100, { bias: false }), new nn.BatchNorm1d(100), new nn.Sigmoid(), new nn.Linear(100, 10));
    expect(String(model)).toBe([
      'Sequential(',
      '  (0): Linear(inFeatures=784, outFeatures=100, bias=false)',
      "  (1): BatchNorm1d(100, eps=0.00001, momentum=0.9, runningStats='ema', affine=true)",
      '  (2): Sigmoid()',
      '  (3): Linear(inFeatures=100, outFeatures=10, bias=true)',
      ')',
    ].join('\n'));
  });

  it('user modules print their children by property name; nested children are indented further; options and children together', () => {
    class Block extends nn.Module {
      conv = new nn.Conv2d(1, 4, 3);
      body = new nn.Sequential(new nn.BatchNorm2d(4), new nn.ReLU());
      forward(x: Tensor) { return this.body.forward(this.conv.forward(x)); }
    }
    expect(String(new Block())).toBe([
      'Block(',
      '  (conv): Conv2d(1, 4, kernelSize=[3, 3], stride=[1, 1])',
      '  (body): Sequential(',
      "    (0): BatchNorm2d(4, eps=0.00001, momentum=0.9, runningStats='ema', affine=true)",
      '    (1): ReLU()',
      '  )',
      ')',
    ].join('\n'));
    expect(String(new nn.LSTM(4, 6, { layerNorm: true }))).toBe([
      'LSTM(',
      '  4, 6, layerNorm=true',
      '  (ln_ih_l0): LayerNorm([24], eps=0.00001, elementwiseAffine=true)',
      '  (ln_hh_l0): LayerNorm([24], eps=0.00001, elementwiseAffine=true)',
      '  (ln_c_l0): LayerNorm([6], eps=0.00001, elementwiseAffine=true)',
      ')',
    ].join('\n'));
  });

  it('extraRepr is the hook for a user module to show its own settings', () => {
    class Scale extends nn.Module {
      constructor(readonly factor: number) { super(); }
      forward(x: Tensor) { return x.mul(this.factor); }
      override extraRepr() { return `factor=${this.factor}`; }
    }
    expect(String(new nn.Sequential(new Scale(2)))).toBe('Sequential(\n  (0): Scale(factor=2)\n)');
  });

  it('console.log (util.inspect) prints the same tree', () => {
    const m = new nn.Sequential(new nn.Linear(2, 2), new nn.Tanh());
    expect(inspect(m)).toBe(String(m));
    expect(inspect({ model: m })).toContain('(1): Tanh()');
  });
});

describe('String(tensor)', () => {
  afterEach(() => setPrintOptions({ threshold: 1000, edgeItems: 3, precision: 4, lineWidth: 80 }));

  it('small tensors: all values in one format, rows aligned, shape and dtype', () => {
    expect(String(tensor([[1, 2], [3, 4.5]]))).toBe('Tensor([[1.0000, 2.0000],\n        [3.0000, 4.5000]], shape=[2, 2], dtype=float32)');
    expect(String(tensor([[1, -2], [30, 4]], undefined, { dtype: 'float64' }))).toBe('Tensor([[ 1, -2],\n        [30,  4]], shape=[2, 2], dtype=float64)');
    expect(String(tensor(3.5))).toBe('Tensor(3.5000, shape=[], dtype=float32)');
    expect(String(zeros([0]))).toBe('Tensor([], shape=[0], dtype=float32)');
    expect(String(tensor([1e-6, 1, 1e5], undefined, { dtype: 'float64' }))).toBe('Tensor([1.0000e-6, 1.0000e+0, 1.0000e+5], shape=[3], dtype=float64)');
    expect(String(tensor([NaN, 1, -Infinity]))).toBe('Tensor([      NaN,         1, -Infinity], shape=[3], dtype=float32)');
  });

  it('rank 3: blocks separated by a blank line, as PyTorch', () => {
    expect(String(tensor([[[1, 2]], [[3, 4]]]))).toBe('Tensor([[[1, 2]],\n\n        [[3, 4]]], shape=[2, 1, 2], dtype=float32)');
  });

  it('gradient state: requiresGrad on a leaf, gradFn on a recorded result, nothing otherwise', () => {
    const w = ones([2], { requiresGrad: true });
    expect(String(w)).toBe('Tensor([1, 1], shape=[2], dtype=float32, requiresGrad=true)');
    expect(String(w.mul(3))).toBe('Tensor([3, 3], shape=[2], dtype=float32, gradFn=mul)');
    expect(String(w.detach())).toBe('Tensor([1, 1], shape=[2], dtype=float32)');
  });

  it('large tensors are abbreviated to the first and last 3 entries along each axis', () => {
    manualSeed(0);
    const x = randn([40, 50]);
    const s = String(x);
    const lines = s.split('\n');
    expect(lines).toHaveLength(7); // 3 rows, '...', 3 rows
    expect(lines[3].trim()).toBe('...,');
    expect(lines[0]).toMatch(/^Tensor\(\[\[ ?-?\d\.\d{4}, +-?\d\.\d{4}, +-?\d\.\d{4}, \.\.\., +-?\d\.\d{4}, +-?\d\.\d{4}, +-?\d\.\d{4}\],$/);
    const d = x.data;
    expect(lines[0]).toContain(d[0].toFixed(4));
    expect(lines[6]).toContain(d[40 * 50 - 1].toFixed(4));
    expect(lines[6]).toMatch(/\]\], shape=\[40, 50\], dtype=float32\)$/);
    // 1000 elements is the threshold: at it everything is shown
    expect(String(zeros([1000]))).not.toContain('...');
    expect(String(zeros([1001]))).toContain('...');
    expect(String(zeros([100000])).length).toBeLessThan(100);
  });

  it('long rows wrap at 80 columns; setPrintOptions changes the threshold, edge items and precision', () => {
    const lines = String(tensor(Array.from({ length: 30 }, (_, i) => i + 0.5))).split('\n');
    expect(lines.length).toBeGreaterThan(1);
    // the values wrap at 80 columns (the shape and dtype follow the last row, as PyTorch's suffix does)
    for (const l of lines) expect(l.replace(/, shape=.*$/, '').length).toBeLessThanOrEqual(80);
    setPrintOptions({ threshold: 5, edgeItems: 1, precision: 2 });
    expect(String(tensor([1.5, 2, 3, 4, 5, 6]))).toBe('Tensor([1.50, ..., 6.00], shape=[6], dtype=float32)');
    expect(() => setPrintOptions({ treshold: 5 } as never)).toThrow(/unknown option 'treshold'/);
    expect(() => setPrintOptions({ precision: -1 })).toThrow(/precision must be a non-negative integer/);
  });

  it('a disposed tensor prints without throwing', () => {
    const t = tensor([1, 2]);
    t.dispose();
    expect(String(t)).toBe('Tensor(<disposed>, shape=[2], dtype=float32)');
  });

  it('console.log (util.inspect) shows the same text, also inside objects', () => {
    const t = tensor([[1, 2], [3, 4]]);
    expect(inspect(t)).toBe(String(t));
    expect(inspect({ t })).toContain('shape=[2, 2]');
  });

  it('the browser bundle needs no node:util: the inspect hook is the registered symbol', async () => {
    const { readFileSync } = await import('node:fs');
    for (const f of ['../../src/tensor/tensor.ts', '../../src/tensor/format.ts', '../../src/nn/module.ts', '../../src/nn/summary.ts'])
      expect(readFileSync(new URL(f, import.meta.url), 'utf8')).not.toMatch(/from 'node:/);
    expect(typeof (tensor([1]) as unknown as Record<symbol, unknown>)[Symbol.for('nodejs.util.inspect.custom')]).toBe('function');
  });
});
