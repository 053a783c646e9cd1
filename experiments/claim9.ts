/**
 * Claim 9: BN is awkward in recurrent networks (statistics differ per time step); layer normalization or
 * gradient clipping is used there instead. A small RNN reads MNIST digits as 28 rows of 28 pixels; the
 * cell has no normalization, BN with shared statistics, BN per time step, or LayerNorm, each trained
 * without clipping, with clipValue and with clipNorm (on the optimizer), from identical RNN weights.
 */
import { manualSeed, nn, optim, train, type Tensor } from '../src/index.js';
import { lineChart, loadDigits, mean, pct, pp, seedList, std, trainLoop, type ClaimExperiment, type SeededConfig, type VerdictResult } from './common.js';

export type Claim9Norm = 'none' | 'bnShared' | 'bnPerStep' | 'layerNorm';
export type Claim9Clip = 'off' | 'clipValue' | 'clipNorm';
export const CLAIM9_NORMS: readonly Claim9Norm[] = ['none', 'bnShared', 'bnPerStep', 'layerNorm'];
export const CLAIM9_CLIPS: readonly Claim9Clip[] = ['off', 'clipValue', 'clipNorm'];

export interface Claim9Config extends SeededConfig {
  norms: Claim9Norm[];
  clips: Claim9Clip[];
  hidden: number;
  steps: number;
  evalEvery: number;
  /** Record the total gradient norm (before clipping) every this many steps. */
  gradEvery: number;
  batchSize: number;
  lr: number;
  momentum: number;
  clipValue: number;
  clipNorm: number;
  trainSize: number;
  testSize: number;
}

export interface Claim9Run {
  seed: number;
  norm: Claim9Norm;
  clip: Claim9Clip;
  evals: { step: number; testAccuracy: number }[];
  grads: { step: number; norm: number }[];
  finalAccuracy: number;
}

export interface Claim9Metrics {
  config: Claim9Config;
  runs: Claim9Run[];
}

const NORM_LABEL: Record<Claim9Norm, string> = { none: 'no normalization', bnShared: 'BN, shared statistics', bnPerStep: 'BN, per-step statistics', layerNorm: 'LayerNorm' };
const CLIP_LABEL: Record<Claim9Clip, string> = { off: 'no clipping', clipValue: 'clipValue', clipNorm: 'clipNorm' };

/** Rows of 784 pixels → 28 steps of 28 → a tanh RNN → a Linear on the last step's hidden state. */
export class RowRnnClassifier extends nn.Module {
  readonly rnn: nn.RNN;
  readonly head: nn.Linear;

  constructor(hidden: number, norm: Claim9Norm, seed: number) {
    super();
    manualSeed(seed); // the RNN's and the head's weights come from the global generator: identical per seed
    this.rnn = new nn.RNN(28, hidden, norm === 'layerNorm' ? { layerNorm: true } : norm === 'bnShared' ? { batchNorm: 'shared' } : norm === 'bnPerStep' ? { batchNorm: 'perStep', maxSteps: 28 } : {});
    this.head = new nn.Linear(hidden, 10);
  }

  forward(x: Tensor): Tensor {
    return this.head.forward(this.rnn.forward(x.reshape([x.shape[0], 28, 28])).select(1, -1));
  }
}

/** Mean final accuracy (over seeds) of one arm. */
export function finalOf(m: Claim9Metrics, norm: Claim9Norm, clip: Claim9Clip): number {
  return mean(m.runs.filter((r) => r.norm === norm && r.clip === clip).map((r) => r.finalAccuracy));
}

export const claim9: ClaimExperiment<Claim9Config, Claim9Metrics> = {
  id: 9,
  title: 'RNNs: LayerNorm and gradient clipping instead of BN',
  claim: 'BN is awkward for RNNs (statistics differ per time step); layer normalization (per sample) or gradient clipping (clipValue elementwise, clipNorm by norm, on the optimizer) is used instead.',
  method: 'MNIST rows as a sequence (28 steps of 28 pixels) into a one-layer tanh RNN, classified from the last hidden state. The cell has no normalization, BN with shared statistics over time, BN per time step (Cooijmans et al.), or LayerNorm; each trained with SGD + momentum without clipping, with clipValue and with clipNorm; identical RNN weights per seed. Test accuracy (eval mode: BN uses its running statistics) every evalEvery steps; the total gradient norm before clipping every gradEvery steps.',
  rule: 'A = LayerNorm − BN-shared (final test accuracy, both unclipped); C = best of the clipped plain RNNs − the unclipped plain RNN. Reproduced: A ≥ 1 pp and C ≥ 0 (LayerNorm beats BN with shared statistics, and clipping does not hurt the plain RNN). Not reproduced: A ≤ −1 pp or C ≤ −1 pp. Inconclusive: anything else. BN per step is shown for contrast, not voted.',
  defaults: { norms: [...CLAIM9_NORMS], clips: [...CLAIM9_CLIPS], hidden: 64, steps: 1000, evalEvery: 200, gradEvery: 20, batchSize: 60, lr: 0.05, momentum: 0.9, clipValue: 0.1, clipNorm: 1, trainSize: 8000, testSize: 2000, seed: 1, seeds: 1 },
  full: { hidden: 128, steps: 10000, evalEvery: 500, gradEvery: 50, seeds: 3 },
  tiny: { norms: [...CLAIM9_NORMS], clips: ['off', 'clipNorm'], hidden: 8, steps: 6, evalEvery: 3, gradEvery: 2, trainSize: 120, testSize: 60, seeds: 1 },
  total: (cfg) => cfg.norms.length * cfg.clips.length * cfg.steps * cfg.seeds,

  async run(cfg, log) {
    const { train: trainSet, test } = await loadDigits(cfg.trainSize, cfg.testSize, cfg.seed);
    const runs: Claim9Run[] = [];
    let done = 0;
    for (const seed of seedList(cfg)) {
      for (const norm of cfg.norms) {
        for (const clip of cfg.clips) {
          const model = new RowRnnClassifier(cfg.hidden, norm, seed);
          const clipOpts = clip === 'clipValue' ? { clipValue: cfg.clipValue } : clip === 'clipNorm' ? { clipNorm: cfg.clipNorm } : {};
          const run: Claim9Run = { seed, norm, clip, evals: [], grads: [], finalAccuracy: NaN };
          const evalNow = (step: number) => {
            const acc = train.evaluate(model, test, { batchSize: 500 }).accuracy;
            run.evals.push({ step, testAccuracy: acc });
            log({ type: 'metric', record: { seed, norm, clip, step, testAccuracy: acc } });
          };
          evalNow(0);
          trainLoop({
            model, optimizer: new optim.SGD(model.parameters(), { lr: cfg.lr, momentum: cfg.momentum, ...clipOpts }), trainSet, batchSize: cfg.batchSize, steps: cfg.steps, seed,
            recordGradNorms: true, evalEvery: cfg.evalEvery, onEval: evalNow,
            onStep: (r) => {
              if (r.step % cfg.gradEvery === 0 || r.step === 1) {
                const total = Math.sqrt(Object.values(r.gradNorms!).reduce((s, g) => s + g * g, 0));
                run.grads.push({ step: r.step, norm: total });
                log({ type: 'metric', record: { seed, norm, clip, step: r.step, gradNorm: total, loss: r.loss } });
              }
              if (++done % 20 === 0) log({ type: 'progress', done, total: claim9.total(cfg), info: `seed ${seed} ${norm} ${clip}` });
            },
          });
          run.finalAccuracy = run.evals[run.evals.length - 1].testAccuracy;
          runs.push(run);
        }
      }
    }
    return { config: cfg, runs };
  },

  verdict(m): VerdictResult {
    const clipped = m.config.clips.filter((c) => c !== 'off');
    const A = finalOf(m, 'layerNorm', 'off') - finalOf(m, 'bnShared', 'off');
    const bestClip = Math.max(...clipped.map((c) => finalOf(m, 'none', c)));
    const C = bestClip - finalOf(m, 'none', 'off');
    const verdict = A >= 0.01 && C >= 0 ? 'reproduced' : A <= -0.01 || C <= -0.01 ? 'not reproduced' : 'inconclusive';
    const row = (norm: Claim9Norm) => `${NORM_LABEL[norm]} ${m.config.clips.map((c) => `${pct(finalOf(m, norm, c), 1)}${c === 'off' ? '' : ` (${c})`}`).join(' / ')}`;
    const maxGrad = (clip: Claim9Clip) => Math.max(...m.runs.filter((r) => r.norm === 'none' && r.clip === clip).flatMap((r) => r.grads.map((g) => g.norm)));
    const evidence = `final test accuracy (${m.config.seeds} seed${m.config.seeds > 1 ? 's' : ''}, ${m.config.steps} steps): ${m.config.norms.map(row).join('; ')}; LayerNorm − BN shared ${pp(A)}; best clipping − none (plain RNN) ${pp(C)}; largest raw gradient norm of the plain RNN ${maxGrad('off').toFixed(2)} unclipped`;
    return { verdict, evidence };
  },

  charts(m) {
    const steps = [...new Set(m.runs[0].evals.map((e) => e.step))];
    const acc = m.config.norms.map((norm) => norm).flatMap((norm) => steps.map((step) => {
      const v = m.runs.filter((r) => r.norm === norm && r.clip === 'off').map((r) => r.evals.find((e) => e.step === step)!.testAccuracy);
      return { step, accuracy: mean(v), lo: mean(v) - std(v), hi: mean(v) + std(v), arm: NORM_LABEL[norm] };
    }));
    const clipAcc = m.config.clips.flatMap((clip) => steps.map((step) => {
      const v = m.runs.filter((r) => r.norm === 'none' && r.clip === clip).map((r) => r.evals.find((e) => e.step === step)!.testAccuracy);
      return { step, accuracy: mean(v), arm: CLIP_LABEL[clip] };
    }));
    const seed = m.runs[0].seed;
    const grads = m.runs.filter((r) => r.seed === seed && r.norm === 'none').flatMap((r) => r.grads.map((g) => ({ step: g.step, norm: g.norm, arm: CLIP_LABEL[r.clip] })));
    const gradsByNorm = m.runs.filter((r) => r.seed === seed && r.clip === 'off').flatMap((r) => r.grads.map((g) => ({ step: g.step, norm: g.norm, arm: NORM_LABEL[r.norm] })));
    return [
      { title: 'accuracy by normalization', spec: lineChart({ title: 'Test accuracy, no clipping (eval mode)', values: acc, x: 'step', y: 'accuracy', series: 'arm', xTitle: 'training steps', yTitle: 'test accuracy', band: m.config.seeds > 1, points: true }) },
      { title: 'accuracy by clipping', spec: lineChart({ title: 'Test accuracy, plain RNN, by clipping', values: clipAcc, x: 'step', y: 'accuracy', series: 'arm', xTitle: 'training steps', yTitle: 'test accuracy', points: true }) },
      { title: 'gradient norms (clipping)', spec: lineChart({ title: `Plain RNN: total gradient norm before clipping (seed ${seed})`, values: grads, x: 'step', y: 'norm', series: 'arm', xTitle: 'training steps', yTitle: '‖g‖ (log)', yLog: true }) },
      { title: 'gradient norms (normalization)', spec: lineChart({ title: `Total gradient norm by normalization, no clipping (seed ${seed})`, values: gradsByNorm, x: 'step', y: 'norm', series: 'arm', xTitle: 'training steps', yTitle: '‖g‖ (log)', yLog: true }) },
    ];
  },
};
