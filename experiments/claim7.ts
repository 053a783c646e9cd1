/**
 * Claim 7: BN's inference cost can be removed by folding its scale and shift into the preceding layer.
 * A trained MLP and a trained CNN with BN are folded with deploy.foldBatchNorm; the outputs are compared
 * and inference is timed before and after at several batch sizes.
 */
import { deploy, manualSeed, models, noGrad, nn, optim, scope, tensor, type Tensor } from '../src/index.js';
import { barChart, loadDigits, trainLoop, type ClaimExperiment, type SeededConfig, type VerdictResult } from './common.js';

export type Claim7Model = 'mlp' | 'cnn';

export interface Claim7Config extends SeededConfig {
  models: Claim7Model[];
  /** Training steps before folding (so that the running statistics and γ, β are not at their initial values). */
  trainSteps: number;
  batchSize: number;
  lr: number;
  /** Inference batch sizes to time. */
  batchSizes: number[];
  /** Timing: rounds (before/after interleaved), each at least this many seconds per variant. */
  rounds: number;
  secondsPerRound: number;
  trainSize: number;
  testSize: number;
}

export interface Claim7Timing {
  model: Claim7Model;
  batch: number;
  /** Median milliseconds per forward over the rounds. */
  msBefore: number;
  msAfter: number;
}

export interface Claim7ModelResult {
  model: Claim7Model;
  folded: number;
  kept: number;
  bnLayers: number;
  /** Max |y_folded − y| over the test digits, and max |y| for scale. */
  maxAbsDiff: number;
  maxAbsOutput: number;
}

export interface Claim7Metrics {
  config: Claim7Config;
  models: Claim7ModelResult[];
  timings: Claim7Timing[];
}

function build(kind: Claim7Model, seed: number): nn.Sequential {
  if (kind === 'mlp') return models.mlp({ hidden: [100, 100, 100], activation: 'sigmoid', norm: 'batch', seed });
  manualSeed(seed); // models.cnn draws from the global generator
  return models.cnn({ channels: [16, 32] });
}

const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

/** Milliseconds per forward of `model` on x, repeated for at least `seconds` (at least 3 calls). */
function timeForward(model: nn.Module, x: Tensor, seconds: number): number {
  let n = 0;
  const t0 = performance.now();
  do { noGrad(() => scope(() => { model.forward(x); })); n++; } while (n < 3 || performance.now() - t0 < 1000 * seconds);
  return (performance.now() - t0) / n;
}

export const claim7: ClaimExperiment<Claim7Config, Claim7Metrics> = {
  id: 7,
  title: 'Folding removes the inference cost',
  claim: 'BN\'s inference cost can be removed by folding its scale and shift into the preceding layer (as TFLite does).',
  method: 'A 784-100-100-100-10 sigmoid MLP with BN and a small CNN (conv-BN-ReLU-pool twice, global pooling, Linear) are trained briefly, put in eval mode and folded with `deploy.foldBatchNorm` (W′ = W·s, b′ = (b − μ)·s + β with s = γ/√(σ² + ε)). Outputs are compared on all test digits; forward time is measured at each batch size, before and after folding in interleaved rounds (median over rounds), single-threaded kernels.',
  rule: 'Equal outputs: max |y_folded − y| ≤ 1e-4 · max(1, max |y|) over the test digits. Reproduced: outputs equal for every model, every BN folded, and the folded model is faster (median time ratio before/after > 1) at every batch size for every model. Not reproduced: outputs differ, a BN could not be folded, or the folded model is more than 5% slower at some batch size. Inconclusive: anything else.',
  defaults: { models: ['mlp', 'cnn'], trainSteps: 300, batchSize: 60, lr: 0.1, batchSizes: [1, 64, 1024], rounds: 5, secondsPerRound: 0.3, trainSize: 8000, testSize: 2000, seed: 1, seeds: 1 },
  full: { trainSteps: 2000, rounds: 11, secondsPerRound: 1 },
  tiny: { models: ['mlp'], trainSteps: 5, batchSizes: [1, 8], rounds: 1, secondsPerRound: 0.01, trainSize: 300, testSize: 100 },
  total: (cfg) => cfg.models.length * (cfg.trainSteps + cfg.batchSizes.length * cfg.rounds),

  async run(cfg, log) {
    const { train: trainSet, test } = await loadDigits(cfg.trainSize, cfg.testSize, cfg.seed);
    const results: Claim7ModelResult[] = [];
    const timings: Claim7Timing[] = [];
    let done = 0;
    const tick = (info: string) => log({ type: 'progress', done: ++done, total: claim7.total(cfg), info });
    for (const kind of cfg.models) {
      const model = build(kind, cfg.seed);
      trainLoop({ model, optimizer: new optim.SGD(model.parameters(), { lr: cfg.lr, momentum: 0.9 }), trainSet, batchSize: cfg.batchSize, steps: cfg.trainSteps, seed: cfg.seed, onStep: () => { tick(`${kind} training`); } });
      model.eval();
      const { model: foldedModel, folded, kept } = deploy.foldBatchNorm(model);
      const bnLayers = model.modules().filter((m) => m instanceof nn.BatchNorm).length;
      let maxAbsDiff = 0, maxAbsOutput = 0;
      noGrad(() => {
        for (let i = 0; i < test.count; i += 500) scope(() => {
          const b = Math.min(500, test.count - i);
          const x = tensor(test.x.subarray(i * test.features, (i + b) * test.features), [b, test.features]);
          const y = model.forward(x).data, z = foldedModel.forward(x).data;
          for (let j = 0; j < y.length; j++) { maxAbsDiff = Math.max(maxAbsDiff, Math.abs(z[j] - y[j])); maxAbsOutput = Math.max(maxAbsOutput, Math.abs(y[j])); }
        });
      });
      const r = { model: kind, folded: folded.length, kept: kept.length, bnLayers, maxAbsDiff, maxAbsOutput };
      results.push(r);
      log({ type: 'metric', record: { ...r } });
      for (const batch of cfg.batchSizes) {
        const rows = Array.from({ length: batch }, (_, i) => i % test.count);
        const xs = new Float32Array(batch * test.features);
        rows.forEach((row, i) => xs.set(test.x.subarray(row * test.features, (row + 1) * test.features), i * test.features));
        const x = tensor(xs, [batch, test.features]);
        const before: number[] = [], after: number[] = [];
        timeForward(model, x, 0); timeForward(foldedModel, x, 0); // warm-up
        for (let k = 0; k < cfg.rounds; k++) {
          before.push(timeForward(model, x, cfg.secondsPerRound));
          after.push(timeForward(foldedModel, x, cfg.secondsPerRound));
          tick(`${kind} timing batch ${batch}`);
        }
        const t = { model: kind, batch, msBefore: median(before), msAfter: median(after) };
        timings.push(t);
        log({ type: 'metric', record: { ...t, roundsBefore: before, roundsAfter: after } });
      }
    }
    return { config: cfg, models: results, timings };
  },

  verdict(m): VerdictResult {
    const equal = m.models.every((r) => r.maxAbsDiff <= 1e-4 * Math.max(1, r.maxAbsOutput));
    const allFolded = m.models.every((r) => r.kept === 0 && r.folded === r.bnLayers);
    const ratios = m.timings.map((t) => t.msBefore / t.msAfter);
    const verdict = equal && allFolded && ratios.every((x) => x > 1) ? 'reproduced' : !equal || !allFolded || ratios.some((x) => x < 1 / 1.05) ? 'not reproduced' : 'inconclusive';
    const diffs = m.models.map((r) => `${r.model}: ${r.folded}/${r.bnLayers} BN folded, max |Δy| ${r.maxAbsDiff.toExponential(1)} (max |y| ${r.maxAbsOutput.toFixed(1)})`).join('; ');
    const times = m.timings.map((t) => `${t.model} batch ${t.batch}: ${t.msBefore.toPrecision(3)} → ${t.msAfter.toPrecision(3)} ms (×${(t.msBefore / t.msAfter).toFixed(2)})`).join(', ');
    return { verdict, evidence: `${diffs}; forward time before → after folding: ${times}` };
  },

  charts(m) {
    return [...new Set(m.timings.map((t) => t.model))].map((model) => {
      const values = m.timings.filter((t) => t.model === model).flatMap((t) => [
        { batch: `batch ${t.batch}`, variant: 'with BN', ms: t.msBefore },
        { batch: `batch ${t.batch}`, variant: 'folded', ms: t.msAfter },
      ]);
      return { title: `${model} timing`, spec: barChart({ title: `${model.toUpperCase()}: milliseconds per forward (each batch size on its own scale)`, values, group: 'batch', series: 'variant', value: 'ms', yTitle: 'ms per forward', independentY: true, width: 300 }) };
    });
  },
};
