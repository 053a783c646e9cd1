/**
 * Claim 3: BN makes training much less sensitive to weight initialization. The paper's sigmoid MLP with
 * weights from N(0, σ²), σ swept over several decades, with and without BN from identical weights.
 */
import { models, optim, train } from '../src/index.js';
import { lineChart, loadDigits, mean, pct, seedList, std, trainLoop, type ClaimExperiment, type SeededConfig, type VerdictResult } from './common.js';

export interface Claim3Config extends SeededConfig {
  /** Standard deviations of the Gaussian initial weights. */
  initStds: number[];
  hidden: number[];
  steps: number;
  batchSize: number;
  lr: number;
  trainSize: number;
  testSize: number;
}

export type Claim3Arm = 'bn' | 'plain';

export interface Claim3Run {
  seed: number;
  arm: Claim3Arm;
  initStd: number;
  finalAccuracy: number;
}

export interface Claim3Metrics {
  config: Claim3Config;
  runs: Claim3Run[];
}

const LABEL: Record<Claim3Arm, string> = { bn: 'with BN', plain: 'without BN' };

/** Mean (over seeds) final accuracy per init scale, for one arm. */
export function accuracyByScale(m: Claim3Metrics, arm: Claim3Arm): number[] {
  return m.config.initStds.map((s) => mean(m.runs.filter((r) => r.arm === arm && r.initStd === s).map((r) => r.finalAccuracy)));
}

/** Sensitivity: max − min of the mean final accuracy across the init scales. */
export function sensitivity(m: Claim3Metrics, arm: Claim3Arm): number {
  const a = accuracyByScale(m, arm);
  return Math.max(...a) - Math.min(...a);
}

export const claim3: ClaimExperiment<Claim3Config, Claim3Metrics> = {
  id: 3,
  title: 'Less sensitive to initialization',
  claim: 'BN makes training much less sensitive to weight initialization.',
  method: 'The paper\'s 784-100-100-100-10 sigmoid MLP, plain SGD, batch 60, weights from N(0, σ²) with σ log-spaced over several decades, with and without BN (identical weights per σ and seed); final test accuracy after a fixed number of steps, several seeds.',
  rule: 'Sensitivity = max − min over σ of the mean final test accuracy. Reproduced: sensitivity with BN ≤ half of that without BN, and without BN ≥ 10 pp (the sweep must matter for the plain net). Not reproduced: sensitivity with BN ≥ without. Inconclusive: anything else.',
  defaults: { initStds: [1e-4, 1e-3, 1e-2, 1e-1, 1], hidden: [100, 100, 100], steps: 1500, batchSize: 60, lr: 0.5, trainSize: 8000, testSize: 2000, seed: 1, seeds: 2 },
  full: { initStds: [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1, 3], steps: 10000, seeds: 3 },
  tiny: { initStds: [1e-2, 1], hidden: [16], steps: 10, trainSize: 300, testSize: 100, seeds: 1 },
  total: (cfg) => 2 * cfg.steps * cfg.seeds * cfg.initStds.length,

  async run(cfg, log) {
    const { train: trainSet, test } = await loadDigits(cfg.trainSize, cfg.testSize, cfg.seed);
    const runs: Claim3Run[] = [];
    let done = 0;
    for (const seed of seedList(cfg)) {
      for (const initStd of cfg.initStds) {
        for (const arm of ['bn', 'plain'] as const) {
          const model = models.mlp({ hidden: cfg.hidden, activation: 'sigmoid', norm: arm === 'bn' ? 'batch' : 'none', initStd, seed });
          trainLoop({
            model, optimizer: new optim.SGD(model.parameters(), { lr: cfg.lr }), trainSet, batchSize: cfg.batchSize, steps: cfg.steps, seed,
            onStep: () => { if (++done % 50 === 0) log({ type: 'progress', done, total: claim3.total(cfg), info: `seed ${seed} σ=${initStd} ${arm}` }); },
          });
          const finalAccuracy = train.evaluate(model, test).accuracy;
          runs.push({ seed, arm, initStd, finalAccuracy });
          log({ type: 'metric', record: { seed, arm, initStd, testAccuracy: finalAccuracy } });
        }
      }
    }
    return { config: cfg, runs };
  },

  verdict(m): VerdictResult {
    const sBn = sensitivity(m, 'bn'), sPlain = sensitivity(m, 'plain');
    const verdict = sBn <= 0.5 * sPlain && sPlain >= 0.1 ? 'reproduced' : sBn >= sPlain ? 'not reproduced' : 'inconclusive';
    const a = accuracyByScale(m, 'bn'), b = accuracyByScale(m, 'plain');
    const per = m.config.initStds.map((s, i) => `σ=${s}: ${pct(a[i], 1)} / ${pct(b[i], 1)}`).join(', ');
    return { verdict, evidence: `accuracy spread across σ ${(100 * sBn).toFixed(1)} pp with BN vs ${(100 * sPlain).toFixed(1)} pp without (with / without BN: ${per}; ${m.config.seeds} seed${m.config.seeds > 1 ? 's' : ''})` };
  },

  charts(m) {
    const values = (['bn', 'plain'] as const).flatMap((arm) => m.config.initStds.map((initStd) => {
      const v = m.runs.filter((r) => r.arm === arm && r.initStd === initStd).map((r) => r.finalAccuracy);
      return { initStd, accuracy: mean(v), lo: mean(v) - std(v), hi: mean(v) + std(v), arm: LABEL[arm] };
    }));
    return [{ title: 'init sweep', spec: lineChart({ title: `Final test accuracy vs init scale (${m.config.steps} steps, mean ± sd)`, values, x: 'initStd', y: 'accuracy', series: 'arm', xTitle: 'σ of the initial weights (log)', yTitle: 'test accuracy', xLog: true, band: true, points: true }) }];
  },
};
