import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { getRngState, manualSeed, models, nn, noGrad, onnx, randn, tensor, type Tensor } from '../../src/index.js';
import { encodeModel, type ModelMsg, type NodeMsg, type TensorMsg } from '../../src/onnx/proto.js';
import { expectClose, maxErrors } from '../helpers/close.js';

const flat = (t: Tensor): Float64Array => Float64Array.from(t.storage.copyToHost());
const fixtures = new URL('../fixtures/', import.meta.url);

interface Case { name: string; file: string; ops: string[]; x: { shape: number[]; data: number[] }; y32: number[]; y64: number[]; yShape: number[] }
const pytorch = JSON.parse(readFileSync(new URL('onnx_pytorch.json', fixtures), 'utf8')) as { cases: Case[] };

describe('importOnnx reads files made by torch.onnx.export (test/fixtures/onnx, scripts/gen_onnx_fixtures.py)', () => {
  for (const c of pytorch.cases.filter((k) => k.name !== 'unsupported')) {
    it(`${c.name} (${[...new Set(c.ops)].join(', ')}) gives PyTorch's outputs`, () => {
      const model = onnx.importOnnx(new Uint8Array(readFileSync(new URL(c.file, fixtures))));
      expect(model.training).toBe(false);
      const y = noGrad(() => model.forward(tensor(Float32Array.from(c.x.data), c.x.shape)));
      expect(y.shape).toEqual(c.yShape);
      // float32 at least as close to PyTorch's float64 as PyTorch's own float32 (or within float32 rounding of the values)
      const ours = maxErrors(flat(y), c.y64).abs, theirs = maxErrors(c.y32, c.y64).abs;
      const scale = Math.max(...c.y64.map(Math.abs));
      expect(ours, `ours ${ours}, PyTorch float32 ${theirs}`).toBeLessThanOrEqual(Math.max(2 * theirs, 2e-6 * scale));
      // and a different batch size runs (the batch axis is dynamic)
      expect(noGrad(() => model.forward(randn([1, ...c.x.shape.slice(1)]))).shape).toEqual([1, ...c.yShape.slice(1)]);
    });
  }

  it('an unsupported operator is an error listing every unsupported operator in the file', () => {
    const c = pytorch.cases.find((k) => k.name === 'unsupported')!;
    const bytes = new Uint8Array(readFileSync(new URL(c.file, fixtures)));
    let message = '';
    try { onnx.importOnnx(bytes); } catch (e) { message = (e as Error).message; }
    expect(message).toMatch(/^onnx: unsupported operators: /);
    const listed = [...message.matchAll(/(\w+) \((\d+) nodes?:/g)].map((m) => [m[1], Number(m[2])]);
    const expected = new Map<string, number>();
    for (const op of c.ops) if (!(onnx.SUPPORTED_OPS as readonly string[]).includes(op)) expected.set(op, (expected.get(op) ?? 0) + 1);
    expect(new Map(listed as [string, number][])).toEqual(expected);
    expect([...expected.keys()].sort()).toEqual(['Div', 'Erf', 'LeakyRelu', 'Mul', 'Softmax']);
  });
});

describe('export → import round trip', () => {
  it('the models read back give the same outputs (BN, LayerNorm, GroupNorm, pools, reshapes)', () => {
    manualSeed(7);
    const nets: [nn.Module, number[]][] = [
      [models.mlp({ norm: 'batch', hidden: [12, 8], inputs: 10 }), [3, 10]],
      [models.cnn({ channels: [3, 5], image: [1, 10, 10] }), [2, 100]],
      [new nn.Sequential(new nn.Conv2d(4, 6, 3, { padding: 1, groups: 2 }), new nn.GroupNorm(3, 6), new nn.AvgPool2d(2, { padding: 1, countIncludePad: false }),
        new nn.MaxPool2d(2, { stride: 1 }), new nn.Flatten(), new nn.Unflatten(1, [6, 4]), new nn.LayerNorm([6, 4]), new nn.Linear(4, 2), new nn.Dropout(0.1)), [2, 4, 5, 5]],
    ];
    for (const [m, shape] of nets) {
      noGrad(() => { m.train(); m.forward(randn([6, ...shape.slice(1)]).add(1)); });
      m.eval();
      const back = onnx.importOnnx(onnx.exportOnnx(m, { inputShape: shape }));
      const x = randn(shape);
      expectClose(flat(noGrad(() => back.forward(x))), flat(noGrad(() => m.forward(x))), { rtol: 1e-6, atol: 1e-6 });
      // and the import exports again to the same graph
      const again = onnx.decodeModel(onnx.exportOnnx(back, { inputShape: shape })).graph!.node!.map((n) => n.opType);
      expect(again).toEqual(onnx.decodeModel(onnx.exportOnnx(m, { inputShape: shape })).graph!.node!.map((n) => n.opType));
    }
  });

  it('BN keeps its ε and momentum; importing leaves the global random stream alone', () => {
    const bn = new nn.Sequential(new nn.BatchNorm1d(3, { eps: 1e-3, momentum: 0.8 }));
    const bytes = onnx.exportOnnx(bn, { inputShape: [2, 3] });
    const before = JSON.stringify(getRngState());
    const back = onnx.importOnnx(bytes).at(0) as nn.BatchNorm1d;
    expect(JSON.stringify(getRngState())).toBe(before);
    expect([back.eps, back.momentum]).toEqual([Math.fround(1e-3), Math.fround(0.8)]);
  });
});

// ---- hand-made graphs (built with protobufjs from onnx.proto), each checked against onnxruntime ----

const f32 = (name: string, dims: number[], data: number[]): TensorMsg => ({ name, dims, dataType: 1, floatData: data });
const i64 = (name: string, data: number[]): TensorMsg => ({ name, dims: [data.length], dataType: 7, int64Data: data });
function model(nodes: NodeMsg[], inits: TensorMsg[], inShape: (number | string)[], opset = 13): Uint8Array {
  const vi = (name: string, shape: (number | string)[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } });
  const m: ModelMsg = { irVersion: 7, opsetImport: [{ domain: '', version: opset }], graph: { name: 'g', node: nodes, initializer: inits, input: [vi('x', inShape)], output: [{ name: nodes.at(-1)!.output!.at(0) }] } };
  return encodeModel(m);
}
const rand = (n: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + n) * 0.8);

async function ortRun(bytes: Uint8Array, x: Tensor): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  return (await s.run({ x: new ort.Tensor('float32', Float32Array.from(flat(x)), [...x.shape]) }))[s.outputNames[0]].data as Float32Array;
}

describe('importOnnx on hand-made graphs matches onnxruntime', () => {
  it('Gemm with alpha, beta, transB = 0 and a broadcast bias; MatMul + Add; Dropout with a ratio input; Pad before AveragePool', async () => {
    const bytes = model([
      { opType: 'Gemm', input: ['x', 'B', 'C'], output: ['h'], attribute: [{ name: 'alpha', type: 1, f: 0.5 }, { name: 'beta', type: 1, f: 2 }] },
      { opType: 'Dropout', input: ['h', 'ratio'], output: ['d', 'mask'] },
      { opType: 'MatMul', input: ['d', 'W'], output: ['m'] },
      { opType: 'Add', input: ['m', 'b'], output: ['a'] },
      { opType: 'Reshape', input: ['a', 'shape'], output: ['r'] },
      { opType: 'Pad', input: ['r', 'pads'], output: ['p'] },
      { opType: 'AveragePool', input: ['p'], output: ['y'], attribute: [{ name: 'kernel_shape', type: 7, ints: [2, 2] }, { name: 'count_include_pad', type: 2, i: 1 }] },
    ], [f32('B', [5, 4], rand(20)), f32('C', [1], [0.3]), f32('ratio', [], [0.25]), f32('W', [4, 6], rand(24)), f32('b', [6], rand(6)), i64('shape', [0, 1, 2, 3]), i64('pads', [0, 0, 1, 1, 0, 0, 1, 1])], ['N', 5]);
    const m = onnx.importOnnx(bytes);
    expect(m.children().map((c) => c.constructor.name)).toEqual(['Linear', 'Dropout', 'Linear', 'Reshape', 'AvgPool2d']);
    const x = randn([3, 5]);
    expectClose(flat(noGrad(() => m.forward(x))), await ortRun(bytes, x), { rtol: 1e-5, atol: 1e-6 });
  });

  it('an operator in another domain, a branch, a training-mode BN, external data: clear errors', () => {
    const w = f32('W', [3, 3], rand(9));
    expect(() => onnx.importOnnx(model([{ opType: 'FusedGemm', domain: 'com.microsoft', input: ['x', 'W'], output: ['y'] }], [w], ['N', 3])))
      .toThrow(/unsupported operator: com\.microsoft\.FusedGemm \(1 node/);
    expect(() => onnx.importOnnx(model([
      { opType: 'Relu', input: ['x'], output: ['a'], name: 'r1' }, { opType: 'Relu', input: ['x'], output: ['y'], name: 'r2' }], [], ['N', 3])))
      .toThrow(/Relu node 'r2': reads 'x' where the chain's current value is 'a'/);
    const s = [1, 1, 1].map((_, i) => i + 1);
    expect(() => onnx.importOnnx(model([{ opType: 'BatchNormalization', input: ['x', 's', 'b', 'm', 'v'], output: ['y'], attribute: [{ name: 'training_mode', type: 2, i: 1 }] }],
      [f32('s', [3], s), f32('b', [3], s), f32('m', [3], s), f32('v', [3], s)], ['N', 3], 15))).toThrow(/training_mode = 1/);
    const ext = { ...w, floatData: [], dataLocation: 1 };
    expect(() => onnx.importOnnx(model([{ opType: 'MatMul', input: ['x', 'W'], output: ['y'] }], [ext], ['N', 3]))).toThrow(/external file/);
    expect(() => onnx.importOnnx(model([{ opType: 'Relu', input: ['x'], output: ['y'] }], [], ['N', 3], 22))).toThrow(/opset 22 .* reads opsets 9–21/);
  });
});
