/**
 * A one-node ONNX model (BatchNormalization, opset 15, inference form) written as raw protobuf, so the
 * onnxruntime peer needs no Python. Field numbers are those of onnx/onnx.proto (ModelProto, GraphProto, ...).
 */

type Field = Uint8Array;

function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) { out.push((v % 0x80) | 0x80); v = Math.floor(v / 0x80); }
  out.push(v);
  return out;
}

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};

/** Wire type 0 (varint) field. */
const int = (field: number, v: number): Field => Uint8Array.from([...varint(field << 3), ...varint(v)]);
/** Wire type 2 (length-delimited) field: bytes, string or nested message. */
const bytes = (field: number, b: Uint8Array): Field => concat([Uint8Array.from([...varint((field << 3) | 2), ...varint(b.length)]), b]);
const str = (field: number, s: string): Field => bytes(field, new TextEncoder().encode(s));
const msg = (field: number, ...parts: Field[]): Field => bytes(field, concat(parts));
/** Wire type 5 (fixed32) float field. */
const f32 = (field: number, v: number): Field => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, v, true);
  return concat([Uint8Array.from(varint((field << 3) | 5)), b]);
};

const FLOAT = 1; // TensorProto.DataType.FLOAT and AttributeProto.AttributeType.FLOAT

/** TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian float32). */
function initializer(name: string, values: Float32Array): Field {
  const raw = new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  return msg(5, int(1, values.length), int(2, FLOAT), str(8, name), bytes(9, raw));
}

/** ValueInfoProto { name = 1, type = 2 { tensor_type = 1 { elem_type = 1, shape = 2 { dim = 1 { dim_value = 1 } } } } }. */
function valueInfo(field: number, name: string, shape: readonly number[]): Field {
  return msg(field, str(1, name), msg(2, msg(1, int(1, FLOAT), msg(2, ...shape.map((d) => msg(1, int(1, d)))))));
}

/**
 * y = (x − mean)/√(var + eps)·scale + bias per channel of x [N, C, ...] — the ONNX model bytes.
 * Graph inputs: x; initializers: scale, bias, mean, var (each [C]).
 */
export function bnInferenceModel(shape: readonly number[], p: { scale: Float32Array; bias: Float32Array; mean: Float32Array; variance: Float32Array }, eps = 1e-5): Uint8Array {
  const node = msg(1, str(1, 'x'), str(1, 'scale'), str(1, 'bias'), str(1, 'mean'), str(1, 'var'), str(2, 'y'),
    str(3, 'bn'), str(4, 'BatchNormalization'), msg(5, str(1, 'epsilon'), f32(2, eps), int(20, FLOAT)));
  const graph = msg(7, node, str(2, 'bn'),
    initializer('scale', p.scale), initializer('bias', p.bias), initializer('mean', p.mean), initializer('var', p.variance),
    valueInfo(11, 'x', shape), valueInfo(12, 'y', shape));
  // ModelProto: ir_version = 1, producer_name = 2, graph = 7, opset_import = 8 { domain = 1, version = 2 }
  return concat([int(1, 8), str(2, 'normlab-bench'), graph, msg(8, str(1, ''), int(2, 15))]);
}
