import { describe, expect, it } from 'vitest';
import { claim1, type Claim1Metrics } from '../../experiments/claim1.js';
import { claim2, type Claim2Metrics, type Claim2Run } from '../../experiments/claim2.js';
import { claim3, type Claim3Metrics } from '../../experiments/claim3.js';
import { claim4, type Claim4Metrics } from '../../experiments/claim4.js';
import { claim5, type Claim5Metrics, type Claim5Arm } from '../../experiments/claim5.js';
import { claim6, type Claim6Metrics, type Claim6Run } from '../../experiments/claim6.js';
import { claim7, type Claim7Metrics } from '../../experiments/claim7.js';
import { claim8, type Claim8Arm, type Claim8Metrics } from '../../experiments/claim8.js';
import { claim9, type Claim9Clip, type Claim9Metrics, type Claim9Norm } from '../../experiments/claim9.js';
import { claim10, type Claim10Metrics } from '../../experiments/claim10.js';
import type { ArmResult } from '../../experiments/paper.js';

/*
 * Each claim's verdict rule on synthetic metrics: one case per outcome (reproduced, not reproduced,
 * inconclusive), built just inside the rule's thresholds, so a changed threshold or inverted comparison fails.
 */

describe('claim 1 verdict (paper Fig. 1)', () => {
  const arm = (a: 'bn' | 'plain', accs: number[], p50: number[]): ArmResult => ({
    arm: a, testAccuracy: accs[accs.length - 1], seconds: 1, stepsPerSecond: 1,
    evals: accs.map((acc, i) => ({ step: i * 10, testAccuracy: acc, testLoss: 0, trainLoss: 0, p15: p50[i] - 1, p50: p50[i], p85: p50[i] + 1, seconds: i })),
  });
  const steady = [0, 0, 0, 0, 0], drifting = [0, -1, -2, -3, -4];
  const good = arm('bn', [0.1, 0.9, 0.95, 0.96, 0.97], steady), bad = arm('plain', [0.1, 0.5, 0.8, 0.9, 0.93], drifting);
  const m = (runs: Claim1Metrics['runs']): Claim1Metrics => ({ config: { ...claim1.defaults, steps: 40, seeds: runs.length }, runs });

  it('reproduced when BN wins every seed and drifts less', () => {
    expect(claim1.verdict(m([{ seed: 1, bn: good, plain: bad }, { seed: 2, bn: good, plain: bad }])).verdict).toBe('reproduced');
  });
  it('not reproduced when BN wins no seed', () => {
    expect(claim1.verdict(m([{ seed: 1, bn: { ...bad, arm: 'bn' }, plain: { ...good, arm: 'plain' } }])).verdict).toBe('not reproduced');
  });
  it('inconclusive when the seeds disagree, or BN wins but drifts more', () => {
    expect(claim1.verdict(m([{ seed: 1, bn: good, plain: bad }, { seed: 2, bn: { ...bad, arm: 'bn' }, plain: { ...good, arm: 'plain' } }])).verdict).toBe('inconclusive');
    const driftingBn = arm('bn', [0.1, 0.9, 0.95, 0.96, 0.97], drifting), steadyPlain = arm('plain', [0.1, 0.5, 0.8, 0.9, 0.93], steady);
    expect(claim1.verdict(m([{ seed: 1, bn: driftingBn, plain: steadyPlain }])).verdict).toBe('inconclusive');
  });
});

describe('claim 2 verdict (deep sigmoid nets)', () => {
  const run = (seed: number, arm: 'bn' | 'plain', acc: number): Claim2Run => ({
    seed, arm, finalAccuracy: acc, evals: [{ step: 0, testAccuracy: 0.1 }, { step: 10, testAccuracy: acc }],
    grads: [{ step: 1, layer: 1, norm: arm === 'bn' ? 1 : 1e-4 }, { step: 1, layer: 2, norm: 1 }],
  });
  const m = (bn: number[], plain: number[]): Claim2Metrics => ({ config: { ...claim2.defaults, seeds: bn.length }, runs: [...bn.map((a, i) => run(i, 'bn', a)), ...plain.map((a, i) => run(i, 'plain', a))] });
  it('reproduced: ≥ 5 pp and separated', () => expect(claim2.verdict(m([0.9, 0.91], [0.84, 0.85])).verdict).toBe('reproduced'));
  it('not reproduced: < 1 pp', () => expect(claim2.verdict(m([0.9, 0.9], [0.895, 0.895])).verdict).toBe('not reproduced'));
  it('inconclusive: a big mean gain that overlaps, or a small gain', () => {
    expect(claim2.verdict(m([0.95, 0.8], [0.81, 0.8])).verdict).toBe('inconclusive');
    expect(claim2.verdict(m([0.92, 0.92], [0.9, 0.9])).verdict).toBe('inconclusive');
  });
  it('reports the first/last gradient ratio', () => expect(claim2.verdict(m([0.9], [0.5])).evidence).toMatch(/1\.00e\+0 with BN vs 1\.00e-4 without/));
});

describe('claim 3 verdict (init sweep)', () => {
  const m = (bn: number[], plain: number[]): Claim3Metrics => {
    const initStds = bn.map((_, i) => 10 ** -i);
    return { config: { ...claim3.defaults, initStds, seeds: 1 }, runs: initStds.flatMap((s, i) => [{ seed: 1, arm: 'bn' as const, initStd: s, finalAccuracy: bn[i] }, { seed: 1, arm: 'plain' as const, initStd: s, finalAccuracy: plain[i] }]) };
  };
  it('reproduced: BN spread ≤ half the plain spread, plain spread ≥ 10 pp', () => expect(claim3.verdict(m([0.95, 0.9], [0.95, 0.8])).verdict).toBe('reproduced'));
  it('not reproduced: BN at least as sensitive', () => expect(claim3.verdict(m([0.95, 0.7], [0.95, 0.8])).verdict).toBe('not reproduced'));
  it('inconclusive: the sweep does not matter for the plain net, or BN only a little better', () => {
    expect(claim3.verdict(m([0.95, 0.95], [0.95, 0.9])).verdict).toBe('inconclusive');
    expect(claim3.verdict(m([0.95, 0.8], [0.95, 0.7])).verdict).toBe('inconclusive');
  });
});

describe('claim 4 verdict (learning rates)', () => {
  const lrs = [0.1, 1, 10, 100];
  const m = (bn: number[], plain: number[]): Claim4Metrics => ({ config: { ...claim4.defaults, lrs, usable: 0.85, seeds: 1 }, runs: lrs.flatMap((lr, i) => [{ seed: 1, arm: 'bn' as const, lr, finalAccuracy: bn[i], diverged: false }, { seed: 1, arm: 'plain' as const, lr, finalAccuracy: plain[i], diverged: plain[i] <= 0.1 }]) });
  it('reproduced: BN usable at a ≥ 3× larger rate', () => expect(claim4.verdict(m([0.9, 0.95, 0.9, 0.5], [0.9, 0.9, 0.1, 0.1])).verdict).toBe('reproduced'));
  it('not reproduced: BN usable only where the plain net is', () => expect(claim4.verdict(m([0.9, 0.9, 0.5, 0.1], [0.9, 0.9, 0.6, 0.1])).verdict).toBe('not reproduced'));
  it('inconclusive: no usable rate, or both usable at the top of the grid', () => {
    expect(claim4.verdict(m([0.9, 0.9, 0.9, 0.9], [0.5, 0.5, 0.5, 0.5])).verdict).toBe('inconclusive');
    expect(claim4.verdict(m([0.9, 0.9, 0.9, 0.9], [0.9, 0.9, 0.9, 0.9])).verdict).toBe('inconclusive');
  });
  it('names where each arm diverged', () => expect(claim4.verdict(m([0.9, 0.95, 0.9, 0.5], [0.9, 0.9, 0.1, 0.1])).evidence).toMatch(/no rate with BN, 10, 100 without/));
});

describe('claim 5 verdict (regularization)', () => {
  const m = (test: Record<Claim5Arm, number[]>): Claim5Metrics => ({ config: { ...claim5.defaults, seeds: 2 }, runs: (Object.keys(test) as Claim5Arm[]).flatMap((arm) => test[arm].map((t, i) => ({ seed: i, arm, trainAccuracy: 1, testAccuracy: t }))) });
  it('reproduced: BN gains beyond the spread, dropout adds ≤ 1 pp', () => expect(claim5.verdict(m({ none: [0.85, 0.86], bn: [0.9, 0.91], dropout: [0.88, 0.88], 'bn+dropout': [0.91, 0.91] })).verdict).toBe('reproduced'));
  it('not reproduced: BN does not beat the plain net, or dropout still adds ≥ 2 pp', () => {
    expect(claim5.verdict(m({ none: [0.9, 0.91], bn: [0.9, 0.9], dropout: [0.9, 0.9], 'bn+dropout': [0.9, 0.9] })).verdict).toBe('not reproduced');
    expect(claim5.verdict(m({ none: [0.85, 0.85], bn: [0.9, 0.9], dropout: [0.9, 0.9], 'bn+dropout': [0.925, 0.925] })).verdict).toBe('not reproduced');
  });
  it('inconclusive: a gain within the seed spread', () => expect(claim5.verdict(m({ none: [0.85, 0.89], bn: [0.86, 0.9], dropout: [0.9, 0.9], 'bn+dropout': [0.88, 0.9] })).verdict).toBe('inconclusive'));
});

describe('claim 6 verdict (time to accuracy)', () => {
  const run = (seed: number, arm: 'bn' | 'plain', msPerStep: number, secondsToTarget: number | null): Claim6Run => ({ seed, arm, msPerStep, secondsToTarget, stepsToTarget: secondsToTarget === null ? null : 100, curve: [{ step: 100, seconds: 1, testAccuracy: 0.9 }] });
  const m = (runs: Claim6Run[]): Claim6Metrics => ({ config: claim6.defaults, runs });
  it('reproduced: dearer steps, sooner at the target in every seed', () => expect(claim6.verdict(m([run(1, 'bn', 2, 3), run(1, 'plain', 1, 5), run(2, 'bn', 2, 3), run(2, 'plain', 1, null)])).verdict).toBe('reproduced'));
  it('not reproduced: BN slower to the target, or never there', () => {
    expect(claim6.verdict(m([run(1, 'bn', 2, 6), run(1, 'plain', 1, 5)])).verdict).toBe('not reproduced');
    expect(claim6.verdict(m([run(1, 'bn', 2, null), run(1, 'plain', 1, null)])).verdict).toBe('not reproduced');
  });
  it('inconclusive: sooner but not dearer per step, or seeds disagree', () => {
    expect(claim6.verdict(m([run(1, 'bn', 1, 3), run(1, 'plain', 1.5, 5)])).verdict).toBe('inconclusive');
    expect(claim6.verdict(m([run(1, 'bn', 2, 3), run(1, 'plain', 1, 5), run(2, 'bn', 2, 6), run(2, 'plain', 1, 5.5)])).verdict).toBe('inconclusive');
  });
});

describe('claim 7 verdict (folding)', () => {
  const m = (diff: number, after: number[], kept = 0): Claim7Metrics => ({
    config: claim7.defaults,
    models: [{ model: 'mlp', folded: 3 - kept, kept, bnLayers: 3, maxAbsDiff: diff, maxAbsOutput: 5 }],
    timings: after.map((a, i) => ({ model: 'mlp' as const, batch: 2 ** i, msBefore: 1, msAfter: a })),
  });
  it('reproduced: equal outputs, all folded, faster at every batch size', () => expect(claim7.verdict(m(4e-4, [0.9, 0.99])).verdict).toBe('reproduced'));
  it('not reproduced: outputs differ, a BN kept, or > 5% slower', () => {
    expect(claim7.verdict(m(6e-4, [0.9, 0.9])).verdict).toBe('not reproduced');
    expect(claim7.verdict(m(0, [0.9, 0.9], 1)).verdict).toBe('not reproduced');
    expect(claim7.verdict(m(0, [0.9, 1.06])).verdict).toBe('not reproduced');
  });
  it('inconclusive: equal outputs but no faster within 5%', () => expect(claim7.verdict(m(0, [0.9, 1.04])).verdict).toBe('inconclusive'));
});

describe('claim 8 verdict (small batches)', () => {
  const batchSizes = [2, 4, 32, 128];
  const m = (curves: Partial<Record<Claim8Arm, number[]>>): Claim8Metrics => ({
    config: { ...claim8.defaults, batchSizes, seeds: 1 }, pending: [],
    runs: (Object.keys(curves) as Claim8Arm[]).flatMap((arm) => batchSizes.map((batch, i) => ({ seed: 1, arm, batch, lr: 0.1, steps: 1, finalAccuracy: curves[arm]![i] }))),
  });
  const flat = [0.9, 0.9, 0.91, 0.91];
  it('reproduced: BN drops ≥ 3 pp and ≥ 2 pp more than LayerNorm/GroupNorm', () => expect(claim8.verdict(m({ bn: [0.8, 0.86, 0.92, 0.92], layer: flat, group: flat })).verdict).toBe('reproduced'));
  it('not reproduced: BN drops no more than the batch-independent norms', () => expect(claim8.verdict(m({ bn: [0.85, 0.85, 0.9, 0.9], layer: [0.85, 0.86, 0.9, 0.9], group: [0.85, 0.85, 0.9, 0.9] })).verdict).toBe('not reproduced'));
  it('inconclusive: in between', () => expect(claim8.verdict(m({ bn: [0.89, 0.89, 0.91, 0.915], layer: flat, group: flat })).verdict).toBe('inconclusive'));
  it('lists a pending arm as not run', () => {
    const r = claim8.verdict({ ...m({ bn: flat, layer: flat, group: flat }), pending: [{ arm: 'sync', reason: 'pending: x' }] });
    expect(r.evidence).toMatch(/not run: SyncBN, 2 workers \(pending: x\)/);
  });
});

describe('claim 9 verdict (RNNs)', () => {
  const m = (acc: Partial<Record<`${Claim9Norm}/${Claim9Clip}`, number>>): Claim9Metrics => ({
    config: claim9.defaults,
    runs: Object.entries(acc).map(([k, a]) => {
      const [norm, clip] = k.split('/') as [Claim9Norm, Claim9Clip];
      return { seed: 1, norm, clip, finalAccuracy: a!, evals: [{ step: 1, testAccuracy: a! }], grads: [{ step: 1, norm: 1 }] };
    }),
  });
  const base = { 'none/clipValue': 0.8, 'none/clipNorm': 0.82, 'bnPerStep/off': 0.85, 'bnPerStep/clipValue': 0.85, 'bnPerStep/clipNorm': 0.85, 'bnShared/clipValue': 0.8, 'bnShared/clipNorm': 0.8, 'layerNorm/clipValue': 0.9, 'layerNorm/clipNorm': 0.9 };
  it('reproduced: LayerNorm ≥ BN shared + 1 pp and clipping does not hurt', () => expect(claim9.verdict(m({ ...base, 'none/off': 0.82, 'bnShared/off': 0.85, 'layerNorm/off': 0.86 })).verdict).toBe('reproduced'));
  it('not reproduced: BN shared ≥ LayerNorm + 1 pp, or clipping costs ≥ 1 pp', () => {
    expect(claim9.verdict(m({ ...base, 'none/off': 0.8, 'bnShared/off': 0.9, 'layerNorm/off': 0.88 })).verdict).toBe('not reproduced');
    expect(claim9.verdict(m({ ...base, 'none/off': 0.84, 'bnShared/off': 0.8, 'layerNorm/off': 0.9 })).verdict).toBe('not reproduced');
  });
  it('inconclusive: LayerNorm and BN shared within 1 pp', () => expect(claim9.verdict(m({ ...base, 'none/off': 0.8, 'bnShared/off': 0.85, 'layerNorm/off': 0.855 })).verdict).toBe('inconclusive'));
});

describe('claim 10 verdict (inference statistics)', () => {
  const m = (acc: Record<string, [number | null, number]>): Claim10Metrics => ({
    config: { ...claim10.defaults, momenta: [0.9, 0.999], testBatches: [1, 1000], seeds: 1 }, identicalWeights: [true],
    results: Object.entries(acc).flatMap(([method, [at1, at1000]]) => [{ seed: 1, method, testBatch: 1, accuracy: at1 }, { seed: 1, method, testBatch: 1000, accuracy: at1000 }]),
  });
  it('reproduced: population and EMA 0.9 within 1 pp of batch statistics, same at batch 1', () =>
    expect(claim10.verdict(m({ batch: [null, 0.95], 'ema:0.9': [0.945, 0.945], 'ema:0.999': [0.6, 0.6], cumulative: [0.9, 0.9], population: [0.952, 0.952] })).verdict).toBe('reproduced'));
  it('not reproduced: EMA 0.9 more than 3 pp below, or a different answer at batch 1', () => {
    expect(claim10.verdict(m({ batch: [null, 0.95], 'ema:0.9': [0.91, 0.91], 'ema:0.999': [0.6, 0.6], cumulative: [0.9, 0.9], population: [0.95, 0.95] })).verdict).toBe('not reproduced');
    expect(claim10.verdict(m({ batch: [null, 0.95], 'ema:0.9': [0.9, 0.95], 'ema:0.999': [0.6, 0.6], cumulative: [0.9, 0.9], population: [0.95, 0.95] })).verdict).toBe('not reproduced');
  });
  it('inconclusive: 1–3 pp below', () => expect(claim10.verdict(m({ batch: [null, 0.95], 'ema:0.9': [0.93, 0.93], 'ema:0.999': [0.6, 0.6], cumulative: [0.9, 0.9], population: [0.95, 0.95] })).verdict).toBe('inconclusive'));
  it('says batch statistics cannot run at batch 1', () =>
    expect(claim10.verdict(m({ batch: [null, 0.95], 'ema:0.9': [0.945, 0.945], 'ema:0.999': [0.6, 0.6], cumulative: [0.9, 0.9], population: [0.95, 0.95] })).evidence).toMatch(/batch statistics cannot run/));
});
