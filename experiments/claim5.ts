/**
 * Claim 5: BN regularizes, and dropout can often be removed. A sigmoid MLP trained long on a small
 * training set (so it overfits) with BN, with dropout, with both and with neither, from identical weights.
 */
import { nn, optim, train } from '../src/index.js';
import { barChart, loadDigits, mean, normMlp, pctSpread, pp, seedList, std, trainLoop, type ClaimExperiment, type SeededConfig, type VerdictResult } from './common.js';

export interface Claim5Config extends SeededConfig {
  hidden: number[];
  /** Dropout probability after each hidden activation in the dropout arms. */
  dropout: number;
  steps: number;
  batchSize: number;
  lr: number;
  /** A small training set, so that the plain net overfits. */
  trainSize: number;
  testSize: number;
}

export type Claim5Arm = 'none' | 'bn' | 'dropout' | 'bn+dropout';
export const CLAIM5_ARMS: readonly Claim5Arm[] = ['none', 'bn', 'dropout', 'bn+dropout'];

export interface Claim5Run {
  seed: number;
  arm: Claim5Arm;
  trainAccuracy: number;
  testAccuracy: number;
}

export interface Claim5Metrics {
  config: Claim5Config;
  runs: Claim5Run[];
}

const LABEL: Record<Claim5Arm, string> = { none: 'neither', bn: 'BN', dropout: 'dropout', 'bn+dropout': 'BN + dropout' };

const testOf = (m: Claim5Metrics, arm: Claim5Arm) => m.runs.filter((r) => r.arm === arm).map((r) => r.testAccuracy);
const gapOf = (m: Claim5Metrics, arm: Claim5Arm) => m.runs.filter((r) => r.arm === arm).map((r) => r.trainAccuracy - r.testAccuracy);

export const claim5: ClaimExperiment<Claim5Config, Claim5Metrics> = {
  id: 5,
  title: 'Regularization; dropout can go',
  claim: 'BN regularizes: dropout can often be removed (the effect shrinks with larger batches).',
  method: 'A 784-100-100-100-10 sigmoid MLP (PyTorch default init) trained with plain SGD, batch 60, for many epochs of a small training set, in four arms — neither, BN, dropout after each hidden layer, BN + dropout — all from identical Linear weights; final train and test accuracy, several seeds. (The batch-size dependence of the effect is not tested here.)',
  rule: 'gain = mean test accuracy(BN) − mean test accuracy(neither); needed = max(1 pp, 2 × the larger of the two arms\' seed sd); extra = mean test(BN + dropout) − mean test(BN). Reproduced: gain ≥ needed and extra ≤ 1 pp (adding dropout to BN buys at most 1 pp). Not reproduced: gain ≤ 0 or extra ≥ 2 pp. Inconclusive: anything else.',
  defaults: { hidden: [100, 100, 100], dropout: 0.3, steps: 2500, batchSize: 60, lr: 0.5, trainSize: 1000, testSize: 2000, seed: 1, seeds: 3 },
  full: { trainSize: 2000, steps: 20000, seeds: 5 },
  tiny: { hidden: [16], steps: 10, trainSize: 120, testSize: 100, seeds: 2 },
  total: (cfg) => CLAIM5_ARMS.length * cfg.steps * cfg.seeds,

  async run(cfg, log) {
    const { train: trainSet, test } = await loadDigits(cfg.trainSize, cfg.testSize, cfg.seed);
    const runs: Claim5Run[] = [];
    let done = 0;
    for (const seed of seedList(cfg)) {
      for (const arm of CLAIM5_ARMS) {
        const bn = arm === 'bn' || arm === 'bn+dropout', drop = arm === 'dropout' || arm === 'bn+dropout';
        const model = normMlp({ hidden: cfg.hidden, activation: 'sigmoid', norm: bn ? (w) => new nn.BatchNorm1d(w) : null, dropout: drop ? cfg.dropout : 0, seed });
        trainLoop({
          model, optimizer: new optim.SGD(model.parameters(), { lr: cfg.lr }), trainSet, batchSize: cfg.batchSize, steps: cfg.steps, seed,
          onStep: () => { if (++done % 50 === 0) log({ type: 'progress', done, total: claim5.total(cfg), info: `seed ${seed} ${arm}` }); },
        });
        const run = { seed, arm, trainAccuracy: train.evaluate(model, trainSet).accuracy, testAccuracy: train.evaluate(model, test).accuracy };
        runs.push(run);
        log({ type: 'metric', record: { ...run } });
      }
    }
    return { config: cfg, runs };
  },

  verdict(m): VerdictResult {
    const gain = mean(testOf(m, 'bn')) - mean(testOf(m, 'none'));
    const needed = Math.max(0.01, 2 * Math.max(std(testOf(m, 'bn')), std(testOf(m, 'none'))));
    const extra = mean(testOf(m, 'bn+dropout')) - mean(testOf(m, 'bn'));
    const verdict = gain >= needed && extra <= 0.01 ? 'reproduced' : gain <= 0 || extra >= 0.02 ? 'not reproduced' : 'inconclusive';
    const gap = (arm: Claim5Arm) => `${(100 * mean(gapOf(m, arm))).toFixed(1)} pp`;
    const evidence = `test accuracy (${m.config.trainSize} training digits, ${m.config.seeds} seed${m.config.seeds > 1 ? 's' : ''}): BN ${pctSpread(testOf(m, 'bn'))}, neither ${pctSpread(testOf(m, 'none'))} (gain ${pp(gain)}, needed ${pp(needed)}), dropout ${pctSpread(testOf(m, 'dropout'))}, BN + dropout ${pctSpread(testOf(m, 'bn+dropout'))} (${pp(extra)} over BN); train−test gap: BN ${gap('bn')}, neither ${gap('none')}, dropout ${gap('dropout')}, both ${gap('bn+dropout')}`;
    return { verdict, evidence };
  },

  charts(m) {
    const values = CLAIM5_ARMS.flatMap((arm) => (['train', 'test'] as const).map((split) => {
      const v = m.runs.filter((r) => r.arm === arm).map((r) => (split === 'train' ? r.trainAccuracy : r.testAccuracy));
      return { arm: LABEL[arm], split, accuracy: mean(v), lo: mean(v) - std(v), hi: mean(v) + std(v) };
    }));
    const lo = Math.min(...values.map((v) => v.lo));
    return [{ title: 'train/test', spec: barChart({ title: `Train and test accuracy per arm (${m.config.trainSize} training digits, mean ± sd)`, values, group: 'arm', series: 'split', value: 'accuracy', yTitle: 'accuracy', errors: true, yDomain: [Math.max(0, Math.floor(lo * 20) / 20), 1], width: 420 }) }];
  },
};
