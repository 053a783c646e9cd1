/**
 * `normlab train`: one network on the embedded digits, configured by flags; a run folder with metrics,
 * checkpoints, `summary.json` (the full configuration) and `report.html` (loss and accuracy curves).
 * `--resume <checkpoint>` continues a run in its own folder with its own flags, overriding only those given.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { data as dataset, deploy, manualSeed, models, nn, onnx, optim, train, io, type Tensor } from '../src/index.js';
import { FOLDED, type Arch } from './arch.js';
import { createProgress } from './progress.js';
import { trainReportHtml, type MetricLine } from './train-report.js';
import { runFolder } from './util.js';

export interface TrainFlags {
  model: 'mlp' | 'cnn';
  activation: 'sigmoid' | 'relu' | 'tanh';
  depth: number;
  width: number;
  bn: boolean;
  initStd?: number;
  optimizer: 'sgd' | 'adam' | 'adamw';
  lr: number;
  momentum: number;
  /** Default: 0, and 0.01 for AdamW (the library's and PyTorch's defaults). */
  weightDecay?: number;
  clipValue?: number;
  clipNorm?: number;
  globalClipNorm?: number;
  batch: number;
  steps: number;
  evalEvery: number;
  checkpointEvery?: number;
  resume?: string;
  seed: number;
  /** Data-parallel worker threads with SyncBatchNorm (global batch = batch); 1 (default) trains in this thread. */
  workers?: number;
  /** At the end, write the model as ONNX (model.onnx) and BN-folded (folded.safetensors) into the run folder. */
  export?: boolean;
  out?: string;
  json?: boolean;
}

/**
 * The flags that describe a run (what summary.json and checkpoints record): all but where and how to print,
 * every one present, in help order, unset ones as null.
 */
export type TrainConfig = { [K in keyof Omit<TrainFlags, 'resume' | 'out' | 'json' | 'workers' | 'export'>]-?: undefined extends TrainFlags[K] ? Exclude<TrainFlags[K], undefined> | null : TrainFlags[K] };

const CONFIG_KEYS = ['model', 'activation', 'depth', 'width', 'bn', 'initStd', 'optimizer', 'lr', 'momentum', 'weightDecay', 'clipValue', 'clipNorm', 'globalClipNorm', 'batch', 'steps', 'evalEvery', 'checkpointEvery', 'seed'] as const satisfies readonly (keyof TrainConfig)[];
// A flag added to TrainFlags and not to CONFIG_KEYS would be lost from summaries and checkpoints: the compiler names it here.
type Unlisted = Exclude<keyof TrainConfig, (typeof CONFIG_KEYS)[number]>;
const everyFlagListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyFlagListed;

/**
 * Flags a resumed run cannot change: they fix the network, the optimizer's state layout, the data order and
 * the seed. Every other flag (steps, eval and checkpoint intervals, lr, weight decay, clipping) may be given
 * again to override the checkpoint's value.
 */
export const FIXED_ON_RESUME = ['model', 'activation', 'depth', 'width', 'bn', 'initStd', 'optimizer', 'momentum', 'batch', 'seed'] as const;

const flagName = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
const show = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));

export function makeOptimizer(c: TrainConfig, params: Tensor[]): optim.Optimizer {
  const clip = { clipValue: c.clipValue ?? undefined, clipNorm: c.clipNorm ?? undefined, globalClipNorm: c.globalClipNorm ?? undefined };
  switch (c.optimizer) {
    case 'sgd': return new optim.SGD(params, { lr: c.lr, momentum: c.momentum, weightDecay: c.weightDecay ?? undefined, ...clip });
    case 'adam': return new optim.Adam(params, { lr: c.lr, weightDecay: c.weightDecay ?? undefined, ...clip });
    case 'adamw': return new optim.AdamW(params, { lr: c.lr, weightDecay: c.weightDecay ?? undefined, ...clip });
  }
}

/** The run's configuration from the flags: every field set, defaults resolved. */
function configOf(f: TrainFlags): TrainConfig {
  const resolved: Record<string, unknown> = { ...f, weightDecay: f.weightDecay ?? (f.optimizer === 'adamw' ? 0.01 : 0) };
  return Object.fromEntries(CONFIG_KEYS.map((k) => [k, resolved[k] ?? null])) as TrainConfig;
}

/** The flags a checkpoint was written with (from its metadata, before anything is restored); null if none. */
function checkpointConfig(bytes: Uint8Array): Partial<TrainConfig> | null {
  let extra: unknown;
  try {
    extra = JSON.parse(io.readSafetensorsHeader(bytes).metadata.extra ?? '{}');
  } catch {
    return null; // not a safetensors file: the restore below says what is wrong with it
  }
  const config = (extra as { config?: unknown } | null)?.config;
  return config && typeof config === 'object' ? (config as Partial<TrainConfig>) : null;
}

/**
 * The configuration of a resumed run: the checkpoint's flags, with the flags given now on top. A given flag
 * that would change what FIXED_ON_RESUME protects is an error naming it and both values.
 */
function resumedConfig(saved: Partial<TrainConfig>, f: TrainFlags, given: ReadonlySet<string>): TrainConfig {
  const clash = FIXED_ON_RESUME.filter((k) => given.has(k) && JSON.stringify(saved[k] ?? null) !== JSON.stringify(f[k] ?? null));
  if (clash.length)
    throw new Error(`--resume: ${clash.map((k) => `${flagName(k)} is ${show(saved[k])} in the checkpoint, ${show(f[k])} given`).join('; ')}: a resumed run keeps its network, optimizer, batch size and seed`);
  const merged = { ...f } as TrainFlags;
  for (const [k, v] of Object.entries(saved)) (merged as unknown as Record<string, unknown>)[k] = v ?? undefined;
  for (const k of given) (merged as unknown as Record<string, unknown>)[k] = (f as unknown as Record<string, unknown>)[k];
  return configOf(merged);
}

async function readLines(path: string): Promise<MetricLine[]> {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8').trim();
  return text ? text.split('\n').map((l, i) => {
    try { return JSON.parse(l) as MetricLine; } catch { throw new Error(`--resume: ${path} line ${i + 1} is not JSON`); }
  }) : [];
}

interface Segment { from: number; to: number; seconds: number; stepsPerSecond: number }

/**
 * Run `normlab train`. `given` names the flags the user typed (the others hold defaults): with --resume,
 * only those override the checkpoint's.
 */
export async function trainCommand(f: TrainFlags, given: ReadonlySet<string> = new Set()): Promise<Record<string, unknown>> {
  if (f.resume && !existsSync(f.resume)) throw new Error(`--resume: no checkpoint at '${f.resume}'`);
  // Everything about a resume is checked before anything is loaded or written.
  const resumeBytes = f.resume ? await io.readFileBytes(f.resume) : null;
  let config = configOf(f);
  if (resumeBytes) {
    const saved = checkpointConfig(resumeBytes);
    if (saved) config = resumedConfig(saved, f, given);
    // A checkpoint without normlab train's flags (e.g. written by the library's Trainer): its network is unknown.
    else if (isSafetensors(resumeBytes)) throw new Error(`--resume: '${f.resume}' holds no normlab train flags (was it written by 'normlab train --checkpoint-every'?)`);
  }
  const out = resolve(f.resume ? dirname(f.resume) : f.out ?? runFolder('train'));
  const say = (s: string) => (f.json ? process.stderr : process.stdout).write(`${s}\n`);
  if ((f.workers ?? 1) > 1) {
    if (resumeBytes || config.checkpointEvery || f.export) throw new Error('--workers: --resume, --checkpoint-every and --export need --workers 1 (data-parallel runs write no model files yet)');
    mkdirSync(out, { recursive: true });
    const arch = config.model === 'cnn' ? 'cnn' : `mlp ${[784, ...Array(config.depth).fill(config.width), 10].join('-')} ${config.activation}`;
    return (await import('./train-workers.js')).trainWorkers(config, f.workers!, { out, say, title: `${arch}${config.bn ? ' with BN' : ''}, ${config.optimizer} lr ${config.lr}, batch ${config.batch}, ${config.steps} steps` });
  }

  mkdirSync(out, { recursive: true });
  const mnist = await dataset.loadMnist();
  const { train: trainSet, test } = dataset.splitDataset(mnist, { seed: config.seed });
  manualSeed(config.seed);
  const model = config.model === 'cnn'
    ? models.cnn({ bn: config.bn })
    : models.mlp({ hidden: Array.from({ length: config.depth }, () => config.width), activation: config.activation, norm: config.bn ? 'batch' : 'none', initStd: config.initStd ?? undefined, seed: config.seed });
  const optimizer = makeOptimizer(config, model.parameters());
  const loader = new dataset.DataLoader(trainSet, { batchSize: config.batch, shuffle: true, dropLast: true, seed: config.seed });
  const trainer = new train.Trainer({ model, optimizer, data: loader });

  const metricsPath = join(out, 'metrics.jsonl');
  const summaryPath = join(out, 'summary.json');
  let previous: MetricLine[] = [];
  let segments: Segment[] = [];
  if (resumeBytes) {
    trainer.restore(resumeBytes); // checks the whole file first; on an error nothing has changed
    optimizer.lr = config.lr; // the checkpoint's lr, or the one given now
    if (trainer.step >= config.steps)
      throw new Error(`--resume: the checkpoint is at step ${trainer.step} and the run's --steps is ${config.steps}: give a larger --steps to train further`);
    // The run folder's metrics up to the checkpoint (a run that went on past its last checkpoint logged steps it now repeats).
    previous = (await readLines(metricsPath)).filter((m) => m.step <= trainer.step);
    try {
      const s = JSON.parse(readFileSync(summaryPath, 'utf8')) as { segments?: Segment[] };
      segments = (s.segments ?? []).filter((g) => g.to <= trainer.step);
    } catch { /* no summary yet: the run stopped before its end */ }
    const overrides = CONFIG_KEYS.filter((k) => given.has(k)).map((k) => `${flagName(k)} ${show(config[k])}`);
    say(`resumed from ${f.resume} at step ${trainer.step} with the run's flags${overrides.length ? `, overriding ${overrides.join(', ')}` : ''}`);
  }
  const arch = config.model === 'cnn' ? 'cnn (conv 16 → conv 32 → global pool → 10)' : `mlp ${[784, ...Array(config.depth).fill(config.width), 10].join('-')} ${config.activation}`;
  const title = `${arch}${config.bn ? ' with BN' : ''}, ${config.optimizer} lr ${config.lr}, batch ${config.batch}, ${config.steps} steps`;
  say(`normlab train: ${title}`);

  const lines: MetricLine[] = [];
  const writeMetrics = () => io.writeFileAtomic(metricsPath, [...previous, ...lines].map((m) => JSON.stringify(m)).join('\n') + (previous.length + lines.length ? '\n' : ''));
  const progress = createProgress();
  progress.add('train', config.steps, trainer.step);
  let last: train.EvalResult = { loss: NaN, accuracy: NaN };
  const ckptPath = join(out, 'checkpoint.safetensors');
  const t0 = performance.now();
  const startStep = trainer.step;
  // An async loop (not trainer.run) so the progress bar redraws; checkpoints and the metrics that go with
  // them are written atomically at the step they describe.
  while (trainer.step < config.steps) {
    const r = trainer.trainStep();
    if (r.step % 10 === 0) lines.push({ step: r.step, trainLoss: r.loss });
    if (r.step % config.evalEvery === 0 || r.step === config.steps) {
      last = train.evaluate(model, test);
      lines.push({ step: r.step, testLoss: last.loss, testAccuracy: last.accuracy });
    }
    progress.update('train', r.step, { loss: r.loss, info: Number.isFinite(last.accuracy) ? `test acc ${(100 * last.accuracy).toFixed(2)}%` : '' });
    if (config.checkpointEvery && (r.step % config.checkpointEvery === 0 || r.step === config.steps)) {
      // Metrics first: a crash between the two leaves metrics ahead of the checkpoint, which a resume trims.
      await writeMetrics();
      await io.writeFileAtomic(ckptPath, trainer.checkpoint({ config }));
    }
    if (r.step % 20 === 0) await new Promise((res) => setImmediate(res));
  }
  progress.stop();
  const seconds = (performance.now() - t0) / 1000;
  await writeMetrics();
  const stepsPerSecond = (trainer.step - startStep) / Math.max(seconds, 1e-9);
  segments.push({ from: startStep, to: trainer.step, seconds: +seconds.toFixed(2), stepsPerSecond: +stepsPerSecond.toFixed(1) });
  const summary = {
    command: 'train', steps: trainer.step, testAccuracy: last.accuracy, testLoss: last.loss,
    seconds: +seconds.toFixed(2), stepsPerSecond: +stepsPerSecond.toFixed(1),
    out, checkpoint: config.checkpointEvery ? ckptPath : null, report: join(out, 'report.html'),
    resumedFrom: resumeBytes ? { checkpoint: resolve(f.resume!), step: startStep } : null,
    config, segments,
  };
  if (f.export) Object.assign(summary, { exported: await exportModel(model, config, out) });
  await io.writeFileAtomic(summaryPath, JSON.stringify(summary, null, 2) + '\n');
  await io.writeFileAtomic(summary.report, await trainReportHtml({ title, config, metrics: [...previous, ...lines], final: { steps: trainer.step, testAccuracy: last.accuracy, testLoss: last.loss }, segments }));
  say(`test accuracy ${(100 * last.accuracy).toFixed(2)}% after ${trainer.step} steps (${seconds.toFixed(1)} s, ${stepsPerSecond.toFixed(0)} steps/s); run folder ${out}`);
  return summary;
}

/**
 * `--export`: the trained model in eval mode as ONNX (BatchNormalization nodes as trained; dynamic batch axis)
 * and BN-folded as a safetensors file that `normlab export` and `fold`'s readers take (same metadata as `fold`).
 */
async function exportModel(model: nn.Module, config: TrainConfig, out: string): Promise<Record<string, unknown>> {
  model.eval();
  const onnxPath = join(out, 'model.onnx'), foldedPath = join(out, 'folded.safetensors');
  const bytes = onnx.exportOnnx(model, { inputShape: [1, 784] });
  await io.writeFileAtomic(onnxPath, bytes);
  const { model: folded, folded: pairs, kept } = deploy.foldBatchNorm(model);
  const arch: Arch = { model: config.model, activation: config.activation, depth: config.depth, width: config.width, bn: config.bn, dtype: 'float32' };
  const meta = { format: FOLDED, arch: JSON.stringify(arch), folded: JSON.stringify(pairs), kept: JSON.stringify(kept) };
  await io.writeFileAtomic(foldedPath, io.saveSafetensors(folded, meta));
  return { onnx: onnxPath, onnxBytes: bytes.length, folded: foldedPath, foldedPairs: pairs.length, kept: kept.length };
}

/** Whether the bytes parse as a safetensors header (a file that does not is reported by the restore). */
function isSafetensors(bytes: Uint8Array): boolean {
  try {
    io.readSafetensorsHeader(bytes);
    return true;
  } catch {
    return false;
  }
}
