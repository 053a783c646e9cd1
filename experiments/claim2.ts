/**
 * Claim 2: BN greatly reduces vanishing/exploding gradients — deep sigmoid networks become trainable.
 * A deep sigmoid MLP with and without BN from identical weights; accuracy curves and each Linear layer's
 * gradient norm at the start and during training.
 */
import { nn, optim, train } from '../src/index.js';
import { lineChart, linearWeights, loadDigits, mean, normMlp, pctSpread, pp, seedList, std, trainLoop, type ClaimExperiment, type SeededConfig, type VerdictResult } from './common.js';

export interface Claim2Config extends SeededConfig {
  /** Hidden sigmoid layers. */
  depth: number;
  width: number;
  steps: number;
  evalEvery: number;
  /** Record per-layer gradient norms every this many steps (and at step 1). */
  gradEvery: number;
  batchSize: number;
  lr: number;
  trainSize: number;
  testSize: number;
}

export type Claim2Arm = 'bn' | 'plain';

export interface Claim2Run {
  seed: number;
  arm: Claim2Arm;
  evals: { step: number; testAccuracy: number }[];
  /** Gradient norm of each Linear weight (layer 1 = first), at recorded steps. */
  grads: { step: number; layer: number; norm: number }[];
  finalAccuracy: number;
}

export interface Claim2Metrics {
  config: Claim2Config;
  runs: Claim2Run[];
}

const LABEL: Record<Claim2Arm, string> = { bn: 'with BN', plain: 'without BN' };

/** First-layer over last-layer gradient norm at step 1, averaged over seeds (1 = no vanishing). */
export function initialGradRatio(m: Claim2Metrics, arm: Claim2Arm): number {
  return mean(m.runs.filter((r) => r.arm === arm).map((r) => {
    const g = r.grads.filter((x) => x.step === 1);
    const first = g.find((x) => x.layer === 1)!.norm, last = g.reduce((a, b) => (b.layer > a.layer ? b : a)).norm;
    return first / last;
  }));
}

export const claim2: ClaimExperiment<Claim2Config, Claim2Metrics> = {
  id: 2,
  title: 'Deep sigmoid networks become trainable',
  claim: 'BN greatly reduces vanishing/exploding gradients: sigmoid hidden layers become trainable.',
  method: 'A deep sigmoid MLP (depth hidden layers of `width` units, PyTorch default init), plain SGD, batch 60, with BN before each sigmoid and without, both arms from identical weights, several seeds. Logged: test accuracy every evalEvery steps and the L2 norm of each Linear weight\'s gradient (before the update) at step 1 and every gradEvery steps.',
  rule: 'Reproduced: BN\'s mean final test accuracy exceeds the plain arm\'s by ≥ 5 pp and every BN seed ends above every plain seed. Not reproduced: BN\'s mean final accuracy is less than 1 pp above the plain arm\'s. Inconclusive: in between. (The first/last-layer gradient ratio at step 1 is reported as evidence, not voted.)',
  defaults: { depth: 8, width: 100, steps: 2500, evalEvery: 250, gradEvery: 250, batchSize: 60, lr: 0.5, trainSize: 8000, testSize: 2000, seed: 1, seeds: 3 },
  full: { steps: 20000, evalEvery: 1000, gradEvery: 1000, seeds: 5 },
  tiny: { depth: 3, width: 16, steps: 20, evalEvery: 10, gradEvery: 10, trainSize: 300, testSize: 100, seeds: 2 },
  total: (cfg) => 2 * cfg.steps * cfg.seeds,

  async run(cfg, log) {
    const { train: trainSet, test } = await loadDigits(cfg.trainSize, cfg.testSize, cfg.seed);
    const runs: Claim2Run[] = [];
    let done = 0;
    for (const seed of seedList(cfg)) {
      for (const arm of ['bn', 'plain'] as const) {
        const model = normMlp({ hidden: Array(cfg.depth).fill(cfg.width), activation: 'sigmoid', norm: arm === 'bn' ? (w) => new nn.BatchNorm1d(w) : null, seed });
        const layers = linearWeights(model);
        const run: Claim2Run = { seed, arm, evals: [], grads: [], finalAccuracy: NaN };
        const evalNow = (step: number) => {
          const acc = train.evaluate(model, test).accuracy;
          run.evals.push({ step, testAccuracy: acc });
          log({ type: 'metric', record: { seed, arm, step, testAccuracy: acc } });
        };
        evalNow(0);
        trainLoop({
          model, optimizer: new optim.SGD(model.parameters(), { lr: cfg.lr }), trainSet, batchSize: cfg.batchSize, steps: cfg.steps, seed, recordGradNorms: true,
          evalEvery: cfg.evalEvery, onEval: evalNow,
          onStep: (r) => {
            if (r.step === 1 || r.step % cfg.gradEvery === 0) {
              for (const { name, layer } of layers) {
                const norm = r.gradNorms![name];
                run.grads.push({ step: r.step, layer, norm });
                log({ type: 'metric', record: { seed, arm, step: r.step, layer, gradNorm: norm } });
              }
            }
            if (++done % 50 === 0) log({ type: 'progress', done, total: claim2.total(cfg), info: `seed ${seed} ${arm}` });
          },
        });
        run.finalAccuracy = run.evals[run.evals.length - 1].testAccuracy;
        runs.push(run);
      }
    }
    return { config: cfg, runs };
  },

  verdict(m): VerdictResult {
    const bn = m.runs.filter((r) => r.arm === 'bn').map((r) => r.finalAccuracy);
    const plain = m.runs.filter((r) => r.arm === 'plain').map((r) => r.finalAccuracy);
    const diff = mean(bn) - mean(plain);
    const separated = Math.min(...bn) > Math.max(...plain);
    const verdict = diff >= 0.05 && separated ? 'reproduced' : diff < 0.01 ? 'not reproduced' : 'inconclusive';
    const evidence = `${m.config.depth} sigmoid layers: final test accuracy ${pctSpread(bn)} with BN vs ${pctSpread(plain)} without (${pp(diff)}, ${separated ? 'every' : 'not every'} BN seed above every plain seed, ${bn.length} seeds); first/last-layer gradient norm at step 1: ${initialGradRatio(m, 'bn').toExponential(2)} with BN vs ${initialGradRatio(m, 'plain').toExponential(2)} without`;
    return { verdict, evidence };
  },

  charts(m) {
    const steps = [...new Set(m.runs[0].evals.map((e) => e.step))];
    const acc = (['bn', 'plain'] as const).flatMap((arm) => steps.map((step) => {
      const v = m.runs.filter((r) => r.arm === arm).map((r) => r.evals.find((e) => e.step === step)!.testAccuracy);
      return { step, accuracy: mean(v), lo: mean(v) - std(v), hi: mean(v) + std(v), arm: LABEL[arm] };
    }));
    const last = m.config.steps;
    const gradValues = m.runs.filter((r) => r.seed === m.runs[0].seed).flatMap((r) => r.grads.filter((g) => g.step === 1 || g.step === last)
      .map((g) => ({ layer: g.layer, norm: g.norm, series: `${LABEL[r.arm]}, step ${g.step}` })));
    return [
      { title: 'accuracy', spec: lineChart({ title: `Test accuracy, ${m.config.depth} sigmoid layers (mean ± sd)`, values: acc, x: 'step', y: 'accuracy', series: 'arm', xTitle: 'training steps', yTitle: 'test accuracy', band: true }) },
      { title: 'gradients', spec: lineChart({ title: `Gradient norm per Linear layer (seed ${m.runs[0].seed})`, values: gradValues, x: 'layer', y: 'norm', series: 'series', xTitle: 'layer (1 = input side)', yTitle: '‖∂L/∂W‖ (log)', yLog: true, points: true }) },
    ];
  },
};
