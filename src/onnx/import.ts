import * as nn from '../nn/index.js';
import { getRngState, setRngState } from '../random.js';
import { DataType, decodeModel, type AttributeMsg, type Int64, type NodeMsg, type TensorMsg } from './proto.js';
import { Reshape } from './reshape.js';

/** Opsets of the default domain the importer reads (BatchNormalization without `spatial`, Dropout's ratio as an input or attribute). */
const IMPORT_MIN_OPSET = 9;
const IMPORT_MAX_OPSET = 21;

/** Operators the importer turns into modules (default domain). */
export const SUPPORTED_OPS = ['Gemm', 'MatMul', 'Add', 'Conv', 'BatchNormalization', 'Relu', 'Sigmoid', 'Tanh', 'Identity', 'Dropout', 'MaxPool',
  'AveragePool', 'GlobalAveragePool', 'Flatten', 'Reshape', 'LayerNormalization', 'GroupNormalization', 'Constant', 'Pad'] as const;

/** A constant (initializer or Constant node) read into float64 values. */
interface Const { dims: number[]; data: Float64Array; dataType: number }

/** Any int64 (number or Long) as a number, refusing values a double does not hold exactly. */
function num(v: Int64 | bigint | undefined | null, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  const b = typeof v === 'bigint' ? v : BigInt(v.toString());
  if (b > BigInt(Number.MAX_SAFE_INTEGER) || b < -BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`onnx: ${what} holds ${b}, beyond 2^53`);
  return Number(b);
}

/**
 * Read a TensorProto's values. Bound: a tensor may declare at most `maxElements` values (the file's size
 * in bytes — every stored value takes at least one byte), checked before anything is allocated.
 */
function readTensor(t: TensorMsg, what: string, maxElements: number): Const {
  if (t.dataLocation === 1 || (t.externalData?.length ?? 0) > 0) throw new Error(`onnx: ${what} keeps its data in an external file, which is not supported`);
  const dims = (t.dims ?? []).map((d) => num(d, `${what} dims`));
  let count = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new Error(`onnx: ${what} has an invalid dimension in [${dims.join(', ')}]`);
    count *= d;
    if (count > maxElements) throw new Error(`onnx: ${what} declares shape [${dims.join(', ')}], more values than a ${maxElements}-byte file can hold`);
  }
  const type = t.dataType ?? 0;
  const width = type === DataType.FLOAT || type === DataType.INT32 ? 4 : type === DataType.DOUBLE || type === DataType.INT64 ? 8 : 0;
  if (!width) throw new Error(`onnx: ${what} has data type ${type}; float, double, int32 and int64 are supported`);
  const raw = t.rawData;
  const data = new Float64Array(count);
  if (raw && raw.length) {
    if (raw.length !== count * width) throw new Error(`onnx: ${what} of shape [${dims.join(', ')}] needs ${count * width} bytes of raw_data, has ${raw.length}`);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < count; i++) {
      if (type === DataType.FLOAT) data[i] = dv.getFloat32(i * 4, true);
      else if (type === DataType.DOUBLE) data[i] = dv.getFloat64(i * 8, true);
      else if (type === DataType.INT32) data[i] = dv.getInt32(i * 4, true);
      else data[i] = num(dv.getBigInt64(i * 8, true), what);
    }
    return { dims, data, dataType: type };
  }
  const list: ArrayLike<Int64> = type === DataType.FLOAT ? t.floatData ?? [] : type === DataType.DOUBLE ? t.doubleData ?? [] : type === DataType.INT32 ? t.int32Data ?? [] : t.int64Data ?? [];
  if (list.length !== count) throw new Error(`onnx: ${what} of shape [${dims.join(', ')}] holds ${list.length} values`);
  for (let i = 0; i < count; i++) data[i] = num(list[i], what);
  return { dims, data, dataType: type };
}

function attrs(node: NodeMsg): Map<string, AttributeMsg> {
  return new Map((node.attribute ?? []).map((a) => [a.name ?? '', a]));
}

/**
 * Build a model from an ONNX file: the inverse of `exportOnnx`, and the reader of files made by PyTorch's
 * `torch.onnx.export` (which folds a BN that follows a Conv into the Conv, and writes parameters as
 * initializers passed through Identity nodes). The graph must be a chain — one input, one output, each
 * node consuming the previous node's output and constants — of the operators in SUPPORTED_OPS, which map
 * to modules: Gemm/MatMul(+Add) → Linear, Conv → Conv2d, BatchNormalization → BatchNorm1d/2d (running
 * statistics, ε and momentum from the file), Relu/Sigmoid/Tanh/Identity, Dropout, MaxPool → MaxPool2d,
 * AveragePool → AvgPool2d, GlobalAveragePool → AdaptiveAvgPool2d(1), Flatten, Reshape (a constant target),
 * LayerNormalization → LayerNorm, GroupNormalization (opset ≥ 21) → GroupNorm.
 *
 * Returns an `nn.Sequential` in eval mode, with float32 parameters. Building it leaves the global random
 * generator as it was.
 *
 * Errors: an unsupported operator is an error listing every unsupported operator in the file, with its
 * node names; an attribute or structure this mapping cannot express is an error listing every such node;
 * malformed bytes are an error starting with `onnx:` (never another exception, never a hang: the decoder
 * refuses nesting deeper than 64 messages and tensors declaring more values than the file has bytes).
 *
 * Example:
 * ```ts
 * const net = new nn.Sequential(new nn.Linear(4, 3), new nn.Tanh());
 * const back = onnx.importOnnx(onnx.exportOnnx(net, { inputShape: [1, 4] }));
 * back.forward(ones([2, 4])).shape; // => [2, 3]
 * ```
 */
export function importOnnx(bytes: Uint8Array): nn.Sequential {
  const model = decodeModel(bytes);
  const graph = model.graph;
  if (!graph) throw new Error('onnx: the file holds no graph');
  const opsets = (model.opsetImport ?? []).filter((o) => !o.domain || o.domain === 'ai.onnx');
  const opset = opsets.length ? num(opsets[0].version, 'opset version') : 0;
  if (opset < IMPORT_MIN_OPSET || opset > IMPORT_MAX_OPSET) throw new Error(`onnx: opset ${opset || '(none)'} of the default domain; this importer reads opsets ${IMPORT_MIN_OPSET}–${IMPORT_MAX_OPSET}`);
  if ((graph.sparseInitializer?.length ?? 0) > 0) throw new Error('onnx: sparse initializers are not supported');
  const nodes = graph.node ?? [];

  // 1. Every operator must be known: one error listing all that are not.
  const unsupported = new Map<string, string[]>();
  for (const [i, n] of nodes.entries()) {
    const domain = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.` : '';
    const op = `${domain}${n.opType ?? ''}`;
    if (domain || !(SUPPORTED_OPS as readonly string[]).includes(op)) unsupported.set(op, [...(unsupported.get(op) ?? []), n.name || `#${i}`]);
  }
  if (unsupported.size) {
    const list = [...unsupported].map(([op, names]) => `${op || '(empty op_type)'} (${names.length} node${names.length > 1 ? 's' : ''}: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''})`);
    throw new Error(`onnx: unsupported operator${unsupported.size > 1 ? 's' : ''}: ${list.join('; ')}. Supported: ${SUPPORTED_OPS.join(', ')}`);
  }

  // 2. Constants.
  const limit = bytes.length;
  const consts = new Map<string, Const>();
  for (const [i, t] of (graph.initializer ?? []).entries()) consts.set(t.name ?? '', readTensor(t, `initializer '${t.name ?? `#${i}`}'`, limit));

  // 3. The graph input: the one input that is not an initializer (IR < 4 lists initializers as inputs too).
  const inputs = (graph.input ?? []).filter((v) => !consts.has(v.name ?? ''));
  if (inputs.length !== 1) throw new Error(`onnx: the graph has ${inputs.length} inputs (${inputs.map((v) => v.name).join(', ')}); a chain model has one`);
  const outputs = graph.output ?? [];
  if (outputs.length !== 1) throw new Error(`onnx: the graph has ${outputs.length} outputs; a chain model has one`);
  const tt = inputs[0].type?.tensorType;
  if (tt?.elemType !== undefined && tt.elemType !== DataType.FLOAT && tt.elemType !== DataType.DOUBLE)
    throw new Error(`onnx: the graph input has element type ${tt.elemType}; float inputs are supported`);
  let rank: number | null = tt?.shape ? (tt.shape.dim ?? []).length : null;

  // 4. Walk the chain.
  const problems: string[] = [];
  const layers: nn.Module[] = [];
  let cur = inputs[0].name ?? '';
  const consumed = new Set<string>(); // outputs besides the chain's, which nothing may read
  // A constant-zero Pad of the spatial axes (PyTorch writes one before an AveragePool with count_include_pad):
  // merged into the padding of the Conv or AveragePool that follows.
  let pendingPad: { pads: [number, number]; label: string } | null = null;
  const rng = getRngState(); // module constructors draw initial weights: leave the user's stream alone
  try {
    for (const [i, node] of nodes.entries()) {
      const op = node.opType!, name = node.name || `#${i}`, label = `${op} node '${name}'`;
      const ins = node.input ?? [], outs = node.output ?? [];
      const a = attrs(node);
      const bad = (why: string) => problems.push(`${label}: ${why}`);
      const int = (k: string, d: number) => (a.has(k) ? num(a.get(k)!.i, `${label} ${k}`) : d);
      const ints = (k: string, d: number[]) => (a.has(k) ? (a.get(k)!.ints ?? []).map((v) => num(v, `${label} ${k}`)) : d);
      const flt = (k: string, d: number) => (a.has(k) ? a.get(k)!.f ?? 0 : d);
      const str = (k: string) => (a.has(k) ? new TextDecoder().decode(a.get(k)!.s ?? new Uint8Array()) : '');
      const konst = (j: number): Const | null => (ins[j] ? consts.get(ins[j]) ?? null : null);
      if (!outs.length || !outs[0]) { bad('has no output'); continue; }
      for (const o of outs.slice(1)) if (o) consumed.add(o);
      for (const v of ins) if (consumed.has(v)) bad(`reads '${v}', a secondary output of an earlier node (not a chain)`);

      if (op === 'Constant') {
        const v = a.get('value');
        if (!v?.t || a.size !== 1) { bad('only the `value` (tensor) form is supported'); continue; }
        consts.set(outs[0], readTensor(v.t, label, limit));
        continue;
      }
      if (op === 'Identity' && consts.has(ins[0])) { consts.set(outs[0], consts.get(ins[0])!); continue; }
      if (ins[0] !== cur) { bad(`reads '${ins[0]}' where the chain's current value is '${cur}' (only chain graphs are supported)`); cur = outs[0]; continue; }
      for (const [j, v] of ins.entries()) if (j > 0 && v && !consts.has(v)) bad(`input ${j} '${v}' is not a constant`);
      cur = outs[0];
      const pad = pendingPad;
      pendingPad = null;
      if (pad && !(op === 'Conv' || (op === 'AveragePool' && int('count_include_pad', 0) === 1))) problems.push(`${pad.label}: a non-zero Pad is supported only before a Conv or an AveragePool with count_include_pad = 1`);
      const pads2 = (): [number, number] | null => {
        const autoPad = str('auto_pad');
        if (autoPad && autoPad !== 'NOTSET' && autoPad !== 'VALID') { bad(`auto_pad ${autoPad} is not supported`); return null; }
        const p = ints('pads', [0, 0, 0, 0]);
        if (p.length !== 4 || p[0] !== p[2] || p[1] !== p[3]) { bad(`pads [${p}] are not symmetric 2-D pads`); return null; }
        if (pad && (p[0] || p[1])) { bad(`pads [${p}] after a Pad node are not supported`); return null; }
        return pad ? pad.pads : [p[0], p[1]];
      };
      const need4 = () => { if (rank !== null && rank !== 4) bad(`needs a 4-D input [N, C, H, W], the chain has rank ${rank}`); };

      try {
        switch (op) {
          case 'Gemm': case 'MatMul': {
            const B = konst(1);
            if (!B || B.dims.length !== 2) { bad('needs a constant 2-D weight'); break; }
            const transB = op === 'Gemm' ? int('transB', 0) : 0;
            if (op === 'Gemm' && int('transA', 0)) { bad('transA = 1 is not supported'); break; }
            if (op === 'Gemm' && rank !== null && rank !== 2) { bad(`needs a 2-D input, the chain has rank ${rank}`); break; }
            const [out, inF] = transB ? B.dims : [B.dims[1], B.dims[0]];
            if (!(out > 0 && inF > 0)) { bad(`has an empty weight [${B.dims}]`); break; }
            const alpha = op === 'Gemm' ? flt('alpha', 1) : 1, beta = op === 'Gemm' ? flt('beta', 1) : 1;
            const w = new Float32Array(out * inF);
            for (let o = 0; o < out; o++) for (let k = 0; k < inF; k++) w[o * inF + k] = alpha * B.data[transB ? o * inF + k : k * out + o];
            const C = konst(2);
            let bias: Float32Array | null = null;
            if (C) {
              if (C.data.length !== out && C.data.length !== 1) { bad(`bias of shape [${C.dims}] does not broadcast to [${out}]`); break; }
              bias = Float32Array.from({ length: out }, (_, o) => beta * C.data[C.data.length === 1 ? 0 : o]);
            }
            const fc = new nn.Linear(inF, out, { bias: !!bias });
            fc.loadStateDict(bias ? { weight: w, bias } : { weight: w });
            layers.push(fc);
            break;
          }
          case 'Add': {
            const prev = layers.at(-1), C = konst(1);
            if (!(prev instanceof nn.Linear) || prev.bias || !C || (C.data.length !== prev.outFeatures && C.data.length !== 1)) {
              bad('only a constant bias added right after a MatMul is supported');
              break;
            }
            // Replace the bias-free Linear by one with this bias (same weight).
            const fc = new nn.Linear(prev.inFeatures, prev.outFeatures);
            fc.loadStateDict({ weight: prev.weight.storage.copyToHost(), bias: Float32Array.from({ length: prev.outFeatures }, (_, o) => C.data[C.data.length === 1 ? 0 : o]) });
            layers[layers.length - 1] = fc;
            break;
          }
          case 'Conv': {
            const W = konst(1);
            if (!W || W.dims.length !== 4) { bad(W && W.dims.length !== 4 ? `a ${W.dims.length - 2}-D convolution is not supported (Conv2d only)` : 'needs a constant weight'); break; }
            need4();
            const [O, Ig, kh, kw] = W.dims, g = int('group', 1);
            const k = ints('kernel_shape', [kh, kw]), s = ints('strides', [1, 1]), d = ints('dilations', [1, 1]);
            const p = pads2();
            if (!p) break;
            if (k.join() !== `${kh},${kw}` || s.length !== 2 || d.length !== 2) { bad(`kernel_shape [${k}], strides [${s}], dilations [${d}] do not fit a weight [${W.dims}]`); break; }
            if (!(O > 0 && Ig > 0 && g > 0 && O % g === 0)) { bad(`weight [${W.dims}] with group ${g} is not a valid convolution`); break; }
            const B = konst(2);
            if (B && B.data.length !== O) { bad(`bias of shape [${B.dims}] does not match ${O} output channels`); break; }
            const conv = new nn.Conv2d(Ig * g, O, [kh, kw], { stride: [s[0], s[1]], padding: p, dilation: [d[0], d[1]], groups: g, bias: !!B });
            conv.loadStateDict(B ? { weight: Float32Array.from(W.data), bias: Float32Array.from(B.data) } : { weight: Float32Array.from(W.data) });
            layers.push(conv);
            rank = 4;
            break;
          }
          case 'BatchNormalization': {
            const [scale, bias, mean, variance] = [1, 2, 3, 4].map(konst);
            if (!scale || !bias || !mean || !variance) { bad('needs constant scale, bias, mean and var'); break; }
            const C = scale.data.length;
            if (!(C > 0) || [bias, mean, variance].some((t) => t.data.length !== C)) { bad(`scale, bias, mean and var must all have one value per channel (${C})`); break; }
            if (int('training_mode', 0)) { bad('training_mode = 1 is not an inference graph'); break; }
            if (rank === null) { bad('the input rank is unknown (the graph input has no shape), so BatchNorm1d or BatchNorm2d cannot be chosen'); break; }
            if (rank < 2 || rank > 4) { bad(`input rank ${rank} is not 2, 3 or 4`); break; }
            const eps = flt('epsilon', 1e-5), momentum = flt('momentum', 0.9);
            if (!(eps > 0) || !(momentum >= 0 && momentum <= 1)) { bad(`epsilon ${eps} or momentum ${momentum} is out of range`); break; }
            const bn = rank === 4 ? new nn.BatchNorm2d(C, { eps, momentum }) : new nn.BatchNorm1d(C, { eps, momentum });
            bn.loadStateDict({ weight: Float32Array.from(scale.data), bias: Float32Array.from(bias.data), running_mean: Float32Array.from(mean.data), running_var: Float32Array.from(variance.data), num_batches_tracked: [0] });
            layers.push(bn);
            break;
          }
          case 'Pad': {
          const pads = konst(1), value = konst(2);
          const mode = str('mode') || 'constant';
          if (mode !== 'constant' || (value && value.data.some((v) => v !== 0)) || ins[3]) { bad(`only zero padding (mode constant, value 0, all axes) is supported, got mode ${mode}`); break; }
          if (!pads || pads.dims.length !== 1) { bad('needs constant pads'); break; }
          const p = Array.from(pads.data);
          if (p.every((v) => v === 0)) break; // the identity
          if (p.length !== 8 || p[0] || p[1] || p[4] || p[5] || p[2] !== p[6] || p[3] !== p[7] || p[2] < 0 || p[3] < 0) { bad(`pads [${p}] are not symmetric spatial pads of a 4-D input`); break; }
          pendingPad = { pads: [p[2], p[3]], label };
          break;
        }
        case 'Relu': layers.push(new nn.ReLU()); break;
          case 'Sigmoid': layers.push(new nn.Sigmoid()); break;
          case 'Tanh': layers.push(new nn.Tanh()); break;
          case 'Identity': layers.push(new nn.Identity()); break;
          case 'Dropout': {
            const ratio = konst(1), mode = konst(2);
            if (mode && mode.data[0] !== 0) { bad('training_mode is on'); break; }
            const pr = ratio ? ratio.data[0] : flt('ratio', 0.5);
            if (!(pr >= 0 && pr < 1)) { bad(`ratio ${pr} is not in [0, 1)`); break; }
            layers.push(new nn.Dropout(pr));
            break;
          }
          case 'MaxPool': case 'AveragePool': {
            need4();
            const k = ints('kernel_shape', []), s = ints('strides', [1, 1]), p = pads2();
            if (!p) break;
            if (k.length !== 2 || s.length !== 2 || !k.every((v) => v > 0) || !s.every((v) => v > 0)) { bad(`kernel_shape [${k}] and strides [${s}] must be 2-D and positive`); break; }
            if (int('ceil_mode', 0)) { bad('ceil_mode = 1 is not supported'); break; }
            if (ints('dilations', [1, 1]).some((v) => v !== 1)) { bad('dilated pooling is not supported'); break; }
            if (int('storage_order', 0)) { bad('storage_order = 1 is not supported'); break; }
            if (2 * p[0] > k[0] || 2 * p[1] > k[1]) { bad(`pads [${p}] exceed half the kernel [${k}]`); break; }
            const opts = { stride: [s[0], s[1]] as [number, number], padding: p };
            layers.push(op === 'MaxPool' ? new nn.MaxPool2d([k[0], k[1]], opts) : new nn.AvgPool2d([k[0], k[1]], { ...opts, countIncludePad: int('count_include_pad', 0) === 1 }));
            break;
          }
          case 'GlobalAveragePool': need4(); layers.push(new nn.AdaptiveAvgPool2d(1)); break;
          case 'Flatten': {
            const axis = int('axis', 1);
            if ((axis < 0 && rank !== null ? axis + rank : axis) !== 1) { bad(`axis ${axis} is not supported (only 1: keep the batch axis)`); break; }
            layers.push(new nn.Flatten(1, -1));
            rank = 2;
            break;
          }
          case 'Reshape': {
            const shape = konst(1);
            if (!shape || shape.dims.length !== 1 || shape.dataType !== DataType.INT64) { bad('needs a constant 1-D int64 shape'); break; }
            if (int('allowzero', 0)) { bad('allowzero = 1 is not supported'); break; }
            try {
              layers.push(new Reshape(Array.from(shape.data)));
              rank = shape.data.length;
            } catch (e) {
              bad((e as Error).message);
            }
            break;
          }
          case 'LayerNormalization': {
            const scale = konst(1), bias = konst(2);
            if (!scale) { bad('needs a constant scale'); break; }
            if (rank === null) { bad('the input rank is unknown (the graph input has no shape)'); break; }
            const axis = int('axis', -1), ax = axis < 0 ? axis + rank : axis;
            const k = rank - ax;
            if (!(ax >= 1 && ax < rank) || scale.dims.length !== k || scale.dims.some((d) => !(d > 0))) { bad(`axis ${axis} does not match a scale of shape [${scale.dims}] on a rank-${rank} input`); break; }
            if (bias && bias.data.length !== scale.data.length) { bad(`bias of shape [${bias.dims}] does not match scale [${scale.dims}]`); break; }
            const eps = flt('epsilon', 1e-5);
            if (!(eps > 0)) { bad(`epsilon ${eps} must be > 0`); break; }
            const ln = new nn.LayerNorm(scale.dims, { eps });
            ln.loadStateDict({ weight: Float32Array.from(scale.data), bias: bias ? Float32Array.from(bias.data) : new Float32Array(scale.data.length) });
            layers.push(ln);
            break;
          }
          case 'GroupNormalization': {
            const scale = konst(1), bias = konst(2), G = int('num_groups', 0), eps = flt('epsilon', 1e-5);
            if (opset < 21) { bad(`opset ${opset} GroupNormalization has one scale per group; only opset ≥ 21 (per channel) is supported`); break; }
            if (!scale || !bias) { bad('needs constant scale and bias'); break; }
            const C = scale.data.length;
            if (!(G > 0) || !(C > 0) || C % G || bias.data.length !== C || !(eps > 0)) { bad(`num_groups ${G}, ${C} channels, bias [${bias.dims}], epsilon ${eps} do not form a GroupNorm`); break; }
            const gn = new nn.GroupNorm(G, C, { eps });
            gn.loadStateDict({ weight: Float32Array.from(scale.data), bias: Float32Array.from(bias.data) });
            layers.push(gn);
            break;
          }
        }
      } catch (e) {
        bad((e as Error).message);
      }
    }
  } finally {
    setRngState(rng);
  }
  if (pendingPad) problems.push(`${pendingPad.label}: a non-zero Pad at the end of the graph is not supported`);
  if (!problems.length && outputs[0].name !== cur) problems.push(`the graph output '${outputs[0].name}' is not the end of the chain ('${cur}')`);
  if (problems.length) throw new Error(`onnx: cannot import ${problems.length} node${problems.length > 1 ? 's' : ''}:\n  ${problems.slice(0, 50).join('\n  ')}${problems.length > 50 ? `\n  … and ${problems.length - 50} more` : ''}`);
  return new nn.Sequential(...layers).eval();
}
