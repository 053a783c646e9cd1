/**
 * The official ONNX schema (onnx.proto of ONNX 1.12.0, see NOTICE.md) through protobufjs: encoding and
 * decoding of ModelProto are the library's, nothing here writes wire bytes by hand. Field names are
 * protobufjs's camelCase forms of the schema's (raw_data → rawData).
 *
 * Decoding untrusted bytes: protobufjs checks every length against the buffer and allocates at most one
 * object per input byte, but decodes nested messages recursively, so `checkNesting` first walks the wire
 * format (with protobufjs's Reader) and refuses nesting deeper than MAX_NESTING before `decode` runs.
 */
import protobuf from 'protobufjs/light.js';
import { onnxDescriptor } from './proto.generated.js';

const root = protobuf.Root.fromJSON(onnxDescriptor as protobuf.INamespace);
export const ModelProto = root.lookupType('onnx.ModelProto');
const TensorProtoType = root.lookupType('onnx.TensorProto');

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, DOUBLE: 11 } as const;
/** AttributeProto.AttributeType values. */
export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** int64 fields decode as Long objects (protobufjs with long.js); numbers are accepted when encoding. */
export type Int64 = number | protobuf.Long;

export interface TensorMsg {
  dims?: Int64[]; dataType?: number; name?: string; rawData?: Uint8Array;
  floatData?: number[]; int32Data?: number[]; int64Data?: Int64[]; doubleData?: number[];
  dataLocation?: number; externalData?: unknown[];
}
export interface AttributeMsg { name?: string; type?: number; f?: number; i?: Int64; s?: Uint8Array; t?: TensorMsg; floats?: number[]; ints?: Int64[]; g?: unknown }
export interface NodeMsg { input?: string[]; output?: string[]; name?: string; opType?: string; domain?: string; attribute?: AttributeMsg[] }
export interface DimMsg { dimValue?: Int64; dimParam?: string }
export interface ValueInfoMsg { name?: string; type?: { tensorType?: { elemType?: number; shape?: { dim?: DimMsg[] } } } }
export interface GraphMsg { node?: NodeMsg[]; name?: string; initializer?: TensorMsg[]; input?: ValueInfoMsg[]; output?: ValueInfoMsg[]; sparseInitializer?: unknown[] }
export interface ModelMsg {
  irVersion?: Int64; producerName?: string; producerVersion?: string; docString?: string;
  opsetImport?: { domain?: string; version?: Int64 }[]; graph?: GraphMsg; functions?: unknown[];
}

/** Serialize a model object (checked against the schema by protobufjs first). */
export function encodeModel(model: ModelMsg): Uint8Array {
  const err = ModelProto.verify(model);
  if (err) throw new Error(`onnx: internal error, the model does not fit onnx.proto: ${err}`);
  // A plain Uint8Array of its own: in Node protobufjs returns a Buffer, possibly a slice of a shared pool,
  // whose slice() is a view, not a copy.
  return Uint8Array.from(ModelProto.encode(ModelProto.fromObject(model as Record<string, unknown>)).finish());
}

/** Deepest message nesting accepted (a model with subgraphs in attributes needs ~10). */
export const MAX_NESTING = 64;

/**
 * Walk the wire format of `type` without building objects and refuse nesting deeper than MAX_NESTING
 * (messages and groups), so the recursive decoder cannot overflow the stack. Errors of the Reader
 * (lengths beyond the buffer, bad wire types) surface here too.
 */
function checkNesting(reader: protobuf.Reader, end: number, type: protobuf.Type | null, depth: number): void {
  if (depth > MAX_NESTING) throw new Error(`messages nested deeper than ${MAX_NESTING} levels`);
  while (reader.pos < end) {
    const tag = reader.uint32(), wire = tag & 7, id = tag >>> 3;
    if (id === 0) throw new Error(`field number 0 at byte ${reader.pos}`);
    if (wire === 4) throw new Error(`unexpected end-group tag at byte ${reader.pos}`);
    if (wire === 2) {
      const len = reader.uint32(), start = reader.pos;
      if (len > reader.len - start) throw new Error(`a field of ${len} bytes at byte ${start} runs past the end (${reader.len} bytes)`);
      const field = type?.fieldsById[id];
      const sub = field?.resolve().resolvedType;
      if (sub instanceof protobuf.Type) checkNesting(reader, start + len, sub, depth + 1);
      reader.pos = start + len;
    } else if (wire === 3) {
      skipGroup(reader, depth + 1);
    } else {
      reader.skipType(wire);
    }
  }
  if (reader.pos !== end) throw new Error(`a message runs past its length (byte ${reader.pos}, expected ${end})`);
}

function skipGroup(reader: protobuf.Reader, depth: number): void {
  if (depth > MAX_NESTING) throw new Error(`groups nested deeper than ${MAX_NESTING} levels`);
  for (;;) {
    if (reader.pos >= reader.len) throw new Error('a group has no end tag');
    const wire = reader.uint32() & 7;
    if (wire === 4) return;
    if (wire === 3) skipGroup(reader, depth + 1);
    else reader.skipType(wire);
  }
}

/** Decode ModelProto bytes; every malformed input is an Error starting with `onnx:`. */
export function decodeModel(bytes: Uint8Array): ModelMsg {
  if (!(bytes instanceof Uint8Array)) throw new Error('onnx: expected the model as bytes (Uint8Array)');
  try {
    checkNesting(protobuf.Reader.create(bytes), bytes.length, ModelProto, 0);
    return ModelProto.decode(bytes) as unknown as ModelMsg;
  } catch (e) {
    throw new Error(`onnx: not a valid ONNX model (${(e as Error)?.message ?? String(e)})`);
  }
}

/** Used by tests: the TensorProto type. */
export const TensorProto = TensorProtoType;
