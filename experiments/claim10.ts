/**
 * Claim 10: inference statistics — a moving average kept during training, or the statistics of the whole
 * training set. Identical BN networks trained identically (BN's running statistics never affect a training
 * step, so the weights come out bitwise equal — checked) keep their running statistics in different ways;
 * a copy gets population statistics from deploy.recomputeBatchNormStats. Test accuracy per method, at
 * several test batch sizes including 1.
 */
import { deploy, nn, optim, train, data as dataset } from '../src/index.js';
import { barChart, loadDigits, mean, normMlp, pct, seedList, std, trainLoop, type ClaimExperiment, type SeededConfig, type VerdictResult } from './common.js';

export interface Claim10Config extends SeededConfig {
  /** EMA momenta (the note's convention: weight of the old value). */
  momenta: number[];
  hidden: number[];
  initStd: number;
  steps: number;
  batchSize: number;
  lr: number;
  /** Test batch sizes to evaluate at. */
  testBatches: number[];
  /** Batch size of the pass over the training set for population statistics. */
  statsBatch: number;
  trainSize: number;
  testSize: number;
}

/** 'batch': batch statistics at test time too; 'ema:<m>'; 'cumulative'; 'population' (recomputed). */
export type Claim10Method = string;

export interface Claim10Result {
  seed: number;
  method: Claim10Method;
  testBatch: number;
  /** null when the method cannot run at this batch size (batch statistics of one sample). */
  accuracy: number | null;
  error?: string;
}

export interface Claim10Metrics {
  config: Claim10Config;
  results: Claim10Result[];
  /** Every variant's trained weights equal bitwise (per seed). */
  identicalWeights: boolean[];
}

const ema = (m: number) => `ema:${m}`;
const label = (method: string) => method === 'batch' ? 'batch statistics' : method === 'population' ? 'population (recomputed)' : method === 'cumulative' ? 'cumulative average' : `EMA, momentum ${method.slice(4)}`;

/** Mean accuracy (over seeds) of a method at a test batch size; NaN where it could not run. */
export function accuracyOf(m: Claim10Metrics, method: string, testBatch: number): number {
  const v = m.results.filter((r) => r.method === method && r.testBatch === testBatch);
  return v.some((r) => r.accuracy === null) || !v.length ? NaN : mean(v.map((r) => r.accuracy!));
}

export const claim10: ClaimExperiment<Claim10Config, Claim10Metrics> = {
  id: 10,
  title: 'Inference statistics: moving average vs whole training set',
  claim: 'At inference, BN uses either an exponential moving average kept during training (momentum ≥ 0.9, larger for big data or small batches) or the mean and variance of the whole training set.',
  method: 'The paper\'s 784-100-100-100-10 sigmoid MLP with BN (N(0, 0.05²) init, batch 60, plain SGD), trained once per way of keeping statistics — batch statistics only (`runningStats: \'none\'`), EMA at several momenta, the cumulative average — from identical weights with identical batches (running statistics never enter a training step, so the trained weights are bitwise equal; checked). A copy of the EMA-0.9 network gets the whole training set\'s statistics from `deploy.recomputeBatchNormStats`. Test accuracy per method at several test batch sizes, including 1; several seeds.',
  rule: 'Reference: batch statistics at the largest test batch. Reproduced: population statistics and EMA at momentum 0.9 (the default) are both within 1 pp of the reference and give the same accuracy (within 0.1 pp) at test batch 1 as at the largest batch. Not reproduced: either is more than 3 pp below the reference, or differs at batch 1. Inconclusive: anything else.',
  defaults: { momenta: [0.5, 0.9, 0.99, 0.999], hidden: [100, 100, 100], initStd: 0.05, steps: 3000, batchSize: 60, lr: 0.5, testBatches: [1, 16, 1000], statsBatch: 500, trainSize: 8000, testSize: 2000, seed: 1, seeds: 2 },
  full: { steps: 20000, seeds: 3 },
  tiny: { momenta: [0.9], hidden: [16], steps: 10, testBatches: [1, 50], statsBatch: 100, trainSize: 300, testSize: 100, seeds: 1 },
  total: (cfg) => (cfg.momenta.length + 2) * cfg.steps * cfg.seeds,

  async run(cfg, log) {
    const { train: trainSet, test } = await loadDigits(cfg.trainSize, cfg.testSize, cfg.seed);
    const results: Claim10Result[] = [];
    const identicalWeights: boolean[] = [];
    let done = 0;
    const variants: { method: string; opts: nn.BatchNormOptions }[] = [
      { method: 'batch', opts: { runningStats: 'none' } },
      ...cfg.momenta.map((m) => ({ method: ema(m), opts: { momentum: m } })),
      { method: 'cumulative', opts: { runningStats: 'cumulative' } },
    ];
    for (const seed of seedList(cfg)) {
      const trained = new Map<string, nn.Sequential>();
      for (const { method, opts } of variants) {
        const model = normMlp({ hidden: cfg.hidden, activation: 'sigmoid', norm: (w) => new nn.BatchNorm1d(w, opts), initStd: cfg.initStd, seed });
        trainLoop({
          model, optimizer: new optim.SGD(model.parameters(), { lr: cfg.lr }), trainSet, batchSize: cfg.batchSize, steps: cfg.steps, seed,
          onStep: () => { if (++done % 50 === 0) log({ type: 'progress', done, total: claim10.total(cfg), info: `seed ${seed} ${label(method)}` }); },
        });
        trained.set(method, model);
      }
      // The weights (parameters) of every variant must be equal: only the running statistics differ.
      const ref = [...[...trained.values()][0].namedParameters()];
      identicalWeights.push([...trained.values()].every((m) => [...m.namedParameters()].every(([n, p], i) => n === ref[i][0] && p.data.every((v, j) => v === ref[i][1].data[j]))));
      const population = deploy.copyModule(trained.get(ema(0.9)) ?? [...trained.values()][1]);
      const statsLoader = new dataset.DataLoader(trainSet, { batchSize: cfg.statsBatch, shuffle: false });
      deploy.recomputeBatchNormStats(population, () => statsLoader);
      trained.set('population', population);
      for (const [method, model] of trained) {
        for (const testBatch of cfg.testBatches) {
          let accuracy: number | null = null, error: string | undefined;
          try { accuracy = train.evaluate(model, test, { batchSize: testBatch }).accuracy; } catch (e) { error = (e as Error).message; }
          results.push({ seed, method, testBatch, accuracy, ...(error ? { error } : {}) });
          log({ type: 'metric', record: { seed, method, testBatch, testAccuracy: accuracy, ...(error ? { error } : {}) } });
        }
      }
    }
    return { config: cfg, results, identicalWeights };
  },

  verdict(m): VerdictResult {
    const big = Math.max(...m.config.testBatches), small = Math.min(...m.config.testBatches);
    const refAcc = accuracyOf(m, 'batch', big);
    const pop = accuracyOf(m, 'population', big), e9 = accuracyOf(m, ema(0.9), big);
    const pop1 = accuracyOf(m, 'population', small), e91 = accuracyOf(m, ema(0.9), small);
    const sameAt1 = Math.abs(pop1 - pop) <= 0.001 && Math.abs(e91 - e9) <= 0.001;
    const verdict = pop >= refAcc - 0.01 && e9 >= refAcc - 0.01 && sameAt1 ? 'reproduced'
      : pop < refAcc - 0.03 || e9 < refAcc - 0.03 || !(Math.abs(pop1 - pop) <= 0.001 && Math.abs(e91 - e9) <= 0.001) ? 'not reproduced' : 'inconclusive';
    const others = m.config.momenta.filter((x) => x !== 0.9).map((x) => `EMA ${x} ${pct(accuracyOf(m, ema(x), big))}`).join(', ');
    const batchAt1 = m.results.find((r) => r.method === 'batch' && r.testBatch === small);
    const evidence = `test accuracy (${m.config.seeds} seed${m.config.seeds > 1 ? 's' : ''}, test batch ${big}): batch statistics ${pct(refAcc)}, population ${pct(pop)}, EMA 0.9 ${pct(e9)}, ${others ? `${others}, ` : ''}cumulative ${pct(accuracyOf(m, 'cumulative', big))}; at test batch ${small}: population ${pct(pop1)}, EMA 0.9 ${pct(e91)}, batch statistics ${batchAt1?.accuracy === null ? 'cannot run (one value per channel)' : pct(accuracyOf(m, 'batch', small))}; weights identical across variants: ${m.identicalWeights.every(Boolean) ? 'yes' : 'NO'}`;
    return { verdict, evidence };
  },

  charts(m) {
    const methods = [...new Set(m.results.map((r) => r.method))];
    const values = m.config.testBatches.flatMap((testBatch) => methods.map((method) => {
      const v = m.results.filter((r) => r.method === method && r.testBatch === testBatch && r.accuracy !== null).map((r) => r.accuracy!);
      return { testBatch: `test batch ${testBatch}`, method: label(method), accuracy: v.length ? mean(v) : 0, lo: v.length ? mean(v) - std(v) : 0, hi: v.length ? mean(v) + std(v) : 0 };
    }));
    const lo = Math.min(...values.filter((v) => v.accuracy > 0).map((v) => v.lo));
    return [{ title: 'methods', spec: barChart({ title: 'Test accuracy per inference-statistics method (mean ± sd; no bar: cannot run)', values, group: 'testBatch', series: 'method', value: 'accuracy', yTitle: 'test accuracy', errors: true, yDomain: [Math.max(0, Math.floor(lo * 20) / 20 - 0.05), 1], width: 560 }) }];
  },
};
