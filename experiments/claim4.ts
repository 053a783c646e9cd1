/**
 * Claim 4: BN allows much larger learning rates. The paper's sigmoid MLP trained at learning rates over
 * four decades, with and without BN from identical weights; where each arm still trains, where it fails.
 */
import { models, optim, train } from '../src/index.js';
import { lineChart, loadDigits, mean, pct, seedList, std, trainLoop, type ClaimExperiment, type SeededConfig, type VerdictResult } from './common.js';

export interface Claim4Config extends SeededConfig {
  lrs: number[];
  hidden: number[];
  initStd: number;
  steps: number;
  batchSize: number;
  /** A learning rate is "usable" for an arm when its mean final test accuracy reaches this. */
  usable: number;
  trainSize: number;
  testSize: number;
}

export type Claim4Arm = 'bn' | 'plain';

export interface Claim4Run {
  seed: number;
  arm: Claim4Arm;
  lr: number;
  finalAccuracy: number;
  /** The training loss became NaN/∞ (the run is counted at chance accuracy from there). */
  diverged: boolean;
}

export interface Claim4Metrics {
  config: Claim4Config;
  runs: Claim4Run[];
}

const LABEL: Record<Claim4Arm, string> = { bn: 'with BN', plain: 'without BN' };

/** The largest learning rate at which the arm's mean final accuracy reaches `usable` (null if none). */
export function maxUsableLr(m: Claim4Metrics, arm: Claim4Arm): number | null {
  let best: number | null = null;
  for (const lr of m.config.lrs) {
    const acc = mean(m.runs.filter((r) => r.arm === arm && r.lr === lr).map((r) => r.finalAccuracy));
    if (acc >= m.config.usable && (best === null || lr > best)) best = lr;
  }
  return best;
}

export const claim4: ClaimExperiment<Claim4Config, Claim4Metrics> = {
  id: 4,
  title: 'Larger learning rates',
  claim: 'BN allows much larger learning rates.',
  method: 'The paper\'s 784-100-100-100-10 sigmoid MLP (N(0, 0.05²) init), plain SGD, batch 60, a fixed number of steps at each learning rate of a log grid, with and without BN from identical weights, several seeds. A rate is usable for an arm when the mean final test accuracy reaches the `usable` threshold; a non-finite loss counts as divergence (stopped, scored at chance).',
  rule: 'Ratio = (largest usable rate with BN) / (largest usable rate without BN). Reproduced: ratio ≥ 3 (at least one grid step of ×3). Not reproduced: ratio ≤ 1 and the plain arm\'s largest usable rate is below the top of the grid. Inconclusive: anything else (an arm with no usable rate, or both usable at the top of the grid).',
  defaults: { lrs: [0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100], hidden: [100, 100, 100], initStd: 0.05, steps: 1000, batchSize: 60, usable: 0.85, trainSize: 8000, testSize: 2000, seed: 1, seeds: 2 },
  full: { steps: 10000, seeds: 3 },
  tiny: { lrs: [0.1, 10], hidden: [16], steps: 10, usable: 0.2, trainSize: 300, testSize: 100, seeds: 1 },
  total: (cfg) => 2 * cfg.steps * cfg.seeds * cfg.lrs.length,

  async run(cfg, log) {
    const { train: trainSet, test } = await loadDigits(cfg.trainSize, cfg.testSize, cfg.seed);
    const runs: Claim4Run[] = [];
    let done = 0;
    for (const seed of seedList(cfg)) {
      for (const lr of cfg.lrs) {
        for (const arm of ['bn', 'plain'] as const) {
          const model = models.mlp({ hidden: cfg.hidden, activation: 'sigmoid', norm: arm === 'bn' ? 'batch' : 'none', initStd: cfg.initStd, seed });
          let diverged = false, stepsRun = 0;
          trainLoop({
            model, optimizer: new optim.SGD(model.parameters(), { lr }), trainSet, batchSize: cfg.batchSize, steps: cfg.steps, seed,
            onStep: (r) => {
              stepsRun++;
              if (++done % 50 === 0) log({ type: 'progress', done, total: claim4.total(cfg), info: `seed ${seed} lr=${lr} ${arm}` });
              if (!Number.isFinite(r.loss)) { diverged = true; return false; }
            },
          });
          done += cfg.steps - stepsRun;
          const finalAccuracy = diverged ? 0.1 : train.evaluate(model, test).accuracy;
          runs.push({ seed, arm, lr, finalAccuracy, diverged });
          log({ type: 'metric', record: { seed, arm, lr, testAccuracy: finalAccuracy, diverged } });
        }
      }
    }
    return { config: cfg, runs };
  },

  verdict(m): VerdictResult {
    const bn = maxUsableLr(m, 'bn'), plain = maxUsableLr(m, 'plain');
    const top = Math.max(...m.config.lrs);
    let verdict: VerdictResult['verdict'] = 'inconclusive';
    if (bn !== null && plain !== null) {
      if (bn / plain >= 3) verdict = 'reproduced';
      else if (bn / plain <= 1 && plain < top) verdict = 'not reproduced';
    }
    const div = (arm: Claim4Arm) => [...new Set(m.runs.filter((r) => r.arm === arm && r.diverged).map((r) => r.lr))];
    const accAt = (arm: Claim4Arm, lr: number | null) => lr === null ? 'n/a' : pct(mean(m.runs.filter((r) => r.arm === arm && r.lr === lr).map((r) => r.finalAccuracy)), 1);
    const evidence = `largest learning rate reaching ${pct(m.config.usable, 0)} test accuracy: ${bn ?? 'none'} with BN (${accAt('bn', bn)}) vs ${plain ?? 'none'} without (${accAt('plain', plain)})${bn !== null && plain !== null ? `, ×${(bn / plain).toFixed(1)}` : ''}; diverged (non-finite loss) at ${div('bn').join(', ') || 'no rate'} with BN, ${div('plain').join(', ') || 'no rate'} without`;
    return { verdict, evidence };
  },

  charts(m) {
    const values = (['bn', 'plain'] as const).flatMap((arm) => m.config.lrs.map((lr) => {
      const v = m.runs.filter((r) => r.arm === arm && r.lr === lr).map((r) => r.finalAccuracy);
      return { lr, accuracy: mean(v), lo: mean(v) - std(v), hi: mean(v) + std(v), arm: LABEL[arm] };
    }));
    return [{ title: 'lr sweep', spec: lineChart({ title: `Final test accuracy vs learning rate (${m.config.steps} steps, mean ± sd)`, values, x: 'lr', y: 'accuracy', series: 'arm', xTitle: 'learning rate (log)', yTitle: 'test accuracy', xLog: true, band: true, points: true }) }];
  },
};
