/**
 * Claim 1 / the BN paper's Figure 1 (Ioffe & Szegedy 2015, https://arxiv.org/abs/1502.03167):
 * a 784-100-100-100-10 sigmoid MLP trained with plain SGD, batch 60, with BN before each sigmoid and
 * without, from identical starting weights. Logged: test accuracy every `evalEvery` steps and the 15th,
 * 50th and 85th percentiles of one last-hidden-layer sigmoid's input over the test digits.
 *
 * Consumers (CLI, lab) call runPaperArm once per arm; this file holds the configuration and the loop's
 * wiring only — all math is the library's.
 */
import { models, nn, optim, train, data as dataset } from '../src/index.js';

export { paperDefaults, paperFull, type PaperConfig } from './paper-config.js';
import type { PaperConfig } from './paper-config.js';

export type PaperArm = 'bn' | 'plain';
export const PAPER_ARMS: readonly PaperArm[] = ['bn', 'plain'];

export interface EvalPoint {
  step: number;
  testAccuracy: number;
  testLoss: number;
  /** Mean training loss over the steps since the previous evaluation. */
  trainLoss: number;
  /** 15th, 50th, 85th percentiles of the probed sigmoid's input over the test digits. */
  p15: number;
  p50: number;
  p85: number;
  seconds: number;
}

export interface ArmResult {
  arm: PaperArm;
  evals: EvalPoint[];
  testAccuracy: number;
  seconds: number;
  /** Of `seconds`, the time spent evaluating on the test digits (with the percentile probe). */
  evalSeconds: number;
  /** Steps per second of the whole arm, evaluations included. */
  stepsPerSecond: number;
}

export type PaperEvent =
  | { type: 'step'; arm: PaperArm; step: number; loss: number }
  | { type: 'eval'; arm: PaperArm; point: EvalPoint };

export interface PaperData {
  train: dataset.Dataset;
  test: dataset.Dataset;
}

/** The deterministic train/test split of the embedded digits used by both arms. */
export async function loadPaperData(cfg: PaperConfig): Promise<PaperData> {
  const mnist = await dataset.loadMnist();
  return dataset.splitDataset(mnist, { trainSize: cfg.trainSize, testSize: cfg.testSize, seed: cfg.seed });
}

/** The arm's network: identical Linear weights in both arms (same seed); BN arm without Linear biases. */
export function paperModel(arm: PaperArm, cfg: PaperConfig): nn.Sequential {
  return models.mlp({ hidden: cfg.hidden, activation: 'sigmoid', norm: arm === 'bn' ? 'batch' : 'none', initStd: cfg.initStd, seed: cfg.seed });
}

/** Train one arm, reporting every step and evaluation through `log`. */
export function runPaperArm(arm: PaperArm, cfg: PaperConfig, data: PaperData, log: (e: PaperEvent) => void = () => {}): ArmResult {
  const model = paperModel(arm, cfg);
  const optimizer = new optim.SGD(model.parameters(), { lr: cfg.lr });
  const loader = new dataset.DataLoader(data.train, { batchSize: cfg.batchSize, shuffle: true, dropLast: true, seed: cfg.seed });
  const trainer = new train.Trainer({ model, optimizer, data: loader });
  // The last hidden layer's sigmoid: the last Sigmoid module of the Sequential.
  const sigmoids = [...model].filter((m) => m instanceof nn.Sigmoid);
  const probe = sigmoids[sigmoids.length - 1];
  const evals: EvalPoint[] = [];
  const t0 = performance.now();
  let lossSum = 0, lossCount = 0, evalMs = 0;
  const evalNow = (step: number) => {
    const e0 = performance.now();
    const values: number[] = [];
    const hook = probe.registerForwardHook((_m, [x]) => {
      const H = x.shape[1], d = x.data;
      for (let i = 0; i < x.shape[0]; i++) values.push(d[i * H + cfg.probeUnit]);
    });
    const r = train.evaluate(model, data.test);
    hook.remove();
    const [p15, p50, p85] = train.percentiles(values, [15, 50, 85]);
    const point: EvalPoint = { step, testAccuracy: r.accuracy, testLoss: r.loss, trainLoss: lossCount ? lossSum / lossCount : NaN, p15, p50, p85, seconds: (performance.now() - t0) / 1000 };
    lossSum = 0; lossCount = 0;
    evals.push(point);
    evalMs += performance.now() - e0;
    log({ type: 'eval', arm, point });
  };
  evalNow(0);
  trainer.run(cfg.steps, {
    every: cfg.evalEvery,
    onStep: (r) => { lossSum += r.loss; lossCount++; log({ type: 'step', arm, step: r.step, loss: r.loss }); },
    onEval: evalNow,
  });
  const seconds = (performance.now() - t0) / 1000;
  return { arm, evals, testAccuracy: evals[evals.length - 1].testAccuracy, seconds, evalSeconds: evalMs / 1000, stepsPerSecond: cfg.steps / seconds };
}

/**
 * Mean test accuracy over the evaluation points after step 0: the area under the accuracy curve, which
 * rewards reaching a good accuracy early as well as ending high (the paper's claim is both).
 */
export function meanAccuracy(r: ArmResult): number {
  const e = r.evals.filter((p) => p.step > 0);
  return e.reduce((s, p) => s + p.testAccuracy, 0) / Math.max(1, e.length);
}

/** The comparison the paper makes, decided by the numbers: does BN train faster and end at least as well? */
export function paperVerdict(bn: ArmResult, plain: ArmResult, target = 0.9): { bnWins: boolean; text: string } {
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const sb = stepsToAccuracy(bn, target), sp = stepsToAccuracy(plain, target);
  const faster = meanAccuracy(bn) > meanAccuracy(plain);
  const notWorse = bn.testAccuracy >= plain.testAccuracy;
  const bnWins = faster && notWorse;
  const speed = sb !== null && sp !== null ? `reaches ${pct(target)} in ${sb} steps vs ${sp}` : `reaches ${pct(target)} ${sb === null ? 'never' : `in ${sb} steps`} vs ${sp === null ? 'never' : `${sp} steps`} without BN`;
  const text = `${bnWins ? 'BN wins' : 'BN does not win here'}: with BN the net ${speed}; mean test accuracy over training ${pct(meanAccuracy(bn))} vs ${pct(meanAccuracy(plain))}; final ${pct(bn.testAccuracy)} vs ${pct(plain.testAccuracy)}`;
  return { bnWins, text };
}

/** Steps until an arm first reaches `target` test accuracy (null if never). */
export function stepsToAccuracy(r: ArmResult, target: number): number | null {
  return r.evals.find((e) => e.testAccuracy >= target)?.step ?? null;
}
