/**
 * Claim 1: BN keeps layer inputs steady and trains faster and better — the paper's Figure 1, run by
 * experiments/paper.ts (the same code as `normlab paper`) for several seeds.
 */
import { paperDefaults, paperFull, runPaperArm, loadPaperData, meanAccuracy, type ArmResult, type PaperConfig } from './paper.js';
import { paperCharts } from './paper-charts.js';
import { mean, pctSpread, seedList, type ClaimExperiment, type Log, type VerdictResult } from './common.js';

export interface Claim1Config extends PaperConfig {
  seeds: number;
}

export interface Claim1Seed {
  seed: number;
  bn: ArmResult;
  plain: ArmResult;
}

export interface Claim1Metrics {
  config: Claim1Config;
  runs: Claim1Seed[];
}

/**
 * How much the probed sigmoid input's median moves after the first 10% of training, in units of its
 * mean 15–85 percentile width: (max p50 − min p50) / mean(p85 − p15).
 */
export function inputDrift(r: ArmResult, steps: number): number {
  const late = r.evals.filter((e) => e.step >= 0.1 * steps);
  const p50 = late.map((e) => e.p50);
  const width = mean(late.map((e) => e.p85 - e.p15));
  return (Math.max(...p50) - Math.min(...p50)) / Math.max(width, 1e-12);
}

export const claim1: ClaimExperiment<Claim1Config, Claim1Metrics> = {
  id: 1,
  title: 'Steadier layer inputs; faster, better training (paper Fig. 1)',
  claim: 'BN stabilizes the inputs of each layer during training; training is faster and ends better.',
  method: 'The paper\'s Figure 1 (`normlab paper`): a 784-100-100-100-10 sigmoid MLP, batch 60, plain SGD, N(0, σ²) init, with BN before each sigmoid and without, from identical weights; test accuracy every evalEvery steps and the 15th/50th/85th percentiles of one last-hidden-layer sigmoid\'s input over the test digits. Repeated for several seeds; the charts show the first seed.',
  rule: 'Per seed, BN "wins" when its mean test accuracy over the evaluations (the area under the curve: faster) is higher AND its final test accuracy is at least the plain arm\'s (better). Input drift = (max − min of the probed input\'s median after the first 10% of steps) / (its mean 15–85 percentile width). Reproduced: BN wins in every seed and its mean drift is lower than without BN. Not reproduced: BN wins in no seed. Inconclusive: anything else.',
  defaults: { ...paperDefaults, seeds: 2 },
  full: { ...paperFull, seeds: 3 },
  tiny: { steps: 20, evalEvery: 10, trainSize: 300, testSize: 100, seeds: 2 },
  total: (cfg) => 2 * cfg.steps * cfg.seeds,

  async run(cfg, log: Log) {
    const runs: Claim1Seed[] = [];
    let done = 0;
    for (const seed of seedList(cfg)) {
      const c = { ...cfg, seed };
      const data = await loadPaperData(c);
      const arms = { bn: null as ArmResult | null, plain: null as ArmResult | null };
      for (const arm of ['bn', 'plain'] as const) {
        arms[arm] = runPaperArm(arm, c, data, (e) => {
          if (e.type === 'step') { if (++done % 50 === 0) log({ type: 'progress', done, total: claim1.total(cfg), info: `seed ${seed} ${arm}` }); }
          else log({ type: 'metric', record: { seed, arm, ...e.point } });
        });
      }
      runs.push({ seed, bn: arms.bn!, plain: arms.plain! });
    }
    return { config: cfg, runs };
  },

  verdict(m): VerdictResult {
    const steps = m.config.steps;
    const wins = m.runs.map((r) => meanAccuracy(r.bn) > meanAccuracy(r.plain) && r.bn.testAccuracy >= r.plain.testAccuracy);
    const nWins = wins.filter(Boolean).length;
    const driftBn = mean(m.runs.map((r) => inputDrift(r.bn, steps))), driftPlain = mean(m.runs.map((r) => inputDrift(r.plain, steps)));
    const verdict = nWins === m.runs.length && driftBn < driftPlain ? 'reproduced' : nWins === 0 ? 'not reproduced' : 'inconclusive';
    const evidence = `BN wins in ${nWins}/${m.runs.length} seeds; mean test accuracy over training ${pctSpread(m.runs.map((r) => meanAccuracy(r.bn)))} with BN vs ${pctSpread(m.runs.map((r) => meanAccuracy(r.plain)))} without; final ${pctSpread(m.runs.map((r) => r.bn.testAccuracy))} vs ${pctSpread(m.runs.map((r) => r.plain.testAccuracy))}; input drift ${driftBn.toFixed(2)} vs ${driftPlain.toFixed(2)} widths`;
    return { verdict, evidence };
  },

  charts(m) {
    const first = m.runs[0];
    return paperCharts([first.bn, first.plain]).map((c) => ({ title: `${c.title} (seed ${first.seed})`, spec: c.spec }));
  },
};
