/**
 * Models from files for `fold` and `recompute-stats`: a `train` checkpoint (the architecture comes from the
 * flags saved in it) or a plain safetensors state dict (the architecture from --model/--depth/--width/
 * --activation/--bn, as `train` takes them).
 */
import { data as dataset, deploy, io, models, type nn } from '../src/index.js';

export interface ArchFlags {
  model?: 'mlp' | 'cnn';
  activation?: 'sigmoid' | 'relu' | 'tanh';
  depth?: number;
  width?: number;
  bn?: boolean;
  initStd?: number;
}

/** The architecture with train's defaults filled in. */
export interface Arch {
  model: 'mlp' | 'cnn';
  activation: 'sigmoid' | 'relu' | 'tanh';
  depth: number;
  width: number;
  bn: boolean;
  dtype: 'float32' | 'float64';
}

const CHECKPOINT = 'normlab-checkpoint';
export const FOLDED = 'normlab-folded';

/** The network `train` builds for these flags (same constructors, same layer names). */
export function buildModel(a: Arch): nn.Sequential {
  return a.model === 'cnn'
    ? models.cnn({ bn: a.bn, dtype: a.dtype })
    : models.mlp({ hidden: Array.from({ length: a.depth }, () => a.width), activation: a.activation, norm: a.bn ? 'batch' : 'none', dtype: a.dtype });
}

export function describeArch(a: Arch): string {
  return a.model === 'cnn' ? `cnn${a.bn ? ' with BN' : ''}` : `mlp ${[784, ...Array(a.depth).fill(a.width), 10].join('-')} ${a.activation}${a.bn ? ' with BN' : ''}`;
}

function archOf(f: ArchFlags, dtype: Arch['dtype']): Arch {
  return { model: f.model ?? 'mlp', activation: f.activation ?? 'sigmoid', depth: f.depth ?? 3, width: f.width ?? 100, bn: f.bn ?? true, dtype };
}

export interface LoadedModel {
  model: nn.Sequential;
  arch: Arch;
  kind: 'checkpoint' | 'state dict';
  /** The checkpoint's step and the flags `train` saved (checkpoints only). */
  step?: number;
  config?: Record<string, unknown>;
}

/**
 * Read a model: a train checkpoint (flags from its metadata; architecture flags given here must agree)
 * or a safetensors state dict with PyTorch names (architecture from the flags; float64 if its weights are).
 */
export async function loadModel(path: string, flags: ArchFlags): Promise<LoadedModel> {
  const bytes = await io.readFileBytes(path);
  let header: ReturnType<typeof io.readSafetensorsHeader>;
  try {
    header = io.readSafetensorsHeader(bytes);
  } catch (e) {
    throw new Error(`${path}: not a safetensors file or train checkpoint: ${(e as Error).message}`);
  }
  if (header.metadata.format === FOLDED) throw new Error(`${path}: holds a model that is already folded`);
  if (header.metadata.format === CHECKPOINT) {
    let config: Record<string, unknown>;
    try {
      config = (JSON.parse(header.metadata.extra ?? '{}') as { config?: Record<string, unknown> }).config ?? {};
    } catch {
      throw new Error(`${path}: the checkpoint's metadata is not valid JSON`);
    }
    if (config.model !== 'mlp' && config.model !== 'cnn') throw new Error(`${path}: the checkpoint does not say which model it holds (no train flags in its metadata)`);
    const saved = archOf(config as ArchFlags, 'float32');
    const given = Object.entries(flags).filter(([, v]) => v !== undefined) as [keyof ArchFlags, unknown][];
    const clash = given.filter(([k, v]) => k in saved && saved[k as keyof Arch] !== v).map(([k, v]) => `--${k} ${String(v)} (the checkpoint has ${String(saved[k as keyof Arch])})`);
    if (clash.length) throw new Error(`${path}: is a train checkpoint whose architecture differs from the flags: ${clash.join(', ')}`);
    const model = buildModel(saved);
    const { step } = io.decodeCheckpoint(bytes, { model });
    return { model, arch: saved, kind: 'checkpoint', step, config };
  }
  const { tensors } = io.decodeSafetensors(bytes);
  const float64 = Object.values(tensors).some((t) => t.dtype === 'F64');
  const arch = archOf(flags, float64 ? 'float64' : 'float32');
  const model = buildModel(arch);
  try {
    model.loadStateDict(Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.data])));
  } catch (e) {
    throw new Error(`${path}: does not match ${describeArch(arch)} (set --model, --depth, --width, --activation, --bn as the model was trained): ${(e as Error).message}`);
  }
  return { model, arch, kind: 'state dict' };
}

/** The structure a folded file's state dict loads into: the architecture, folded (its weights are then overwritten). */
export function foldedSkeleton(a: Arch): nn.Sequential {
  return deploy.foldBatchNorm(buildModel(a).eval()).model;
}

/** The embedded digits split as `train` splits them (seed from the checkpoint's flags, else 0). */
export async function digits(seed: number): Promise<{ train: dataset.Dataset; test: dataset.Dataset }> {
  return dataset.splitDataset(await dataset.loadMnist(), { seed });
}
