import { describe, expect, it } from 'vitest';
import { distributed, manualSeed, nn, randn, Rng, tensor, type Tensor } from '../../src/index.js';

// SyncBatchNorm over 2 and 3 ranks against BatchNorm over the concatenated batch, in float64 (the ranks run the
// js backend). Rank modules: see launch.test.ts.
const RUN = new URL('./ranks/run-ts.mjs', import.meta.url);


interface Case {
  shape: number[]; C: number; options: Record<string, unknown>;
  batches: { x: number[]; dy: number[]; sizes: number[]; weight: number[]; bias: number[] }[];
}
interface RankOut {
  steps: { y: number[]; dx: number[]; dweight: number[] | null; dbias: number[] | null }[];
  runningMean: number[] | null; runningVar: number[] | null; tracked: number | null;
}

/** Random batches; channel `constant` holds one value, channel `offset` sits at 1e4. */
function makeCase(seed: number, shape: number[], sizesPerBatch: number[][], options: Record<string, unknown> = {}, special: { constant?: number; offset?: number } = {}): Case {
  const rng = new Rng(seed), C = shape[0], S = shape.slice(1).reduce((p, d) => p * d, 1);
  const per = shape.reduce((p, d) => p * d, 1);
  const batches = sizesPerBatch.map((sizes) => {
    const N = sizes.reduce((p, n) => p + n, 0);
    const x = Array.from({ length: N * per }, (_, i) => {
      const c = Math.floor(i / S) % C;
      if (c === special.constant) return 3.7;
      return rng.normal() * 2 + 0.5 + (c === special.offset ? 1e4 : 0);
    });
    const dy = Array.from({ length: N * per }, () => rng.normal());
    const weight = Array.from({ length: C }, () => 1 + 0.5 * rng.normal()), bias = Array.from({ length: C }, () => rng.normal());
    return { x, dy, sizes, weight, bias };
  });
  return { shape, C, options, batches };
}

/** The reference: BatchNorm over each whole batch (the concatenation of the ranks' slices). */
function reference(c: Case) {
  const bn = c.shape.length === 3 ? new nn.BatchNorm2d(c.C, { ...c.options, dtype: 'float64' }) : new nn.BatchNorm1d(c.C, { ...c.options, dtype: 'float64' });
  const steps = c.batches.map(({ x, dy, sizes, weight, bias }) => {
    if (bn.weight) { bn.weight.data.set(weight); bn.bias!.data.set(bias); }
    const N = sizes.reduce((p, n) => p + n, 0);
    const xs = tensor(Float64Array.from(x), [N, ...c.shape], { dtype: 'float64', requiresGrad: true });
    const y = bn.forward(xs);
    y.backward(tensor(Float64Array.from(dy), [N, ...c.shape], { dtype: 'float64' }));
    const r = { y: [...y.data], dx: [...xs.grad!.data], dweight: bn.weight ? [...bn.weight.grad!.data] : null, dbias: bn.bias ? [...bn.bias.grad!.data] : null };
    bn.zeroGrad();
    return r;
  });
  return { steps, runningMean: bn.runningMean ? [...bn.runningMean.data] : null, runningVar: bn.runningVar ? [...bn.runningVar.data] : null, tracked: bn.numBatchesTracked?.item() ?? null };
}

/** Largest |a − b| relative to the reference's largest magnitude (at least 1). */
function relErr(a: readonly number[], b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  const scale = Math.max(1, ...b.map(Math.abs));
  return Math.max(0, ...a.map((v, i) => Math.abs(v - b[i]))) / scale;
}

const sumOver = (xs: (number[] | null)[]) => xs[0]!.map((_, i) => xs.reduce((s, v) => s + v![i], 0));

/** Launch the ranks, compare with the reference, return the errors. */
async function check(c: Case, worldSize: number) {
  const ranks = await distributed.launch<RankOut>(worldSize, RUN, { rank: './syncbn.ts', ...c });
  const ref = reference(c);
  const errs = { y: 0, dx: 0, dparams: 0, running: 0 };
  c.batches.forEach((_, s) => {
    errs.y = Math.max(errs.y, relErr(ranks.flatMap((r) => r.steps[s].y), ref.steps[s].y));
    errs.dx = Math.max(errs.dx, relErr(ranks.flatMap((r) => r.steps[s].dx), ref.steps[s].dx));
    if (ref.steps[s].dweight) {
      errs.dparams = Math.max(errs.dparams, relErr(sumOver(ranks.map((r) => r.steps[s].dweight)), ref.steps[s].dweight!));
      errs.dparams = Math.max(errs.dparams, relErr(sumOver(ranks.map((r) => r.steps[s].dbias)), ref.steps[s].dbias!));
    } else expect(ranks.every((r) => r.steps[s].dweight === null)).toBe(true);
  });
  for (const r of ranks) {
    // every rank holds bitwise the same running statistics (merged in rank order on each)
    expect(r.runningMean).toEqual(ranks[0].runningMean);
    expect(r.runningVar).toEqual(ranks[0].runningVar);
    expect(r.tracked).toBe(ref.tracked);
  }
  if (ref.runningMean) {
    errs.running = Math.max(relErr(ranks[0].runningMean!, ref.runningMean), relErr(ranks[0].runningVar!, ref.runningVar!));
  } else expect(ranks[0].runningMean).toBeNull();
  return { ranks, ref, errs };
}

/**
 * The float64 tolerance a case's data allows: 16 ulp of 1 times κ = max over (batch, channel) of max|x| / σ.
 * Any float64 BN computes x − μ with an error of about u·|x|, i.e. u·|x|/σ relative to σ (κ ≈ 4 for the plain
 * cases, so 1.4e-14; ≈ 5000 for the channel offset by 1e4); the constant channel (σ = 0) is checked exactly.
 */
function tolerance(c: Case): number {
  let kappa = 1;
  const S = c.shape.slice(1).reduce((p, d) => p * d, 1);
  for (const { x, sizes } of c.batches) {
    const N = sizes.reduce((p, n) => p + n, 0);
    for (let ch = 0; ch < c.C; ch++) {
      const v: number[] = [];
      for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) v.push(x[(n * c.C + ch) * S + s]);
      const m = v.reduce((p, a) => p + a, 0) / v.length, sd = Math.sqrt(v.reduce((p, a) => p + (a - m) ** 2, 0) / v.length);
      if (sd > 0) kappa = Math.max(kappa, Math.max(...v.map(Math.abs)) / sd);
    }
  }
  return 16 * Number.EPSILON * kappa;
}

describe('SyncBatchNorm over ranks equals BatchNorm over the concatenated batch (float64)', () => {
  it('2 ranks, [N, C], equal slices, two batches (default options)', async () => {
    const c = makeCase(1, [3], [[4, 4], [5, 5]]);
    const { errs } = await check(c, 2);
    for (const e of Object.values(errs)) expect(e).toBeLessThan(tolerance(c));
  });

  it('3 ranks, [N, C, H, W], unequal slices (one sample on a rank), a constant channel and one offset by 1e4; momentum 0.7, biased running variance', async () => {
    const c = makeCase(2, [3, 2, 2], [[5, 1, 2], [2, 3, 4]], { momentum: 0.7, unbiasedRunningVar: false }, { constant: 1, offset: 2 });
    const { ranks, errs } = await check(c, 3);
    for (const e of Object.values(errs)) expect(e).toBeLessThan(tolerance(c));
    // the constant channel: x − μ is exactly 0, so y is exactly β and the variance exactly 0
    for (const [s, b] of c.batches.entries()) {
      const ys = ranks.flatMap((r) => r.steps[s].y);
      for (let i = 0; i < ys.length; i++) if (Math.floor(i / 4) % 3 === 1) expect(ys[i]).toBe(b.bias[1]);
    }
    expect(ranks[0].runningVar![1]).toBe(0.7 * 0.7); // two updates toward 0 from 1
    expect(ranks[0].runningMean![1]).toBeCloseTo(3.7 * (1 - 0.49), 14);
  });

  it('3 ranks, [N, C, L], cumulative running statistics, no affine, slices [1, 1, 1] then [2, 3, 1]', async () => {
    const c = makeCase(3, [2, 3], [[1, 1, 1], [2, 3, 1], [3, 3, 3]], { runningStats: 'cumulative', affine: false });
    const { errs } = await check(c, 3);
    for (const e of Object.values(errs)) expect(e).toBeLessThan(tolerance(c));
  });

  it("2 ranks, [N, C] with one sample on a rank, runningStats 'none'", async () => {
    const c = makeCase(4, [4], [[3, 1]], { runningStats: 'none' });
    const { errs } = await check(c, 2);
    for (const e of Object.values(errs)) expect(e).toBeLessThan(tolerance(c));
  });

  it('is deterministic: the same bits on every run', async () => {
    const c = makeCase(5, [3, 2, 2], [[5, 1, 2]], {}, { constant: 0 });
    const a = await distributed.launch(3, RUN, { rank: './syncbn.ts', ...c }), b = await distributed.launch(3, RUN, { rank: './syncbn.ts', ...c });
    expect(b).toEqual(a);
  });

  it('an empty slice on a rank is an error naming the rank and the shape', async () => {
    await expect(distributed.launch(2, RUN, { rank: './syncbn.ts', ...makeCase(6, [2], [[2, 0]]) })).rejects.toThrow('rank 1: SyncBatchNorm(2): rank 1 has an empty batch (input shape [0, 2])');
  });
});

describe('SyncBatchNorm in one process (world size 1)', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    it(`is exactly BatchNorm (${dtype}): outputs, gradients, running statistics, eval and frozen statistics`, () => {
      manualSeed(7);
      const bn = new nn.BatchNorm2d(3, { dtype, momentum: 0.8 }), sbn = new nn.SyncBatchNorm(3, { dtype, momentum: 0.8 });
      const x = randn([4, 3, 2, 2], { dtype }), dy = randn([4, 3, 2, 2], { dtype });
      const run = (m: nn.BatchNorm) => {
        const xs = x.detach();
        xs.requiresGrad = true;
        const y = m.forward(xs);
        y.backward(dy);
        return [y.toArray(), xs.grad!.toArray(), m.weight!.grad!.toArray(), m.runningVar!.toArray()];
      };
      expect(run(sbn)).toEqual(run(bn));
      bn.eval(); sbn.eval();
      expect(run(sbn)).toEqual(run(bn));
      bn.train().freezeStats(); sbn.train().freezeStats();
      expect(run(sbn)).toEqual(run(bn));
    });
  }

  it('takes every BatchNorm option and refuses ghost batches and renorm', () => {
    const s = new nn.SyncBatchNorm(4, { eps: 1e-3, momentum: 0.95, runningStats: 'cumulative', unbiasedRunningVar: false, affine: false, dtype: 'float64' });
    expect([s.eps, s.momentum, s.runningStats, s.unbiasedRunningVar, s.affine, s.weight, s.runningMean!.dtype]).toEqual([1e-3, 0.95, 'cumulative', false, false, null, 'float64']);
    expect(() => new nn.SyncBatchNorm(4, { virtualBatchSize: 2 } as never)).toThrow(/SyncBatchNorm: virtualBatchSize/);
    expect(() => new nn.SyncBatchNorm(4, { renorm: { rMax: 3, dMax: 5 } } as never)).toThrow(/SyncBatchNorm: renorm/);
    expect(() => { new nn.SyncBatchNorm(4).renorm = { rMax: 3, dMax: 5 }; }).toThrow(/SyncBatchNorm: renorm/);
    expect(() => new nn.SyncBatchNorm(0)).toThrow(/numFeatures/);
    expect(() => new nn.SyncBatchNorm(2).forward(randn([1, 2]))).toThrow(/more than 1 value per channel/);
  });
});

describe('SyncBatchNorm.convert', () => {
  it('replaces every BatchNorm1d/2d (registered children, properties, arrays), keeping the very tensors, options and mode', () => {
    class Net extends nn.Module {
      bn = new nn.BatchNorm2d(3, { momentum: 0.6, eps: 1e-4 });
      list = [new nn.Linear(2, 2), new nn.BatchNorm1d(2, { runningStats: 'cumulative' })];
      seq = new nn.Sequential(new nn.Linear(2, 4), new nn.BatchNorm1d(4, { affine: false }), new nn.ReLU());
      forward(x: Tensor) { return x; }
    }
    const net = new Net();
    net.seq.eval();
    (net.list[1] as nn.BatchNorm1d).freezeStats();
    const before = net.stateDict(), params = net.parameters();
    const keys = Object.keys(before);
    expect(nn.SyncBatchNorm.convert(net)).toBe(net);
    expect(net.bn).toBeInstanceOf(nn.SyncBatchNorm);
    expect(net.list[1]).toBeInstanceOf(nn.SyncBatchNorm);
    const inSeq = net.seq.children()[1] as nn.SyncBatchNorm;
    expect(inSeq).toBeInstanceOf(nn.SyncBatchNorm);
    expect(net.modules().filter((m) => m instanceof nn.BatchNorm1d || m instanceof nn.BatchNorm2d)).toEqual([]);
    expect(Object.keys(net.stateDict())).toEqual(keys);
    expect(net.parameters()).toEqual(params);
    params.forEach((p, i) => expect(p).toBe(net.parameters()[i]));
    const bn = net.bn as unknown as nn.SyncBatchNorm;
    expect([bn.momentum, bn.eps, bn.training]).toEqual([0.6, 1e-4, true]);
    expect([inSeq.affine, inSeq.training]).toEqual([false, false]);
    expect((net.list[1] as nn.SyncBatchNorm).statsFrozen).toBe(true);
    expect((net.list[1] as nn.SyncBatchNorm).runningStats).toBe('cumulative');
    // the replaced layer is the one Sequential runs
    let calls = 0;
    inSeq.registerForwardHook(() => { calls++; });
    net.seq.forward(randn([3, 2]));
    expect(calls).toBe(1);
    // a BatchNorm model itself becomes a new SyncBatchNorm
    const root = new nn.BatchNorm1d(5);
    const converted = nn.SyncBatchNorm.convert(root);
    expect(converted).toBeInstanceOf(nn.SyncBatchNorm);
    expect((converted as nn.SyncBatchNorm).weight).toBe(root.weight);
  });

  it('refuses layers with ghost batches or renorm, naming them', () => {
    const m = new nn.Sequential(new nn.Linear(2, 4), new nn.BatchNorm1d(4, { virtualBatchSize: 2 }));
    expect(() => nn.SyncBatchNorm.convert(m)).toThrow(/SyncBatchNorm.convert: 1 uses virtualBatchSize 2/);
  });
});
