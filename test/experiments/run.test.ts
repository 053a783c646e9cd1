import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../cli/dist.js';
import * as vl from 'vega-lite';
import { nn } from '../../src/index.js';
import { CLAIMS, claimById, claimConfig } from '../../experiments/claims.js';
import { linearWeights, normMlp, type ClaimEvent, type SeededConfig } from '../../experiments/common.js';
import { RowRnnClassifier, CLAIM9_NORMS, type Claim9Metrics } from '../../experiments/claim9.js';
import type { Claim1Metrics } from '../../experiments/claim1.js';
import type { Claim2Metrics } from '../../experiments/claim2.js';
import type { Claim3Metrics } from '../../experiments/claim3.js';
import type { Claim7Metrics } from '../../experiments/claim7.js';
import type { Claim8Metrics } from '../../experiments/claim8.js';
import type { Claim10Metrics } from '../../experiments/claim10.js';

/*
 * Every experiment end to end in its tiny configuration: it runs, reports progress within its total and
 * metric records, its verdict is one of the three with evidence, and its charts compile as Vega-Lite.
 * Plus the properties the report relies on: identical starting weights across arms and reproducibility.
 */

// Claim 8's SyncBN ranks are plain Node worker threads: they load the build under dist/.
beforeAll(() => { ensureBuilt(); }, 300_000);

async function runTiny(id: number, over: Partial<SeededConfig> = {}) {
  const claim = claimById(id);
  const cfg = { ...claimConfig(claim, { tiny: true }), ...over };
  const events: ClaimEvent[] = [];
  const metrics = await claim.run(cfg, (e) => events.push(e));
  return { claim, cfg, metrics, events };
}

describe('the claims registry', () => {
  it('holds claims 1–10 in order, each with a rule, defaults and tiny settings', () => {
    expect(CLAIMS.map((c) => c.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const c of CLAIMS) {
      expect(c.rule).toMatch(/Reproduced/);
      expect(c.rule).toMatch(/Not reproduced/);
      expect(c.rule).toMatch(/Inconclusive/);
      expect(c.defaults.seeds).toBeGreaterThanOrEqual(1);
    }
    expect(() => claimById(11)).toThrow(/no claim 11/);
    expect(claimConfig(claimById(2), { seeds: 4 }).seeds).toBe(4);
    expect(() => claimConfig(claimById(2), { full: true, tiny: true })).toThrow(/full and tiny/);
  });
});

describe.each(CLAIMS.map((c) => c.id))('claim %i end to end (tiny)', (id) => {
  it('runs, reports progress and metrics, decides a verdict and draws its charts', async () => {
    const { claim, cfg, metrics, events } = await runTiny(id);
    const progress = events.filter((e) => e.type === 'progress');
    for (const p of progress) if (p.type === 'progress') { expect(p.done).toBeLessThanOrEqual(claim.total(cfg)); expect(p.total).toBe(claim.total(cfg)); }
    expect(events.some((e) => e.type === 'metric')).toBe(true);
    const v = claim.verdict(metrics);
    expect(['reproduced', 'not reproduced', 'inconclusive']).toContain(v.verdict);
    expect(v.evidence.length).toBeGreaterThan(20);
    expect(v.evidence).not.toMatch(/NaN|undefined/);
    const charts = claim.charts(metrics);
    expect(charts.length).toBeGreaterThan(0);
    for (const c of charts) expect(() => vl.compile(c.spec as unknown as vl.TopLevelSpec)).not.toThrow();
    // The metrics are plain data (they cross a worker boundary and go into the report).
    expect(structuredClone(metrics)).toEqual(metrics);
  });
});

describe('claim specifics (tiny)', () => {
  it('claim 1: both arms per seed, an evaluation every evalEvery steps', async () => {
    const { cfg, metrics } = await runTiny(1);
    const m = metrics as Claim1Metrics;
    expect(m.runs.map((r) => r.seed)).toEqual([cfg.seed, cfg.seed + 1]);
    for (const r of m.runs) expect(r.bn.evals.map((e) => e.step)).toEqual([0, 10, 20]);
  });

  it('claim 2: a gradient norm for every Linear layer at step 1', async () => {
    const { metrics } = await runTiny(2);
    const m = metrics as Claim2Metrics;
    for (const r of m.runs) expect(r.grads.filter((g) => g.step === 1).map((g) => g.layer)).toEqual([1, 2, 3, 4]);
  });

  it('claim 3: reproducible from its config and seed', async () => {
    const a = (await runTiny(3)).metrics as Claim3Metrics, b = (await runTiny(3)).metrics as Claim3Metrics;
    expect(a.runs).toEqual(b.runs);
    expect(a.runs.length).toBe(4);
  });

  it('claim 7: the folded model gives the same outputs and every BN is folded', async () => {
    const m = (await runTiny(7)).metrics as Claim7Metrics;
    expect(m.models[0]).toMatchObject({ model: 'mlp', folded: 3, kept: 0, bnLayers: 3 });
    expect(m.models[0].maxAbsDiff).toBeLessThanOrEqual(1e-4 * Math.max(1, m.models[0].maxAbsOutput));
    expect(m.timings.map((t) => t.batch)).toEqual([1, 8]);
  });

  it('claim 8: every arm at every batch size, the same samples seen, lr scaled with the batch', async () => {
    const m = (await runTiny(8)).metrics as Claim8Metrics;
    const ran = m.config.arms.filter((a) => !m.pending.some((p) => p.arm === a));
    expect(m.runs.length).toBe(ran.length * m.config.batchSizes.length);
    for (const r of m.runs) {
      const global = r.arm === 'sync' ? 2 * r.batch : r.batch;
      expect(r.steps).toBe(Math.floor(m.config.samples / global));
      expect(r.lr).toBeCloseTo((m.config.lr32 * global) / 32, 12);
    }
  });

  it('claim 8: SyncBN over 2 workers at per-worker batch b trains exactly as BatchNorm at batch 2b', async () => {
    const m = (await runTiny(8, { arms: ['bn', 'sync'], batchSizes: [2, 4, 8], samples: 96 } as Partial<SeededConfig>)).metrics as Claim8Metrics;
    expect(m.pending).toEqual([]);
    const acc = (arm: string, batch: number) => m.runs.find((r) => r.arm === arm && r.batch === batch)!.finalAccuracy;
    expect(acc('sync', 2)).toBeCloseTo(acc('bn', 4), 2);
    expect(acc('sync', 4)).toBeCloseTo(acc('bn', 8), 2);
  });

  it('claim 9: every normalization and clipping arm', async () => {
    const m = (await runTiny(9)).metrics as Claim9Metrics;
    expect(m.runs.length).toBe(m.config.norms.length * m.config.clips.length);
  });

  it('claim 10: identical weights across the statistics variants; batch statistics refuse a test batch of 1', async () => {
    const m = (await runTiny(10)).metrics as Claim10Metrics;
    expect(m.identicalWeights).toEqual([true]);
    const at1 = m.results.find((r) => r.method === 'batch' && r.testBatch === 1)!;
    expect(at1.accuracy).toBeNull();
    expect(at1.error).toMatch(/more than 1 value per channel/);
    const pop = m.results.filter((r) => r.method === 'population').map((r) => r.accuracy);
    expect(pop[0]).toBe(pop[1]); // running statistics: the answer does not depend on the test batch
  });
});

describe('identical starting weights across arms', () => {
  it('normMlp: the same Linear weights whatever the normalization', () => {
    const arms = [null, (w: number) => new nn.BatchNorm1d(w), (w: number) => new nn.LayerNorm(w), (w: number) => new nn.GroupNorm(2, w)];
    const nets = arms.map((norm) => normMlp({ inputs: 6, hidden: [4, 4], classes: 3, activation: 'relu', norm, seed: 7 }));
    const lin = nets.map((n) => linearWeights(n).map(({ name }) => Array.from([...n.namedParameters()].find(([k]) => k === name)![1].data)));
    for (const l of lin) expect(l).toEqual(lin[0]);
    expect(lin[0][0].length).toBe(24);
    const other = normMlp({ inputs: 6, hidden: [4, 4], classes: 3, activation: 'relu', norm: null, seed: 8 });
    expect(Array.from(other.parameters()[0].data)).not.toEqual(lin[0][0]);
  });

  it('claim 9: the same RNN and head weights for every cell normalization', () => {
    const nets = CLAIM9_NORMS.map((norm) => new RowRnnClassifier(8, norm, 3));
    for (const n of nets) {
      expect(Array.from(n.rnn.weightIhL0.data)).toEqual(Array.from(nets[0].rnn.weightIhL0.data));
      expect(Array.from(n.rnn.weightHhL0.data)).toEqual(Array.from(nets[0].rnn.weightHhL0.data));
      expect(Array.from(n.head.weight.data)).toEqual(Array.from(nets[0].head.weight.data));
    }
  });
});
