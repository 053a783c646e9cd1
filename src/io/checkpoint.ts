import { Tensor } from '../tensor/index.js';
import type { Module } from '../nn/index.js';
import { getRngState, setRngState, type RngState } from '../random.js';
import { crc32 } from './crc32.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsEntry } from './safetensors.js';
import { readFileBytes, writeFileAtomic } from './files.js';

/** Anything with PyTorch-style state: optimizers, schedulers, data loaders. */
export interface Stateful {
  stateDict(): unknown;
  loadStateDict(state: never): void;
}

/** What a checkpoint holds: the model (parameters and buffers, BN running statistics included), and optionally more. */
export interface CheckpointParts {
  model: Module;
  optimizer?: Stateful;
  scheduler?: Stateful;
  loader?: Stateful;
}

const FORMAT = 'normlab-checkpoint';
const VERSION = '1';
/** Restored (and on error rolled back) in this order: the optimizer after the scheduler, so its saved lr wins, as in PyTorch. */
const PARTS = ['scheduler', 'optimizer', 'loader'] as const;
const CRC_ZERO = new TextEncoder().encode('00000000');

/**
 * CRC-32 of the whole file (header and data) with the header's crc32 value read as '00000000', as it was
 * computed when writing; null when the header holds no crc32 field.
 */
function fileCrc(bytes: Uint8Array, stored: unknown): string | null {
  if (typeof stored !== 'string' || !/^[0-9a-f]{8}$/.test(stored)) return null;
  const needle = new TextEncoder().encode(`"crc32":"${stored}"`);
  const end = Math.min(bytes.length, 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true)));
  let at = -1;
  for (let i = 8; at < 0 && i + needle.length <= end; i++) {
    let j = 0;
    while (j < needle.length && bytes[i + j] === needle[j]) j++;
    if (j === needle.length) at = i;
  }
  if (at < 0) return null;
  const v = at + needle.length - 9; // the 8 hex digits
  return crc32(bytes.subarray(v + 8), crc32(CRC_ZERO, crc32(bytes.subarray(0, v)))).toString(16).padStart(8, '0');
}

/**
 * Typed arrays and tensors inside a state object become safetensors entries (`prefix.i`), replaced by
 * { $tensor: name } references; everything else must be JSON.
 */
function pack(value: unknown, prefix: string, entries: Record<string, SafetensorsEntry>): unknown {
  if (value instanceof Tensor) return pack({ $shape: [...value.shape], $data: value.storage.copyToHost() }, prefix, entries);
  if (value instanceof Float32Array || value instanceof Float64Array) {
    const name = `${prefix}.${Object.keys(entries).length}`;
    entries[name] = { dtype: value instanceof Float32Array ? 'F32' : 'F64', shape: [value.length], data: value };
    return { $tensor: name };
  }
  if (Array.isArray(value)) return value.map((v) => pack(v, prefix, entries));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, pack(v, prefix, entries)]));
  if (typeof value === 'number' && !Number.isFinite(value)) return { $number: String(value) };
  return value;
}

/** Deepest nesting of saved state accepted (optimizer, scheduler and loader states nest 3–4 levels). */
const MAX_STATE_DEPTH = 64;

function unpack(value: unknown, tensors: Record<string, { dtype: string; data: Float64Array }>, depth = 0): unknown {
  if (depth > MAX_STATE_DEPTH) throw new Error(`checkpoint: state nested deeper than ${MAX_STATE_DEPTH} levels`);
  if (Array.isArray(value)) return value.map((v) => unpack(v, tensors, depth + 1));
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.$tensor === 'string') {
      const t = Object.hasOwn(tensors, o.$tensor) ? tensors[o.$tensor] : undefined;
      if (!t) throw new Error(`checkpoint: state refers to a tensor '${o.$tensor}' the file does not hold`);
      return t.dtype === 'F32' ? Float32Array.from(t.data) : Float64Array.from(t.data);
    }
    if (typeof o.$number === 'string') return Number(o.$number);
    if ('$shape' in o && '$data' in o) {
      const data = unpack(o.$data, tensors, depth + 1);
      const shape = o.$shape;
      if (!(data instanceof Float32Array || data instanceof Float64Array) || !Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)
        || shape.reduce((p: number, d: number) => p * d, 1) !== data.length)
        throw new Error(`checkpoint: a saved tensor has shape ${JSON.stringify(shape)?.slice(0, 100)} that does not fit its data`);
      return new Tensor(data, shape as number[]);
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, unpack(v, tensors, depth + 1)]));
  }
  return value;
}

/**
 * A copy that shares no storage: typed arrays are sliced (structuredClone would share views on a
 * SharedArrayBuffer, such as the wasm backend's memory), tensors rebuilt, plain data copied.
 */
function deepCopy<T>(value: T): T {
  if (value instanceof Tensor) return new Tensor(value.storage.copyToHost(), value.shape) as T;
  if (ArrayBuffer.isView(value)) return (value as unknown as Float32Array).slice() as T;
  if (Array.isArray(value)) return value.map(deepCopy) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deepCopy(v)])) as T;
  return value;
}

/**
 * Encode a checkpoint as safetensors bytes: model tensors under `model.<name>` (float32/float64, counters as
 * int64 — a PyTorch `safetensors.torch.load_file` reads them), optimizer/scheduler/loader state, the global
 * RNG state, the step and `extra` in the metadata, and a CRC-32 of the whole file so corruption is detected.
 */
export function encodeCheckpoint(parts: CheckpointParts, step: number, extra: Record<string, unknown> = {}): Uint8Array {
  const entries: Record<string, SafetensorsEntry> = {};
  const ints = parts.model.integerBufferNames();
  for (const [name, t] of Object.entries(parts.model.stateDict()))
    entries[`model.${name}`] = { dtype: ints.has(name) ? 'I64' : t.dtype === 'float32' ? 'F32' : 'F64', shape: t.shape, data: t.storage.copyToHost() };
  const state: Record<string, unknown> = {};
  for (const key of ['optimizer', 'scheduler', 'loader'] as const) {
    const part = parts[key];
    if (part) state[key] = pack(part.stateDict(), key, entries);
  }
  const meta = { format: FORMAT, version: VERSION, step: String(step), rng: JSON.stringify(getRngState()), state: JSON.stringify(state), extra: JSON.stringify(extra) };
  // The CRC covers the whole file as written with crc32 '00000000': encode once to learn it, then again with it.
  const probe = encodeSafetensors(entries, { ...meta, crc32: '00000000' });
  const crc = crc32(probe).toString(16).padStart(8, '0');
  return encodeSafetensors(entries, { ...meta, crc32: crc });
}

/**
 * Restore a checkpoint into the given parts. The file is checked whole first (format, CRC, every model
 * entry's name and shape); on any error nothing is changed and the message says what is wrong.
 * Returns the step and the extra data saved with it.
 */
export function decodeCheckpoint(bytes: Uint8Array, parts: CheckpointParts): { step: number; extra: Record<string, unknown> } {
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes);
  } catch (e) {
    throw new Error(`checkpoint: not a readable checkpoint (truncated or corrupted?): ${(e as Error).message}`);
  }
  const { tensors, metadata } = decoded;
  if (metadata.format !== FORMAT) throw new Error(`checkpoint: not a normlab checkpoint (format '${metadata.format ?? 'missing'}')`);
  if (metadata.version !== VERSION) throw new Error(`checkpoint: unsupported version '${metadata.version}' (this normlab reads version ${VERSION})`);
  const crc = fileCrc(bytes, metadata.crc32);
  if (crc === null || crc !== metadata.crc32) throw new Error(`checkpoint: file is corrupted (CRC-32 ${crc ?? 'missing'}, expected ${metadata.crc32})`);
  let state: Record<string, unknown>, rng: RngState, extra: Record<string, unknown>;
  try {
    state = JSON.parse(metadata.state);
    rng = JSON.parse(metadata.rng);
    extra = JSON.parse(metadata.extra ?? '{}');
  } catch (e) {
    throw new Error(`checkpoint: metadata is not valid JSON: ${(e as Error).message}`);
  }
  if (state === null || typeof state !== 'object' || Array.isArray(state)) throw new Error('checkpoint: metadata state is not an object');
  const step = Number(metadata.step);
  if (!Number.isSafeInteger(step) || step < 0) throw new Error(`checkpoint: invalid step '${metadata.step}'`);
  const modelState: Record<string, Float64Array> = {};
  for (const [name, t] of Object.entries(tensors)) if (name.startsWith('model.')) modelState[name.slice(6)] = t.data;
  for (const key of PARTS)
    if (parts[key] && !(key in state)) throw new Error(`checkpoint: holds no ${key} state, but a ${key} was given to restore`);
  // Check shapes against the model before writing anything (loadStateDict itself is all-or-nothing).
  const own = parts.model.stateDict();
  for (const [name, t] of Object.entries(tensors)) {
    if (!name.startsWith('model.')) continue;
    const mine = own[name.slice(6)];
    if (mine && (mine.ndim !== t.shape.length || mine.shape.some((d, i) => d !== t.shape[i])))
      throw new Error(`checkpoint: model entry '${name.slice(6)}' has shape [${t.shape}] in the file but [${mine.shape}] in the model`);
  }
  // Rebuild every part's state (typed arrays, tensors) before anything is written: a bad one is refused here.
  const unpacked = new Map(PARTS.filter((key) => parts[key]).map((key) => [key, unpack(state[key], tensors)]));
  const backup = Object.fromEntries(Object.entries(own).map(([n, t]) => [n, Float64Array.from(t.storage.peek())]));
  const rngBackup = getRngState();
  const partBackups = PARTS.map((key) => [parts[key], deepCopy(parts[key]?.stateDict())] as const);
  try {
    parts.model.loadStateDict(modelState);
    for (const key of PARTS) {
      const part = parts[key];
      if (part) part.loadStateDict(unpacked.get(key) as never);
    }
    setRngState(rng);
  } catch (e) {
    parts.model.loadStateDict(backup);
    for (const [part, st] of partBackups) if (part) part.loadStateDict(st as never);
    setRngState(rngBackup);
    throw new Error(`checkpoint: does not match what it is restored into: ${(e as Error).message}`);
  }
  return { step, extra };
}

/** Save a checkpoint to `path` atomically (temporary file, then rename). Node only. */
export async function saveCheckpoint(path: string, parts: CheckpointParts, step: number, extra: Record<string, unknown> = {}): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(parts, step, extra));
}

/** Load a checkpoint from `path` into `parts`; see decodeCheckpoint. Node only. */
export async function loadCheckpoint(path: string, parts: CheckpointParts): Promise<{ step: number; extra: Record<string, unknown> }> {
  return decodeCheckpoint(await readFileBytes(path), parts);
}
