/** `normlab train`: one network on the embedded digits, configured by flags; metrics, checkpoints, summary. */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { data as dataset, manualSeed, models, optim, train, io, type Tensor } from '../src/index.js';
import { createProgress } from './progress.js';
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
  weightDecay: number;
  clipValue?: number;
  clipNorm?: number;
  globalClipNorm?: number;
  batch: number;
  steps: number;
  evalEvery: number;
  checkpointEvery?: number;
  resume?: string;
  seed: number;
  out?: string;
  json?: boolean;
}

function makeOptimizer(f: TrainFlags, params: Tensor[]): optim.Optimizer {
  const clip = { clipValue: f.clipValue, clipNorm: f.clipNorm, globalClipNorm: f.globalClipNorm };
  switch (f.optimizer) {
    case 'sgd': return new optim.SGD(params, { lr: f.lr, momentum: f.momentum, weightDecay: f.weightDecay, ...clip });
    case 'adam': return new optim.Adam(params, { lr: f.lr, weightDecay: f.weightDecay, ...clip });
    case 'adamw': return new optim.AdamW(params, { lr: f.lr, weightDecay: f.weightDecay, ...clip });
  }
}

/** Flags that do not change the training trajectory: a resumed run may set them differently (e.g. more --steps). */
const FREE_FLAGS = new Set(['steps', 'evalEvery', 'checkpointEvery', 'json', 'resume', 'out']);

/** Flags of `saved` and `now` that would change the trajectory, described as `--flag <saved> in the checkpoint, <now> now`. */
function flagDifferences(saved: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(saved), ...Object.keys(now)])].filter((k) => !FREE_FLAGS.has(k)).sort();
  const show = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));
  return keys.filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(now[k]))
    .map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${show(saved[k])} in the checkpoint, ${show(now[k])} now`);
}

/** The flags a checkpoint was written with (from its metadata, before anything is restored); null if unreadable. */
function checkpointFlags(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const config = (JSON.parse(io.readSafetensorsHeader(bytes).metadata.extra ?? '{}') as { config?: unknown }).config;
    return config && typeof config === 'object' ? (config as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export async function trainCommand(f: TrainFlags): Promise<Record<string, unknown>> {
  if (f.resume && !existsSync(f.resume)) throw new Error(`--resume: no checkpoint at '${f.resume}'`);
  const config = { ...f, json: undefined, resume: undefined, out: undefined };
  // Refuse a resume with other flags before loading anything (and before creating a run folder).
  const resumeBytes = f.resume ? await io.readFileBytes(f.resume) : null;
  if (resumeBytes) {
    const saved = checkpointFlags(resumeBytes);
    const diff = saved ? flagDifferences(saved, config) : [];
    if (diff.length) throw new Error(`--resume: the checkpoint was written with different flags: ${diff.join('; ')}`);
  }
  const out = resolve(f.out ?? runFolder('train'));
  mkdirSync(out, { recursive: true });
  const say = (s: string) => (f.json ? process.stderr : process.stdout).write(`${s}\n`);
  const mnist = await dataset.loadMnist();
  const { train: trainSet, test } = dataset.splitDataset(mnist, { seed: f.seed });
  manualSeed(f.seed);
  const model = f.model === 'cnn'
    ? models.cnn({ bn: f.bn })
    : models.mlp({ hidden: Array.from({ length: f.depth }, () => f.width), activation: f.activation, norm: f.bn ? 'batch' : 'none', initStd: f.initStd, seed: f.seed });
  const optimizer = makeOptimizer(f, model.parameters());
  const loader = new dataset.DataLoader(trainSet, { batchSize: f.batch, shuffle: true, dropLast: true, seed: f.seed });
  const trainer = new train.Trainer({ model, optimizer, data: loader });
  if (resumeBytes) {
    trainer.restore(resumeBytes);
    say(`resumed from ${f.resume} at step ${trainer.step}`);
  }
  const arch = f.model === 'cnn' ? 'cnn (conv 16 → conv 32 → global pool → 10)' : `mlp ${[784, ...Array(f.depth).fill(f.width), 10].join('-')} ${f.activation}`;
  say(`normlab train: ${arch}${f.bn ? ' with BN' : ''}, ${f.optimizer} lr ${f.lr}, batch ${f.batch}, ${f.steps} steps`);

  const metricsPath = join(out, 'metrics.jsonl');
  const lines: string[] = [];
  const progress = createProgress();
  progress.add('train', f.steps);
  let last: train.EvalResult = { loss: NaN, accuracy: NaN };
  const ckptPath = join(out, 'checkpoint.safetensors');
  const t0 = performance.now();
  const startStep = trainer.step;
  const evalNow = (step: number) => {
    last = train.evaluate(model, test);
    lines.push(JSON.stringify({ step, testLoss: last.loss, testAccuracy: last.accuracy }));
  };
  // An async loop (not trainer.run) so the progress bar redraws and checkpoints are written, atomically
  // and in order, at the step they describe.
  while (trainer.step < f.steps) {
    const r = trainer.trainStep();
    if (r.step % 10 === 0) lines.push(JSON.stringify({ step: r.step, trainLoss: r.loss }));
    if (r.step % f.evalEvery === 0 || r.step === f.steps) evalNow(r.step);
    progress.update('train', r.step, Number.isFinite(last.accuracy) ? `test acc ${(100 * last.accuracy).toFixed(2)}%` : '');
    if (f.checkpointEvery && (r.step % f.checkpointEvery === 0 || r.step === f.steps)) await io.writeFileAtomic(ckptPath, trainer.checkpoint({ config }));
    if (r.step % 20 === 0) await new Promise((res) => setImmediate(res));
  }
  progress.stop();
  const seconds = (performance.now() - t0) / 1000;
  if (trainer.step === startStep || !Number.isFinite(last.accuracy)) last = train.evaluate(model, test);
  await io.writeFileAtomic(metricsPath, lines.join('\n') + (lines.length ? '\n' : ''));
  const summary = {
    command: 'train', steps: trainer.step, testAccuracy: last.accuracy, testLoss: last.loss,
    seconds: +seconds.toFixed(2), stepsPerSecond: +((trainer.step - startStep) / Math.max(seconds, 1e-9)).toFixed(1),
    out, checkpoint: f.checkpointEvery ? ckptPath : null,
  };
  await io.writeFileAtomic(join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  say(`test accuracy ${(100 * last.accuracy).toFixed(2)}% after ${trainer.step} steps (${seconds.toFixed(1)} s); run folder ${out}`);
  return summary;
}
