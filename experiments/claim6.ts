/**
 * Claim 6: BN adds computation per step, but total training time drops because it converges in fewer
 * steps. The paper's sigmoid MLP with and without BN, timed per step and to a target test accuracy.
 */
import { models, optim, train } from '../src/index.js';
import { lineChart, loadDigits, mean, pct, seedList, std, trainLoop, type ClaimExperiment, type SeededConfig, type VerdictResult } from './common.js';

export interface Claim6Config extends SeededConfig {
  hidden: number[];
  initStd: number;
  batchSize: number;
  lr: number;
  /** Test accuracy to reach. */
  target: number;
  /** Give up after this many steps. */
  maxSteps: number;
  evalEvery: number;
  trainSize: number;
  testSize: number;
}

export type Claim6Arm = 'bn' | 'plain';

export interface Claim6Run {
  seed: number;
  arm: Claim6Arm;
  /** Training seconds (evaluation excluded) at each evaluation. */
  curve: { step: number; seconds: number; testAccuracy: number }[];
  msPerStep: number;
  /** Training seconds and steps until the target was first reached (null: never within maxSteps). */
  secondsToTarget: number | null;
  stepsToTarget: number | null;
}

export interface Claim6Metrics {
  config: Claim6Config;
  runs: Claim6Run[];
}

const LABEL: Record<Claim6Arm, string> = { bn: 'with BN', plain: 'without BN' };

export const claim6: ClaimExperiment<Claim6Config, Claim6Metrics> = {
  id: 6,
  title: 'More compute per step, less time overall',
  claim: 'BN adds computation per layer, but total training time drops because convergence is much faster.',
  method: 'The paper\'s 784-100-100-100-10 sigmoid MLP (N(0, 0.05²) init, batch 60, plain SGD), with and without BN from identical weights, trained until the test accuracy first reaches the target (checked every evalEvery steps) or maxSteps; wall-clock training time measured without the evaluations, single-threaded kernels, the two arms run one after the other per seed. Several seeds.',
  rule: 'Reproduced: BN\'s mean time per step is higher than without BN AND in every seed BN reaches the target in less training time (a plain arm that never reaches it counts as slower). Not reproduced: BN never reaches the target in some seed, or its mean time to target (over seeds where both reach it) is not lower. Inconclusive: anything else (e.g. no extra cost per step, or neither arm reaches the target).',
  defaults: { hidden: [100, 100, 100], initStd: 0.05, batchSize: 60, lr: 0.5, target: 0.93, maxSteps: 8000, evalEvery: 100, trainSize: 8000, testSize: 2000, seed: 1, seeds: 3 },
  full: { target: 0.96, maxSteps: 50000, evalEvery: 250, seeds: 5 },
  tiny: { hidden: [16], target: 0.3, maxSteps: 30, evalEvery: 10, trainSize: 300, testSize: 100, seeds: 1 },
  total: (cfg) => 2 * cfg.maxSteps * cfg.seeds,

  async run(cfg, log) {
    const { train: trainSet, test } = await loadDigits(cfg.trainSize, cfg.testSize, cfg.seed);
    const runs: Claim6Run[] = [];
    let done = 0;
    for (const seed of seedList(cfg)) {
      for (const arm of ['bn', 'plain'] as const) {
        const model = models.mlp({ hidden: cfg.hidden, activation: 'sigmoid', norm: arm === 'bn' ? 'batch' : 'none', initStd: cfg.initStd, seed });
        const run: Claim6Run = { seed, arm, curve: [], msPerStep: NaN, secondsToTarget: null, stepsToTarget: null };
        let seconds = 0, mark = performance.now(), steps = 0;
        trainLoop({
          model, optimizer: new optim.SGD(model.parameters(), { lr: cfg.lr }), trainSet, batchSize: cfg.batchSize, steps: cfg.maxSteps, seed,
          evalEvery: cfg.evalEvery,
          onStep: () => {
            seconds += (performance.now() - mark) / 1000; mark = performance.now(); steps++;
            if (++done % 50 === 0) log({ type: 'progress', done, total: claim6.total(cfg), info: `seed ${seed} ${arm}` });
          },
          onEval: (step) => {
            const acc = train.evaluate(model, test).accuracy;
            run.curve.push({ step, seconds, testAccuracy: acc });
            log({ type: 'metric', record: { seed, arm, step, seconds, testAccuracy: acc } });
            mark = performance.now();
            if (acc >= cfg.target) { run.secondsToTarget = seconds; run.stepsToTarget = step; return false; }
          },
        });
        done += cfg.maxSteps - steps;
        run.msPerStep = (1000 * seconds) / steps;
        runs.push(run);
        log({ type: 'metric', record: { seed, arm, msPerStep: run.msPerStep, secondsToTarget: run.secondsToTarget, stepsToTarget: run.stepsToTarget } });
      }
    }
    return { config: cfg, runs };
  },

  verdict(m): VerdictResult {
    const by = (arm: Claim6Arm) => m.runs.filter((r) => r.arm === arm).sort((a, b) => a.seed - b.seed);
    const bn = by('bn'), plain = by('plain');
    const costlier = mean(bn.map((r) => r.msPerStep)) > mean(plain.map((r) => r.msPerStep));
    const faster = bn.map((r, i) => r.secondsToTarget !== null && (plain[i].secondsToTarget === null || r.secondsToTarget < plain[i].secondsToTarget!));
    const both = bn.map((r, i) => [r.secondsToTarget, plain[i].secondsToTarget] as const).filter(([a, b]) => a !== null && b !== null) as [number, number][];
    const bnNever = bn.some((r) => r.secondsToTarget === null);
    let verdict: VerdictResult['verdict'] = 'inconclusive';
    if (costlier && faster.every(Boolean)) verdict = 'reproduced';
    else if (bnNever || (both.length > 0 && mean(both.map(([a]) => a)) >= mean(both.map(([, b]) => b)))) verdict = 'not reproduced';
    const t = (rs: Claim6Run[]) => rs.map((r) => (r.secondsToTarget === null ? 'never' : `${r.secondsToTarget.toFixed(1)} s (${r.stepsToTarget} steps)`)).join(', ');
    const ms = (rs: Claim6Run[]) => `${mean(rs.map((r) => r.msPerStep)).toFixed(2)} ± ${std(rs.map((r) => r.msPerStep)).toFixed(2)} ms`;
    const evidence = `time per step ${ms(bn)} with BN vs ${ms(plain)} without; training time to ${pct(m.config.target, 0)} test accuracy per seed: with BN ${t(bn)}; without ${t(plain)} (max ${m.config.maxSteps} steps)`;
    return { verdict, evidence };
  },

  charts(m) {
    const seed = m.runs[0].seed;
    const values = m.runs.filter((r) => r.seed === seed).flatMap((r) => r.curve.map((c) => ({ seconds: c.seconds, accuracy: c.testAccuracy, arm: LABEL[r.arm] })));
    const rule = { mark: { type: 'rule', strokeDash: [4, 4], color: '#888' }, encoding: { y: { datum: m.config.target } } };
    const spec = lineChart({ title: `Test accuracy vs training seconds (seed ${seed}; dashed: target)`, values, x: 'seconds', y: 'accuracy', series: 'arm', xTitle: 'training wall-clock seconds (evaluation excluded)', yTitle: 'test accuracy' });
    (spec.layer as unknown[]).push(rule);
    const bars = (['bn', 'plain'] as const).flatMap((arm) => m.runs.filter((r) => r.arm === arm).map((r) => ({ arm: LABEL[arm], seed: String(r.seed), ms: r.msPerStep })));
    return [
      { title: 'time to accuracy', spec },
      { title: 'ms per step', spec: { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', title: 'Milliseconds per training step (each seed)', width: 200, height: 220, data: { values: bars }, mark: { type: 'point', filled: true, size: 60 }, encoding: { x: { field: 'arm', type: 'nominal', title: null }, y: { field: 'ms', type: 'quantitative', title: 'ms per step', scale: { zero: true } }, color: { field: 'arm', type: 'nominal', legend: null } } } },
    ];
  },
};
