/**
 * One arm of the lab: the network (with or without BN, identical starting weights for both arms), its
 * optimizer and data, one training step at a time, and what the charts show at each evaluation. Runs in an
 * arm's Web Worker and, for the speed comparison, in Node. All math is the library's; this file only wires
 * the config to it and copies values out (histogram counts are display, not training).
 */
import { data as dataset, manualSeed, models, nn, noGrad, optim, scope, tensor, train, type Tensor } from '../src/index.js';
import { labData } from './data.js';
import { HIST_BINS, HIST_RANGE, SAMPLES, type ArmName, type EvalReport, type LabConfig, type Samples } from './config.js';

export type { ArmName, EvalReport, LabConfig, Samples } from './config.js';

export class Arm {
  readonly model: nn.Sequential;
  readonly trainer: train.Trainer;
  readonly test: dataset.Dataset;
  readonly samples: Samples;
  private readonly acts: nn.Module[];
  private readonly linears: string[];
  private lastNorms: Record<string, number> | undefined;
  private lossSum = 0;
  private lossCount = 0;
  /** Milliseconds spent in training steps (evaluations excluded). */
  trainMs = 0;

  constructor(readonly arm: ArmName, readonly cfg: LabConfig, mnistBytes?: ArrayBuffer | Uint8Array) {
    const { train: trainSet, test } = labData(cfg.data, cfg.seed, mnistBytes);
    this.test = test;
    manualSeed(cfg.seed);
    this.model = models.mlp({
      inputs: trainSet.features, classes: trainSet.classes, hidden: Array.from({ length: cfg.depth }, () => cfg.width),
      activation: cfg.activation, norm: arm === 'bn' ? 'batch' : 'none', seed: cfg.seed,
      initStd: cfg.initStd > 0 ? cfg.initStd : undefined,
      bnOptions: { momentum: cfg.bnMomentum, eps: cfg.bnEps, runningStats: cfg.runningStats },
    });
    const loader = new dataset.DataLoader(trainSet, { batchSize: cfg.batchSize, shuffle: true, dropLast: true, seed: cfg.seed });
    this.trainer = new train.Trainer({ model: this.model, optimizer: makeOptimizer(cfg, this.model.parameters()), data: loader, recordGradNorms: true });
    this.acts = [...this.model].filter((m) => m instanceof nn.Sigmoid || m instanceof nn.Tanh || m instanceof nn.ReLU);
    this.linears = [...this.model.namedModules()].filter(([, m]) => m instanceof nn.Linear).map(([name]) => `${name}.weight`);
    const n = Math.min(SAMPLES, test.count), f = test.features;
    this.samples = { x: test.x.slice(0, n * f), y: test.y.slice(0, n), features: f };
  }

  get step(): number { return this.trainer.step; }

  /** One training step; returns its loss. */
  trainStep(): number {
    const t0 = performance.now();
    const r = this.trainer.trainStep();
    this.trainMs += performance.now() - t0;
    this.lastNorms = r.gradNorms;
    this.lossSum += r.loss; this.lossCount++;
    return r.loss;
  }

  /** Test accuracy and loss, the probe's percentiles, activation histograms, gradient norms, sample predictions. */
  evaluate(): EvalReport {
    const { cfg } = this;
    const [lo, hi] = HIST_RANGE[cfg.activation];
    const counts = this.acts.map(() => new Float64Array(HIST_BINS));
    const probe: number[] = [];
    const probeAt = Math.min(Math.max(cfg.probeLayer, 1), this.acts.length) - 1;
    const unit = Math.min(Math.max(cfg.probeUnit, 0), cfg.width - 1);
    const hooks = this.acts.map((m, l) => m.registerForwardHook((_m, [x], y) => {
      if (l === probeAt) { const H = x.shape[1], d = x.data; for (let i = 0; i < x.shape[0]; i++) probe.push(d[i * H + unit]); }
      const c = counts[l], v = y.data;
      for (let i = 0; i < v.length; i++) c[Math.min(HIST_BINS - 1, Math.max(0, Math.floor(((v[i] - lo) / (hi - lo)) * HIST_BINS)))]++;
    }));
    let r: train.EvalResult;
    try { r = train.evaluate(this.model, this.test); } finally { for (const h of hooks) h.remove(); }
    const s = this.samples;
    const predictions = predict(this.model, s);
    const norms = this.lastNorms;
    const report: EvalReport = {
      step: this.step, testAccuracy: r.accuracy, testLoss: r.loss,
      trainLoss: this.lossCount ? this.lossSum / this.lossCount : NaN,
      bands: train.percentiles(probe, [15, 50, 85]) as [number, number, number],
      hist: counts.map((c) => { const total = c.reduce((a, b) => a + b, 0) || 1; return Array.from(c, (v) => v / total); }),
      gradNorms: norms ? this.linears.map((k) => norms[k] ?? NaN) : [],
      predictions,
    };
    this.lossSum = 0; this.lossCount = 0;
    return report;
  }

  /** Training steps per second so far (evaluations excluded). */
  get stepsPerSecond(): number { return this.trainMs > 0 ? (1000 * this.step) / this.trainMs : 0; }
}

function predict(model: nn.Module, s: Samples): number[] {
  const wasTraining = model.training;
  model.eval();
  try {
    const n = s.y.length;
    return noGrad(() => scope(() => Array.from(model.forward(tensor(s.x, [n, s.features])).argmax(-1).toArray() as number[])));
  } finally {
    model.train(wasTraining);
  }
}

export function makeOptimizer(cfg: LabConfig, params: Tensor[]): optim.Optimizer {
  const clip = cfg.clip === 'value' ? { clipValue: cfg.clipAt } : cfg.clip === 'norm' ? { clipNorm: cfg.clipAt } : cfg.clip === 'global' ? { globalClipNorm: cfg.clipAt } : {};
  switch (cfg.optimizer) {
    case 'sgd': return new optim.SGD(params, { lr: cfg.lr, ...clip });
    case 'momentum': return new optim.SGD(params, { lr: cfg.lr, momentum: 0.9, ...clip });
    case 'adam': return new optim.Adam(params, { lr: cfg.lr, ...clip });
    case 'adamw': return new optim.AdamW(params, { lr: cfg.lr, ...clip });
  }
}
