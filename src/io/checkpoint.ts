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

/**
 * Typed arrays and tensors inside a state object become safetensors entries (`prefix.i`), replaced by
 * { $tensor: name } references; everything else must be JSON.
 */
function pack(value: unknown, prefix: string, entries: Record<string, SafetensorsEntry>): unknown {
  if (value instanceof Tensor) return pack({ $shape: [...value.shape], $data: value.data }, prefix, entries);
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

function unpack(value: unknown, tensors: Record<string, { dtype: string; data: Float64Array }>): unknown {
  if (Array.isArray(value)) return value.map((v) => unpack(v, tensors));
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.$tensor === 'string') {
      const t = tensors[o.$tensor];
      if (!t) throw new Error(`checkpoint: state refers to a tensor '${o.$tensor}' the file does not hold`);
      return t.dtype === 'F32' ? Float32Array.from(t.data) : Float64Array.from(t.data);
    }
    if (typeof o.$number === 'string') return Number(o.$number);
    if ('$shape' in o && '$data' in o) {
      const data = unpack(o.$data, tensors) as Float32Array | Float64Array;
      return new Tensor(data, o.$shape as number[]);
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, unpack(v, tensors)]));
  }
  return value;
}

/**
 * Encode a checkpoint as safetensors bytes: model tensors under `model.<name>` (float32/float64, counters as
 * int64 — a PyTorch `safetensors.torch.load_file` reads them), optimizer/scheduler/loader state, the global
 * RNG state, the step and `extra` in the metadata, and a CRC-32 of the data so corruption is detected.
 */
export function encodeCheckpoint(parts: CheckpointParts, step: number, extra: Record<string, unknown> = {}): Uint8Array {
  const entries: Record<string, SafetensorsEntry> = {};
  const ints = parts.model.integerBufferNames();
  for (const [name, t] of Object.entries(parts.model.stateDict()))
    entries[`model.${name}`] = { dtype: ints.has(name) ? 'I64' : t.dtype === 'float32' ? 'F32' : 'F64', shape: t.shape, data: t.data };
  const state: Record<string, unknown> = {};
  for (const key of ['optimizer', 'scheduler', 'loader'] as const) {
    const part = parts[key];
    if (part) state[key] = pack(part.stateDict(), key, entries);
  }
  const meta = { format: FORMAT, version: VERSION, step: String(step), rng: JSON.stringify(getRngState()), state: JSON.stringify(state), extra: JSON.stringify(extra) };
  // The CRC covers the data buffer: encode once to learn it, then again with it in the header.
  const probe = encodeSafetensors(entries, { ...meta, crc32: '00000000' });
  const headerLen = 8 + Number(new DataView(probe.buffer).getBigUint64(0, true));
  const crc = crc32(probe.subarray(headerLen)).toString(16).padStart(8, '0');
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
  const headerLen = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const crc = crc32(bytes.subarray(headerLen)).toString(16).padStart(8, '0');
  if (crc !== metadata.crc32) throw new Error(`checkpoint: data is corrupted (CRC-32 ${crc}, expected ${metadata.crc32})`);
  let state: Record<string, unknown>, rng: RngState, extra: Record<string, unknown>;
  try {
    state = JSON.parse(metadata.state);
    rng = JSON.parse(metadata.rng);
    extra = JSON.parse(metadata.extra ?? '{}');
  } catch (e) {
    throw new Error(`checkpoint: metadata is not valid JSON: ${(e as Error).message}`);
  }
  const step = Number(metadata.step);
  if (!Number.isSafeInteger(step) || step < 0) throw new Error(`checkpoint: invalid step '${metadata.step}'`);
  const modelState: Record<string, Float64Array> = {};
  for (const [name, t] of Object.entries(tensors)) if (name.startsWith('model.')) modelState[name.slice(6)] = t.data;
  for (const key of ['optimizer', 'scheduler', 'loader'] as const)
    if (parts[key] && !(key in state)) throw new Error(`checkpoint: holds no ${key} state, but a ${key} was given to restore`);
  // Check shapes against the model before writing anything (loadStateDict itself is all-or-nothing).
  const own = parts.model.stateDict();
  for (const [name, t] of Object.entries(tensors)) {
    if (!name.startsWith('model.')) continue;
    const mine = own[name.slice(6)];
    if (mine && (mine.ndim !== t.shape.length || mine.shape.some((d, i) => d !== t.shape[i])))
      throw new Error(`checkpoint: model entry '${name.slice(6)}' has shape [${t.shape}] in the file but [${mine.shape}] in the model`);
  }
  const backup = Object.fromEntries(Object.entries(own).map(([n, t]) => [n, Float64Array.from(t.data)]));
  const rngBackup = getRngState();
  const partBackups = (['optimizer', 'scheduler', 'loader'] as const).map((key) => [parts[key], structuredClone(parts[key]?.stateDict())] as const);
  try {
    parts.model.loadStateDict(modelState);
    for (const key of ['optimizer', 'scheduler', 'loader'] as const) {
      const part = parts[key];
      if (part) part.loadStateDict(unpack(state[key], tensors) as never);
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
