import * as nn from '../nn/index.js';
import type { Tensor } from '../tensor/index.js';
import { AttrType, DataType, encodeModel, type AttributeMsg, type NodeMsg, type TensorMsg, type ValueInfoMsg } from './proto.js';
import { Reshape } from './reshape.js';

export interface ExportOptions {
  /**
   * Shape of one input, batch axis first (e.g. [1, 784] or [1, 1, 28, 28]). The batch axis is written as
   * the symbolic dimension `N` (any batch size runs); the other axes are fixed.
   */
  inputShape: readonly number[];
  /** ONNX opset of the default domain, 13–21. Default 17 (LayerNormalization), or 21 when the model holds a GroupNorm. */
  opset?: number;
  /** Graph input and output names (default 'input' and 'output'). */
  inputName?: string;
  outputName?: string;
}

/** Opsets the exporter writes and the importer reads. */
export const MIN_OPSET = 13;
export const MAX_OPSET = 21;

/** IR version to declare for an opset (onnx/onnx docs/Versioning.md). */
function irVersionFor(opset: number): number {
  return opset <= 18 ? 8 : opset <= 20 ? 9 : 10;
}

const attrInt = (name: string, i: number): AttributeMsg => ({ name, type: AttrType.INT, i });
const attrInts = (name: string, ints: readonly number[]): AttributeMsg => ({ name, type: AttrType.INTS, ints: [...ints] });
const attrFloat = (name: string, f: number): AttributeMsg => ({ name, type: AttrType.FLOAT, f });

/** A float32 initializer, little-endian raw data (ONNX's layout). */
function floatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): TensorMsg {
  const raw = new Uint8Array(values.length * 4), dv = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i], true);
  return { name, dims: [...dims], dataType: DataType.FLOAT, rawData: raw };
}

function int64Tensor(name: string, values: readonly number[]): TensorMsg {
  return { name, dims: [values.length], dataType: DataType.INT64, int64Data: [...values] };
}

const valueInfo = (name: string, shape: readonly (number | string)[]): ValueInfoMsg => ({
  name,
  type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
});

const pair = (v: nn.Size2): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);
const values = (t: Tensor): ArrayLike<number> => t.storage.copyToHost();
const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Output shape of Flatten / Unflatten for an input shape (errors as the modules' own). */
function flatOut(m: nn.Flatten | nn.Unflatten, shape: readonly number[]): number[] {
  const axis = (a: number) => {
    const r = a < 0 ? a + shape.length : a;
    if (!(r >= 0 && r < shape.length)) throw new Error(`axis ${a} is out of range for input shape ${fmt(shape)}`);
    return r;
  };
  if (m instanceof nn.Flatten) {
    const s = axis(m.startDim), e = axis(m.endDim);
    if (s > e) throw new Error(`startDim ${m.startDim} comes after endDim ${m.endDim} for input shape ${fmt(shape)}`);
    return [...shape.slice(0, s), shape.slice(s, e + 1).reduce((p, d) => p * d, 1), ...shape.slice(e + 1)];
  }
  const d = axis(m.dim), n = m.shape.reduce((p, v) => p * v, 1);
  if (shape[d] !== n) throw new Error(`axis ${m.dim} of input shape ${fmt(shape)} has ${shape[d]} values, not ${n}`);
  return [...shape.slice(0, d), ...m.shape, ...shape.slice(d + 1)];
}

/** Output size of a sliding window (floor mode, as Conv2d and the pools compute it). */
const windowOut = (n: number, k: number, s: number, p: number, d = 1) => Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;

class Builder {
  readonly nodes: NodeMsg[] = [];
  readonly initializers: TensorMsg[] = [];
  readonly problems: string[] = [];
  /** Set after a problem: the shapes that follow are unknown, so shape checks stop (no cascade of errors). */
  #lost = false;
  #names = new Set<string>();
  #count = 0;

  constructor(readonly opset: number) {}

  /** A fresh value name. */
  value(hint: string): string {
    let n = hint || 'v';
    while (this.#names.has(n)) n = `${hint || 'v'}_${++this.#count}`;
    this.#names.add(n);
    return n;
  }

  init(name: string, dims: readonly number[], data: ArrayLike<number>): string {
    const n = this.value(name);
    this.initializers.push(floatTensor(n, dims, data));
    return n;
  }

  node(opType: string, inputs: string[], path: string, attribute: AttributeMsg[] = []): string {
    const out = this.value(`${path || opType}_out`);
    this.nodes.push({ opType, input: inputs, output: [out], name: `${path || 'model'}:${opType}`, attribute });
    return out;
  }

  /** Emit module `m` applied to value `x` of shape `shape`; returns the output value and shape. */
  emit(m: nn.Module, x: string, shape: number[], path: string): [string, number[]] {
    const at = path || '(model)';
    const rank = shape.length;
    const bad = (why: string, shapeCheck = false): [string, number[]] => {
      if (!(shapeCheck && this.#lost)) this.problems.push(`${at}: ${m.constructor.name} ${why}`);
      this.#lost = true;
      return [x, shape];
    };
    if (m instanceof nn.Sequential) {
      for (const [name, child] of m.namedChildren()) [x, shape] = this.emit(child, x, shape, path ? `${path}.${name}` : name);
      return [x, shape];
    }
    if (m instanceof nn.Linear) {
      if (shape[rank - 1] !== m.inFeatures) return bad(`expects ${m.inFeatures} features, the input has shape ${fmt(shape)}`, true);
      const out = [...shape.slice(0, -1), m.outFeatures];
      if (rank === 2) {
        const inputs = [x, this.init(`${path}.weight`, m.weight.shape, values(m.weight))];
        if (m.bias) inputs.push(this.init(`${path}.bias`, m.bias.shape, values(m.bias)));
        return [this.node('Gemm', inputs, path, [attrInt('transB', 1)]), out];
      }
      // Gemm is 2-D only: x·Wᵀ as MatMul with the transposed weight, then the bias.
      const w = values(m.weight), wt = new Float32Array(w.length);
      for (let o = 0; o < m.outFeatures; o++) for (let i = 0; i < m.inFeatures; i++) wt[i * m.outFeatures + o] = w[o * m.inFeatures + i];
      let y = this.node('MatMul', [x, this.init(`${path}.weight_t`, [m.inFeatures, m.outFeatures], wt)], path);
      if (m.bias) y = this.node('Add', [y, this.init(`${path}.bias`, m.bias.shape, values(m.bias))], path);
      return [y, out];
    }
    if (m instanceof nn.Conv2d) {
      if (rank !== 4 || shape[1] !== m.inChannels) return bad(`expects [N, ${m.inChannels}, H, W], the input has shape ${fmt(shape)}`, true);
      const [kh, kw] = m.kernelSize, [sh, sw] = m.stride, [ph, pw] = m.padding, [dh, dw] = m.dilation;
      const inputs = [x, this.init(`${path}.weight`, m.weight.shape, values(m.weight))];
      if (m.bias) inputs.push(this.init(`${path}.bias`, m.bias.shape, values(m.bias)));
      const y = this.node('Conv', inputs, path, [attrInts('kernel_shape', [kh, kw]), attrInts('strides', [sh, sw]), attrInts('pads', [ph, pw, ph, pw]),
        attrInts('dilations', [dh, dw]), attrInt('group', m.groups)]);
      return [y, [shape[0], m.outChannels, windowOut(shape[2], kh, sh, ph, dh), windowOut(shape[3], kw, sw, pw, dw)]];
    }
    if (m instanceof nn.BatchNorm) {
      if (rank < 2 || shape[1] !== m.numFeatures) return bad(`expects ${m.numFeatures} channels on axis 1, the input has shape ${fmt(shape)}`, true);
      if (!m.runningMean || !m.runningVar) return bad(`has runningStats 'none' (batch statistics at inference), which ONNX's inference BatchNormalization cannot express`);
      const C = m.numFeatures;
      const inputs = [x,
        this.init(`${path}.weight`, [C], m.weight ? values(m.weight) : new Float32Array(C).fill(1)),
        this.init(`${path}.bias`, [C], m.bias ? values(m.bias) : new Float32Array(C)),
        this.init(`${path}.running_mean`, [C], values(m.runningMean)),
        this.init(`${path}.running_var`, [C], values(m.runningVar))];
      // ONNX's momentum has our convention (weight of the old value); it only matters for training_mode = 1.
      return [this.node('BatchNormalization', inputs, path, [attrFloat('epsilon', m.eps), attrFloat('momentum', m.momentum)]), shape];
    }
    if (m instanceof nn.ReLU) return [this.node('Relu', [x], path), shape];
    if (m instanceof nn.Sigmoid) return [this.node('Sigmoid', [x], path), shape];
    if (m instanceof nn.Tanh) return [this.node('Tanh', [x], path), shape];
    if (m instanceof nn.Identity) return [this.node('Identity', [x], path), shape];
    if (m instanceof nn.Dropout) return [this.node('Dropout', [x], path), shape]; // no training_mode input: the identity
    if (m instanceof nn.MaxPool2d || m instanceof nn.AvgPool2d) {
      if (rank !== 4) return bad(`expects [N, C, H, W], the input has shape ${fmt(shape)}`, true);
      const [kh, kw] = pair(m.kernelSize), [sh, sw] = pair(m.stride), [ph, pw] = pair(m.padding);
      const attrs = [attrInts('kernel_shape', [kh, kw]), attrInts('strides', [sh, sw]), attrInts('pads', [ph, pw, ph, pw])];
      const max = m instanceof nn.MaxPool2d;
      if (!max) attrs.push(attrInt('count_include_pad', (m as nn.AvgPool2d).countIncludePad ? 1 : 0));
      return [this.node(max ? 'MaxPool' : 'AveragePool', [x], path, attrs), [shape[0], shape[1], windowOut(shape[2], kh, sh, ph), windowOut(shape[3], kw, sw, pw)]];
    }
    if (m instanceof nn.AdaptiveAvgPool2d) {
      if (rank !== 4) return bad(`expects [N, C, H, W], the input has shape ${fmt(shape)}`, true);
      const [H, W] = [shape[2], shape[3]];
      const o = typeof m.outputSize === 'number' ? [m.outputSize, m.outputSize] : m.outputSize;
      const [oh, ow] = [o[0] ?? H, o[1] ?? W];
      if (oh === 1 && ow === 1) return [this.node('GlobalAveragePool', [x], path), [shape[0], shape[1], 1, 1]];
      if (H % oh || W % ow) return bad(`to [${oh}, ${ow}] from ${H}×${W} has unequal windows, which no ONNX pooling operator expresses`);
      const k = [H / oh, W / ow];
      return [this.node('AveragePool', [x], path, [attrInts('kernel_shape', k), attrInts('strides', k)]), [shape[0], shape[1], oh, ow]];
    }
    if (m instanceof nn.Flatten || m instanceof nn.Unflatten || m instanceof Reshape) {
      let out: number[];
      try {
        out = m instanceof Reshape ? m.outputShape(shape) : flatOut(m, shape);
      } catch (e) {
        return bad((e as Error).message, true);
      }
      if (m instanceof nn.Flatten && out.length === 2 && out[0] === shape[0] && rank >= 2) return [this.node('Flatten', [x], path, [attrInt('axis', 1)]), out];
      if (out[0] !== shape[0]) return bad(`merges or splits the batch axis (${fmt(shape)} → ${fmt(out)}), which a dynamic batch cannot express`);
      const target = this.value(`${path}.shape`);
      this.initializers.push(int64Tensor(target, [0, ...out.slice(1)])); // 0 copies the (dynamic) batch size
      return [this.node('Reshape', [x, target], path), out];
    }
    if (m instanceof nn.LayerNorm) {
      const k = m.normalizedShape.length;
      if (this.opset < 17) return bad(`needs opset ≥ 17 (LayerNormalization), got opset ${this.opset}`);
      if (rank <= k || shape.slice(rank - k).join() !== m.normalizedShape.join()) return bad(`normalizes over ${fmt(m.normalizedShape)}, the input has shape ${fmt(shape)}`, true);
      const n = m.normalizedShape.reduce((p, d) => p * d, 1);
      const inputs = [x,
        this.init(`${path}.weight`, m.normalizedShape, m.weight ? values(m.weight) : new Float32Array(n).fill(1)),
        this.init(`${path}.bias`, m.normalizedShape, m.bias ? values(m.bias) : new Float32Array(n))];
      return [this.node('LayerNormalization', inputs, path, [attrInt('axis', -k), attrFloat('epsilon', m.eps)]), shape];
    }
    if (m instanceof nn.GroupNorm) {
      if (this.opset < 21) return bad(`needs opset ≥ 21 (GroupNormalization with per-channel scale), got opset ${this.opset}`);
      if (rank < 3 || shape[1] !== m.numChannels) return bad(`expects [N, ${m.numChannels}, *], the input has shape ${fmt(shape)}`, true);
      const C = m.numChannels;
      const inputs = [x,
        this.init(`${path}.weight`, [C], m.weight ? values(m.weight) : new Float32Array(C).fill(1)),
        this.init(`${path}.bias`, [C], m.bias ? values(m.bias) : new Float32Array(C))];
      return [this.node('GroupNormalization', inputs, path, [attrInt('num_groups', m.numGroups), attrFloat('epsilon', m.eps)]), shape];
    }
    return bad(m.constructor === Object || !(m instanceof nn.Module) ? 'is not a module'
      : 'has no ONNX form here (supported: Sequential, Linear, Conv2d, BatchNorm1d/2d, ReLU, Sigmoid, Tanh, Identity, Dropout, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Flatten, Unflatten, LayerNorm, GroupNorm)');
  }
}

function hasGroupNorm(m: nn.Module): boolean {
  return m.modules().some((u) => u instanceof nn.GroupNorm);
}

/**
 * Export a model as an ONNX file (bytes of a ModelProto, written with protobufjs from the official
 * onnx.proto). The graph is the model's inference form, whatever its train/eval mode: BatchNorm is
 * `BatchNormalization` with the running statistics (y = (x − running_mean)/√(running_var + ε)·γ + β),
 * Dropout the identity. Fold BN into the layer before it first (`deploy.foldBatchNorm`) to export the
 * folded form. Parameters are written as float32; the batch axis is the symbolic dimension `N`.
 *
 * Supported modules, nested in `nn.Sequential` containers: Linear (Gemm; MatMul + Add on inputs of
 * rank > 2), Conv2d (Conv), BatchNorm1d/2d (BatchNormalization), ReLU, Sigmoid, Tanh, Identity, Dropout,
 * MaxPool2d (MaxPool), AvgPool2d (AveragePool), AdaptiveAvgPool2d (GlobalAveragePool, or AveragePool when
 * the windows are equal), Flatten (Flatten or Reshape), Unflatten (Reshape), LayerNorm
 * (LayerNormalization, opset ≥ 17), GroupNorm (GroupNormalization, opset ≥ 21). Initializers are named
 * after the module paths (`0.weight`, `1.running_mean`, ...).
 *
 * Defaults: opset 17 (21 when the model holds a GroupNorm); input and output named 'input', 'output'.
 *
 * Errors: every module that cannot be exported is listed in one error with its path and the reason; an
 * input shape that does not fit the model names the layer and the shape.
 *
 * Example:
 * ```ts
 * const net = new nn.Sequential(new nn.Linear(4, 3), new nn.BatchNorm1d(3), new nn.ReLU());
 * const bytes = onnx.exportOnnx(net, { inputShape: [1, 4] });
 * bytes instanceof Uint8Array; // => true
 * ```
 */
export function exportOnnx(model: nn.Module, options: ExportOptions): Uint8Array {
  if (!(model instanceof nn.Module)) throw new Error('exportOnnx: expected an nn.Module');
  if (!options || typeof options !== 'object') throw new Error('exportOnnx: options { inputShape } are required');
  const { inputShape, inputName = 'input', outputName = 'output' } = options;
  const known = new Set(['inputShape', 'opset', 'inputName', 'outputName']);
  const unknown = Object.keys(options).filter((k) => !known.has(k));
  if (unknown.length) throw new Error(`exportOnnx: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
  if (!Array.isArray(inputShape) || inputShape.length < 1 || inputShape.some((d) => !Number.isInteger(d) || d < 1))
    throw new Error(`exportOnnx: inputShape must list positive integers, batch axis first (e.g. [1, 784]), got ${JSON.stringify(inputShape)}`);
  const opset = options.opset ?? (hasGroupNorm(model) ? 21 : 17);
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) throw new Error(`exportOnnx: opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}, got ${opset}`);
  if (!inputName || !outputName || inputName === outputName) throw new Error('exportOnnx: inputName and outputName must be two different non-empty names');
  const b = new Builder(opset);
  b.value(inputName);
  b.value(outputName);
  let [y, shape] = b.emit(model, inputName, [...inputShape], '');
  if (b.problems.length) throw new Error(`exportOnnx: cannot export ${b.problems.length} module${b.problems.length > 1 ? 's' : ''}:\n  ${b.problems.join('\n  ')}`);
  if (y === inputName) y = b.node('Identity', [y], ''); // an empty model still has a node
  // The last node writes the graph output directly.
  b.nodes[b.nodes.length - 1].output![0] = outputName;
  return encodeModel({
    irVersion: irVersionFor(opset),
    producerName: 'normlab',
    producerVersion: '0.1.0',
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: model.constructor.name,
      node: b.nodes,
      initializer: b.initializers,
      input: [valueInfo(inputName, ['N', ...inputShape.slice(1)])],
      output: [valueInfo(outputName, ['N', ...shape.slice(1)])],
    },
  });
}
