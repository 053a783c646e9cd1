/**
 * safetensors (https://github.com/huggingface/safetensors) reading and writing, pure (bytes in, bytes
 * out; no file system), so it runs in Node and browsers. Layout: an 8-byte little-endian header length
 * n, n bytes of JSON header { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": {...} },
 * then the data buffer. Files are untrusted: every field is checked before any value is read.
 *
 * Bounds on untrusted input: the header is at most MAX_HEADER bytes and must lie inside the file; every
 * entry's byte span must lie inside the data buffer and equal its shape's size, and the spans must tile
 * the buffer exactly (no overlap, no hole), all checked before any value is allocated — so decoding
 * allocates at most one float64 per data byte, and never more than the file itself implies.
 */
import { Tensor } from '../tensor/index.js';
import { Module } from '../nn/index.js';
import type { FloatArray } from '../kernels/types.js';

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const BYTES: Record<SafetensorsDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** The integer range each integer dtype can hold (I64: what a JS number holds exactly, as the reader accepts). */
const RANGE: Partial<Record<SafetensorsDType, [number, number]>> = {
  I64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], I32: [-(2 ** 31), 2 ** 31 - 1], I16: [-32768, 32767], I8: [-128, 127], U8: [0, 255], BOOL: [0, 1],
};

const isDType = (d: unknown): d is SafetensorsDType => typeof d === 'string' && Object.hasOwn(BYTES, d);

/** Set an own property, so that names such as `__proto__` are kept as ordinary keys. */
function setOwn<T>(o: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A tensor to write: values (converted to `dtype`) and a shape. */
export interface SafetensorsEntry {
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

/** A tensor read back: values widened to float64 (integers exactly up to 2^53), with the stored dtype. */
export interface SafetensorsTensor {
  readonly dtype: SafetensorsDType;
  readonly shape: number[];
  readonly data: Float64Array;
}

/** The largest header accepted (the reference implementation's limit is 100 MB). */
const MAX_HEADER = 100_000_000;

export function encodeSafetensors(entries: Record<string, SafetensorsEntry>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(entries);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const n of names) {
    const e = entries[n];
    if (n === '__metadata__') throw new Error(`safetensors: '__metadata__' is reserved for the metadata and cannot name a tensor`);
    if (!isDType(e.dtype)) throw new Error(`safetensors: unknown dtype '${e.dtype}' for '${n}'`);
    if (e.dtype === 'F16' || e.dtype === 'BF16') throw new Error(`safetensors: writing ${e.dtype} is not supported ('${n}')`);
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new Error(`safetensors: '${n}' has an invalid shape ${JSON.stringify(e.shape)}`);
    const count = e.shape.reduce((p, d) => p * d, 1);
    if (count !== e.data.length) throw new Error(`safetensors: '${n}' has shape [${e.shape}] but ${e.data.length} values`);
    const size = count * BYTES[e.dtype];
    setOwn(header, n, { dtype: e.dtype, shape: [...e.shape], data_offsets: [offset, offset + size] });
    offset += size;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (allowed by the format).
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const n of names) {
    const e = entries[n];
    const w = BYTES[e.dtype];
    for (let i = 0; i < e.data.length; i++, p += w) writeValue(dv, p, e.dtype, e.data[i], n);
  }
  return out;
}

function writeValue(dv: DataView, p: number, dtype: SafetensorsDType, v: number, name: string): void {
  switch (dtype) {
    case 'F64': dv.setFloat64(p, v, true); return;
    case 'F32': dv.setFloat32(p, v, true); return;
    case 'I64': checkInt(v, name, dtype); dv.setBigInt64(p, BigInt(v), true); return;
    case 'I32': checkInt(v, name, dtype); dv.setInt32(p, v, true); return;
    case 'I16': checkInt(v, name, dtype); dv.setInt16(p, v, true); return;
    case 'I8': checkInt(v, name, dtype); dv.setInt8(p, v); return;
    case 'U8': case 'BOOL': checkInt(v, name, dtype); dv.setUint8(p, v); return;
    default: throw new Error(`safetensors: cannot write dtype ${dtype}`);
  }
}

function checkInt(v: number, name: string, dtype: SafetensorsDType): void {
  if (!Number.isInteger(v)) throw new Error(`safetensors: '${name}' holds a non-integer ${v} for an integer dtype`);
  const [lo, hi] = RANGE[dtype]!;
  if (v < lo || v > hi) throw new Error(`safetensors: '${name}' holds ${v}, outside ${dtype} [${lo}, ${hi}]`);
}

function fail(msg: string): never {
  throw new Error(`safetensors: ${msg}`);
}

/** Parse and validate the header; returns entries and metadata without reading values. */
export function readSafetensorsHeader(bytes: Uint8Array): { header: Record<string, { dtype: SafetensorsDType; shape: number[]; begin: number; end: number }>; metadata: Record<string, string>; dataStart: number } {
  if (!(bytes instanceof Uint8Array)) fail('expected bytes (Uint8Array)');
  if (bytes.length < 8) fail(`file too short (${bytes.length} bytes): no header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(Math.min(MAX_HEADER, bytes.length - 8))) fail(`header length ${n64} exceeds the file (${bytes.length} bytes) or the ${MAX_HEADER}-byte limit`);
  const n = Number(n64);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) fail('header is not a JSON object');
  const dataStart = 8 + n, dataLen = bytes.length - dataStart;
  const header: Record<string, { dtype: SafetensorsDType; shape: number[]; begin: number; end: number }> = {};
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!raw || typeof raw !== 'object' || Array.isArray(raw) || Object.values(raw).some((v) => typeof v !== 'string')) fail('__metadata__ must map strings to strings');
      metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e !== 'object') fail(`entry '${name}' is not an object`);
    if (!isDType(e.dtype)) fail(`entry '${name}' has unknown dtype ${JSON.stringify(e.dtype)}`);
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(`entry '${name}' has an invalid shape ${JSON.stringify(e.shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isSafeInteger(o) && o >= 0) || off[0] > off[1] || off[1] > dataLen)
      fail(`entry '${name}' has data_offsets ${JSON.stringify(off)} outside the ${dataLen}-byte data buffer`);
    const dtype = e.dtype as SafetensorsDType;
    const count = (e.shape as number[]).reduce((p, d) => p * d, 1);
    if (count * BYTES[dtype] !== off[1] - off[0]) fail(`entry '${name}': shape [${e.shape}] of ${dtype} needs ${count * BYTES[dtype]} bytes but data_offsets span ${off[1] - off[0]}`);
    setOwn(header, name, { dtype, shape: [...(e.shape as number[])], begin: off[0], end: off[1] });
    spans.push([off[0], off[1], name]);
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let pos = 0;
  for (const [b, e, name] of spans) {
    if (b !== pos) fail(b < pos ? `entry '${name}' overlaps another entry` : `the data buffer has a hole before '${name}'`);
    pos = e;
  }
  if (pos !== dataLen) fail(`the data buffer has ${dataLen - pos} trailing bytes no entry covers`);
  return { header, metadata, dataStart };
}

/** Decode every tensor (values widened to float64; F16/BF16 converted). */
export function decodeSafetensors(bytes: Uint8Array): { tensors: Record<string, SafetensorsTensor>; metadata: Record<string, string> } {
  const { header, metadata, dataStart } = readSafetensorsHeader(bytes);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const [name, h] of Object.entries(header)) {
    const w = BYTES[h.dtype], count = (h.end - h.begin) / w;
    const data = new Float64Array(count);
    for (let i = 0, p = dataStart + h.begin; i < count; i++, p += w) data[i] = readValue(dv, p, h.dtype, name);
    setOwn(tensors, name, { dtype: h.dtype, shape: h.shape, data });
  }
  return { tensors, metadata };
}

function readValue(dv: DataView, p: number, dtype: SafetensorsDType, name: string): number {
  switch (dtype) {
    case 'F64': return dv.getFloat64(p, true);
    case 'F32': return dv.getFloat32(p, true);
    case 'F16': return half(dv.getUint16(p, true));
    case 'BF16': scratch.setUint32(0, dv.getUint16(p, true) << 16, false); return scratch.getFloat32(0, false); // bf16 = the top half of a float32
    case 'I64': {
      const v = dv.getBigInt64(p, true);
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) fail(`'${name}' holds an int64 ${v} beyond 2^53`);
      return Number(v);
    }
    case 'I32': return dv.getInt32(p, true);
    case 'I16': return dv.getInt16(p, true);
    case 'I8': return dv.getInt8(p);
    case 'U8': case 'BOOL': return dv.getUint8(p);
  }
}

const scratch = new DataView(new ArrayBuffer(4));

/** IEEE 754 half precision to a number. */
function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** PyTorch's integer buffers among the names normlab writes: saved as I64, as torch writes num_batches_tracked. */
const INTEGER_NAME = /(^|\.)num_batches_tracked$/;

/** What saveSafetensors takes: a module (its state dict), or a state dict of tensors or typed arrays. */
export type StateDictLike = Module | Record<string, Tensor | FloatArray>;

/**
 * Encode a state dict as safetensors bytes, with the keys, shapes and dtypes PyTorch's
 * `safetensors.torch.save_file(model.state_dict())` writes for the same architecture: float32 tensors as
 * F32, float64 as F64, and the BN counters (`num_batches_tracked`) as I64. A module's integer buffers
 * are found by the module itself; in a plain record, by that name.
 *
 * Defaults: metadata = { format: 'pt' } (what PyTorch's writer stores); pass your own strings to replace it.
 *
 * Example:
 * ```ts
 * const net = new nn.Sequential(new nn.Linear(4, 3), new nn.BatchNorm1d(3));
 * const bytes = io.saveSafetensors(net.stateDict());
 * Object.keys(io.loadSafetensors(bytes));
 * // => ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked"]
 * ```
 */
export function saveSafetensors(stateDict: StateDictLike, metadata: Record<string, string> = { format: 'pt' }): Uint8Array {
  const isModule = stateDict instanceof Module;
  const record = isModule ? stateDict.stateDict() : stateDict;
  if (!record || typeof record !== 'object') throw new Error('saveSafetensors: expected a module or a record of tensors');
  const ints = isModule ? stateDict.integerBufferNames() : null;
  const entries: Record<string, SafetensorsEntry> = {};
  for (const [name, v] of Object.entries(record)) {
    let data: FloatArray, shape: readonly number[];
    if (v instanceof Tensor) { data = v.storage.copyToHost(); shape = v.shape; }
    else if (v instanceof Float32Array || v instanceof Float64Array) { data = v; shape = [v.length]; }
    else throw new Error(`saveSafetensors: '${name}' is not a tensor or Float32Array/Float64Array`);
    const integer = ints ? ints.has(name) : INTEGER_NAME.test(name);
    setOwn(entries, name, { dtype: integer ? 'I64' : data instanceof Float32Array ? 'F32' : 'F64', shape, data });
  }
  for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new Error(`saveSafetensors: metadata '${k}' must be a string`);
  return encodeSafetensors(entries, metadata);
}

/**
 * Decode safetensors bytes (from PyTorch, the `safetensors` library or saveSafetensors) into tensors by
 * name, ready for `model.loadStateDict`. F32, F16 and BF16 become float32 tensors; F64 and the integer
 * dtypes (I64 counters such as num_batches_tracked, exact up to 2^53) float64 tensors.
 *
 * Errors: a malformed or truncated file is an error starting with `safetensors:` that says what is wrong;
 * nothing larger than the file implies is allocated.
 *
 * Example:
 * ```ts
 * const bytes = io.saveSafetensors({ w: tensor([[1, 2], [3, 4]]) });
 * io.loadSafetensors(bytes).w.toArray(); // => [[1, 2], [3, 4]]
 * ```
 */
export function loadSafetensors(bytes: Uint8Array): Record<string, Tensor> {
  const { tensors } = decodeSafetensors(bytes);
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const f32 = t.dtype === 'F32' || t.dtype === 'F16' || t.dtype === 'BF16';
    setOwn(out, name, new Tensor(f32 ? Float32Array.from(t.data) : t.data, t.shape));
  }
  return out;
}

/** saveSafetensors to a file, written atomically (a temporary file, then a rename). Node only. */
export async function saveSafetensorsFile(path: string, stateDict: StateDictLike, metadata?: Record<string, string>): Promise<void> {
  const { writeFileAtomic } = await import('./files.js');
  await writeFileAtomic(path, saveSafetensors(stateDict, metadata));
}

/** loadSafetensors from a file. Node only. */
export async function loadSafetensorsFile(path: string): Promise<Record<string, Tensor>> {
  const { readFileBytes } = await import('./files.js');
  return loadSafetensors(await readFileBytes(path));
}
