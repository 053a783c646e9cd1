/**
 * What the claim experiments (experiments/claim*.ts) share: the verdict type, the event stream a run
 * reports through, the digits split, a step-based training loop over the library's Trainer, seed
 * statistics for the spread, and the Vega-Lite chart helpers. No math of the network lives here: models,
 * losses, optimizers and evaluation are the library's.
 */
import { data as dataset, nn, optim, train, Rng, manualSeed } from '../src/index.js';
import { initLinears } from '../src/models/mlp.js';

/** The three outcomes of a claim's experiment. */
export type Verdict = 'reproduced' | 'not reproduced' | 'inconclusive';

/** A verdict and the figures that decided it (one sentence, numbers included). */
export interface VerdictResult {
  verdict: Verdict;
  evidence: string;
}

/** What a run reports while it works: progress for the bars, metric records for metrics.jsonl. */
export type ClaimEvent =
  | { type: 'progress'; done: number; total: number; info?: string }
  | { type: 'metric'; record: Record<string, unknown> };

export type Log = (e: ClaimEvent) => void;

export type Spec = Record<string, unknown>;

/** One chart of the report: a title and a Vega-Lite specification. */
export interface Chart {
  title: string;
  spec: Spec;
}

/** Every config shares these: the base seed and how many seeds (base, base + 1, …) to run. */
export interface SeededConfig {
  /** Base seed: seeds used are seed, seed + 1, …, seed + seeds − 1. The data split uses `seed` alone. */
  seed: number;
  /** Number of seeds (weights and batch order differ per seed; both arms share each seed's weights). */
  seeds: number;
}

/**
 * One claim as an experiment: a typed config (defaults, the paper-sized `full` overrides, a `tiny`
 * setting for tests), a run that reports through `log` and returns metrics, the verdict rule in words
 * (fixed before any run) and the function that applies it to the metrics, and the report's charts.
 */
export interface ClaimExperiment<C extends SeededConfig = SeededConfig, M = unknown> {
  readonly id: number;
  readonly title: string;
  /** The note's statement, as CLAIMS.md gives it. */
  readonly claim: string;
  /** How the experiment tests it (one paragraph for the report). */
  readonly method: string;
  /** The verdict rule, in words, exactly what `verdict` implements. */
  readonly rule: string;
  readonly defaults: C;
  readonly full: Partial<C>;
  readonly tiny: Partial<C>;
  /** Work units of a run (for the progress bar). */
  total(cfg: C): number;
  run(cfg: C, log: Log): Promise<M>;
  verdict(m: M): VerdictResult;
  charts(m: M): Chart[];
}

/** The seeds a config asks for. */
export function seedList(cfg: SeededConfig): number[] {
  return Array.from({ length: cfg.seeds }, (_, i) => cfg.seed + i);
}

export interface Digits {
  train: dataset.Dataset;
  test: dataset.Dataset;
}

const digitCache = new Map<string, Promise<Digits>>();

/** The seeded split of the embedded MNIST digits (pixels in [0, 1]); cached per process. */
export function loadDigits(trainSize: number, testSize: number, seed: number): Promise<Digits> {
  const key = `${trainSize}/${testSize}/${seed}`;
  let p = digitCache.get(key);
  if (!p) {
    p = dataset.loadMnist().then((m) => dataset.splitDataset(m, { trainSize, testSize, seed }));
    digitCache.set(key, p);
  }
  return p;
}

/** Mean of values (NaN for none). */
export function mean(v: readonly number[]): number {
  return v.length ? v.reduce((s, x) => s + x, 0) / v.length : NaN;
}

/** Sample standard deviation (0 for fewer than two values). */
export function std(v: readonly number[]): number {
  if (v.length < 2) return 0;
  const m = mean(v);
  return Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1));
}

/** "97.12%" */
export const pct = (v: number, digits = 2): string => (Number.isFinite(v) ? `${(100 * v).toFixed(digits)}%` : 'n/a');
/** "+1.23 pp" */
export const pp = (v: number): string => `${v >= 0 ? '+' : '−'}${Math.abs(100 * v).toFixed(2)} pp`;
/** "97.12% ± 0.30" (mean ± sample std over seeds, in percent) */
export const pctSpread = (v: readonly number[]): string => `${pct(mean(v))} ± ${(100 * std(v)).toFixed(2)}`;

export interface TrainLoopOptions {
  model: nn.Module;
  optimizer: optim.Optimizer;
  trainSet: dataset.Dataset;
  batchSize: number;
  steps: number;
  /** Seed of the batch order. */
  seed: number;
  /** Called every `evalEvery` steps (and at the last); return false to stop. */
  evalEvery?: number;
  onEval?: (step: number) => void | boolean;
  onStep?: (r: train.StepResult) => void | boolean;
  recordGradNorms?: boolean;
}

/** Plain step-based training with the library's Trainer and DataLoader (shuffled, whole batches only). */
export function trainLoop(o: TrainLoopOptions): train.Trainer {
  const loader = new dataset.DataLoader(o.trainSet, { batchSize: o.batchSize, shuffle: true, dropLast: true, seed: o.seed });
  const trainer = new train.Trainer({ model: o.model, optimizer: o.optimizer, data: loader, recordGradNorms: o.recordGradNorms });
  trainer.run(o.steps, { every: o.evalEvery ?? 0, onStep: o.onStep, onEval: o.onEval });
  return trainer;
}

export type HiddenNormKind = 'none' | 'batch' | 'ghost' | 'renorm' | 'layer' | 'group';

export interface NormMlpOptions {
  inputs?: number;
  hidden: readonly number[];
  classes?: number;
  activation: 'sigmoid' | 'relu' | 'tanh';
  /** The module placed between each hidden Linear and its activation (null: none). */
  norm: ((width: number) => nn.Module) | null;
  /** Dropout after each hidden activation (0: none). */
  dropout?: number;
  /** N(0, initStd²) weights; PyTorch's default Linear init when omitted. */
  initStd?: number;
  seed: number;
}

/**
 * An MLP with any normalization module before each activation (models.mlp knows BatchNorm only).
 * Weights are drawn layer by layer from one generator seeded with `seed` before any bias, exactly as
 * models.mlp does, so every arm built with the same seed and widths starts from identical weights.
 * Linear layers followed by a normalization have no bias (its β replaces it).
 */
export function normMlp({ inputs = 784, hidden, classes = 10, activation, norm, dropout = 0, initStd, seed }: NormMlpOptions): nn.Sequential {
  const rng = new Rng(seed);
  const layers: nn.Module[] = [];
  const linears: nn.Linear[] = [];
  let d = inputs;
  for (const w of hidden) {
    const fc = new nn.Linear(d, w, { bias: norm === null });
    linears.push(fc);
    layers.push(fc);
    if (norm) layers.push(norm(w));
    layers.push(activation === 'sigmoid' ? new nn.Sigmoid() : activation === 'relu' ? new nn.ReLU() : new nn.Tanh());
    if (dropout > 0) layers.push(new nn.Dropout(dropout));
    d = w;
  }
  const head = new nn.Linear(d, classes);
  linears.push(head);
  layers.push(head);
  initLinears(linears, initStd, rng);
  manualSeed(seed); // dropout masks come from the global generator
  return new nn.Sequential(...layers);
}

/** The Linear weight matrices of a Sequential, in order (for identical-weights checks and gradient norms). */
export function linearWeights(model: nn.Module): { name: string; layer: number }[] {
  const out: { name: string; layer: number }[] = [];
  let layer = 0;
  for (const [name, m] of model.namedModules()) if (m instanceof nn.Linear) out.push({ name: name ? `${name}.weight` : 'weight', layer: ++layer });
  return out;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** A line chart of records { x, y, series } (optionally with a band [lo, hi] per point for the spread). */
export function lineChart({ title, values, x, y, series, xTitle, yTitle, xLog = false, yLog = false, band = false, yDomain, width = 320, height = 220, points = false }: {
  title: string; values: Record<string, unknown>[]; x: string; y: string; series: string; xTitle: string; yTitle: string;
  xLog?: boolean; yLog?: boolean; band?: boolean; yDomain?: [number, number]; width?: number; height?: number; points?: boolean;
}): Spec {
  const xEnc = { field: x, type: 'quantitative', title: xTitle, ...(xLog ? { scale: { type: 'log' } } : {}) };
  const yScale = { ...(yLog ? { type: 'log' } : { zero: false }), ...(yDomain ? { domain: yDomain } : {}) };
  const color = { field: series, type: 'nominal', title: null, legend: { labelLimit: 400 } };
  const line = { mark: { type: 'line', point: points }, encoding: { x: xEnc, y: { field: y, type: 'quantitative', title: yTitle, scale: yScale }, color } };
  const layers: Spec[] = [line];
  if (band) layers.unshift({ mark: { type: 'area', opacity: 0.18 }, encoding: { x: xEnc, y: { field: 'lo', type: 'quantitative', scale: yScale }, y2: { field: 'hi' }, color } });
  return { $schema: SCHEMA, title, width, height, data: { values }, layer: layers };
}

/** A grouped bar chart of records { group, series, value } with optional error bars (lo, hi); groups in the order first seen; `independentY`: one y scale per group. */
export function barChart({ title, values, group, series, value, yTitle, errors = false, yDomain, independentY = false, width = 320, height = 220 }: {
  title: string; values: Record<string, unknown>[]; group: string; series: string; value: string; yTitle: string;
  errors?: boolean; yDomain?: [number, number]; independentY?: boolean; width?: number; height?: number;
}): Spec {
  const yScale = yDomain ? { domain: yDomain } : {};
  const layers: Spec[] = [{ mark: { type: 'bar', clip: true }, encoding: { y: { field: value, type: 'quantitative', title: yTitle, scale: yScale }, color: { field: series, type: 'nominal', title: null, legend: { labelLimit: 400 } } } }];
  if (errors) layers.push({ mark: { type: 'rule', color: '#222', clip: true }, encoding: { y: { field: 'lo', type: 'quantitative', scale: yScale }, y2: { field: 'hi' } } });
  return {
    $schema: SCHEMA, title, data: { values },
    facet: { column: { field: group, type: 'nominal', title: null, header: { labelOrient: 'bottom' }, sort: [...new Set(values.map((v) => v[group]))] } },
    ...(independentY ? { resolve: { scale: { y: 'independent' } } } : {}),
    spec: { width: Math.max(40, Math.round(width / Math.max(1, new Set(values.map((v) => v[group])).size))), height, encoding: { x: { field: series, type: 'nominal', axis: null } }, layer: layers },
  };
}
