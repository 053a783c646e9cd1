import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { Rng, nn, tensor, type DType } from '../../src/index.js';
import { RefBatchNorm, refLayout, type RefOptions, type RefRunningStats } from '../helpers/reference.js';

/*
 * Tier (c), randomized: fresh shapes and options every case, normlab (float64 and float32) held to the naive
 * float64 reference of test/helpers/reference.ts over several training steps and then evaluation.
 * Seeded, so a failing case reproduces; the label names the case and its configuration.
 */

const SEED = 1502_03167;
const CASES = 200;

// |got − ref| ≤ tol·(mag + |ref|), mag = the reference's sum of |terms| (see reference.ts): the rounding-error
// bound of a sum whose terms may cancel. tol is a modest multiple of the unit roundoff u: 2e-14 ≈ 180u (float64:
// sums of up to 625 terms), 1e-6 ≈ 17u (float32: a few roundings per value). Measured worst: about 22u and 2.5u.
const TOL: Record<DType, number> = { float64: 2e-14, float32: 1e-6 };
const U: Record<DType, number> = { float64: 2 ** -53, float32: 2 ** -24 };

/** Worst |got − ref|/(mag + |ref|) seen, in units of u. */
const worst: Record<DType, number> = { float64: 0, float32: 0 };

function check(got: ArrayLike<number>, ref: ArrayLike<number>, mag: ArrayLike<number>, dtype: DType, label: string): void {
  expect(got.length, `${label}: length`).toBe(ref.length);
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(got[i] - ref[i]), bound = mag[i] + Math.abs(ref[i]);
    if (bound > 0) worst[dtype] = Math.max(worst[dtype], d / bound / U[dtype]);
    if (!(d <= TOL[dtype] * bound))
      expect.fail(`${label}: element ${i}: got ${got[i]}, reference ${ref[i]} (|diff| ${d}, magnitude ${bound})`);
  }
}

interface Config {
  shape: number[];
  opts: RefOptions;
  trainSteps: number;
  freezeAt: number; // training step from which statistics are frozen (≥ trainSteps: never)
  evalN: number;
  constantChannel: number; // −1: none
}

function randomConfig(rng: Rng): Config {
  const rank = 2 + rng.int(3);
  const spatial = Array.from({ length: rank - 2 }, () => 1 + rng.int(5));
  const S = spatial.reduce((p, d) => p * d, 1);
  // N = 1 only with more than one value per channel (training needs N·S > 1)
  const N = S > 1 ? 1 + rng.int(5) : 2 + rng.int(5);
  const C = 1 + rng.int(5);
  const runningStats = (['ema', 'cumulative', 'none'] as const)[rng.int(3)] as RefRunningStats;
  const u = rng.uniform();
  const momentum = u < 0.05 ? 0 : u < 0.1 ? 1 : rng.uniform();
  const trainSteps = 1 + rng.int(4);
  return {
    shape: [N, C, ...spatial],
    opts: { eps: 10 ** (-8 + 7 * rng.uniform()), momentum, runningStats, unbiasedRunningVar: rng.uniform() < 0.5, affine: rng.uniform() < 0.7 },
    trainSteps,
    freezeAt: runningStats !== 'none' && rng.uniform() < 0.3 ? rng.int(trainSteps) : trainSteps,
    // eval of one sample is fine with running statistics; with 'none' it still uses batch statistics
    evalN: runningStats === 'none' && S === 1 ? 2 + rng.int(3) : 1 + rng.int(4),
    constantChannel: rng.uniform() < 0.1 ? rng.int(C) : -1,
  };
}

/** A batch with per-channel offset and scale (one channel optionally constant). */
function randomBatch(rng: Rng, shape: number[], cfg: Config): number[] {
  const { N, C, S } = refLayout(shape);
  const x = new Array<number>(N * C * S);
  for (let c = 0; c < C; c++) {
    const off = 6 * rng.uniform() - 3, sc = 10 ** (2 * rng.uniform() - 1);
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++)
      x[(n * C + c) * S + s] = c === cfg.constantChannel ? off : off + sc * rng.normal();
  }
  return x;
}

const normals = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.normal());

function makeModule(cfg: Config, dtype: DType): nn.BatchNorm {
  const C = cfg.shape[1], o = cfg.opts;
  const opts = { eps: o.eps, momentum: o.momentum, runningStats: o.runningStats, unbiasedRunningVar: o.unbiasedRunningVar, affine: o.affine, dtype };
  return cfg.shape.length === 4 ? new nn.BatchNorm2d(C, opts) : new nn.BatchNorm1d(C, opts);
}

/** Round to the module's dtype: the reference sees exactly the numbers normlab sees. */
const asDtype = (v: number[], dtype: DType) => Array.from(dtype === 'float32' ? Float32Array.from(v) : Float64Array.from(v));

function step(bn: nn.BatchNorm, ref: RefBatchNorm, x: number[], dy: number[], shape: number[], dtype: DType, label: string): void {
  const xt = tensor(x, shape, { dtype, requiresGrad: true });
  bn.zeroGrad();
  const y = bn.forward(xt);
  const yr = ref.forward(x, shape);
  check(y.data, yr, ref.yMag, dtype, `${label} y`);
  y.backward(tensor(dy, shape, { dtype }));
  const g = ref.backward(dy);
  check(xt.grad!.data, g.dx, g.dxMag, dtype, `${label} dx`);
  if (ref.opts.affine) {
    check(bn.weight!.grad!.data, g.dgamma, g.dgammaMag, dtype, `${label} dγ`);
    check(bn.bias!.grad!.data, g.dbeta, g.dbetaMag, dtype, `${label} dβ`);
  }
  if (ref.runningMean) {
    check(bn.runningMean!.data, ref.runningMean, ref.runningMeanMag!, dtype, `${label} running_mean`);
    check(bn.runningVar!.data, ref.runningVar!, ref.runningVar!.map(() => 0), dtype, `${label} running_var`);
    expect(bn.numBatchesTracked!.item(), `${label} num_batches_tracked`).toBe(ref.numBatchesTracked);
  } else {
    expect(bn.runningMean, `${label} running_mean`).toBeNull();
  }
}

function runCase(k: number, rng: Rng): void {
  const cfg = randomConfig(rng);
  const C = cfg.shape[1];
  const gamma = cfg.opts.affine ? normals(rng, C).map((v) => 1 + 0.5 * v) : null;
  const beta = cfg.opts.affine ? normals(rng, C) : null;
  const batches: { x: number[]; dy: number[]; shape: number[] }[] = [];
  for (let t = 0; t < cfg.trainSteps; t++) {
    const x = randomBatch(rng, cfg.shape, cfg);
    batches.push({ x, dy: normals(rng, x.length), shape: cfg.shape });
  }
  const evalShape = [cfg.evalN, ...cfg.shape.slice(1)];
  const xe = randomBatch(rng, evalShape, cfg);
  for (const dtype of ['float64', 'float32'] as const) {
    const label = `case ${k} (seed ${SEED}) ${dtype} ${JSON.stringify(cfg)}`;
    const bn = makeModule(cfg, dtype), ref = new RefBatchNorm(C, cfg.opts);
    if (gamma && beta) {
      bn.weight!.data.set(gamma); bn.bias!.data.set(beta);
      ref.gamma = asDtype(gamma, dtype); ref.beta = asDtype(beta, dtype);
    }
    batches.forEach((b, t) => {
      if (t === cfg.freezeAt) { bn.freezeStats(true); ref.frozen = true; }
      step(bn, ref, asDtype(b.x, dtype), asDtype(b.dy, dtype), b.shape, dtype, `${label} train step ${t}`);
    });
    bn.freezeStats(false); ref.frozen = false;
    bn.eval(); ref.training = false;
    step(bn, ref, asDtype(xe, dtype), asDtype(normals(rng, xe.length), dtype), evalShape, dtype, `${label} eval`);
  }
}

describe('BatchNorm against the naive float64 reference, random shapes and options', () => {
  let warn: MockInstance;
  beforeAll(() => { warn = vi.spyOn(console, 'warn').mockImplementation(() => {}); });
  afterAll(() => {
    warn.mockRestore();
    console.log(`worst |error|/(magnitude·u) over ${CASES} cases: float64 ${worst.float64.toFixed(2)}, float32 ${worst.float32.toFixed(2)}`);
  });

  it(`${CASES} seeded configurations (rank 2–4, odd sizes, N = 1, all running-stat modes, frozen stats), train then eval`, () => {
    const rng = new Rng(SEED);
    for (let k = 0; k < CASES; k++) runCase(k, rng);
  });

  it('the reference backward agrees with central differences of the reference forward (so it can be trusted)', () => {
    const rng = new Rng(7);
    for (const training of [true, false]) {
      const shape = [3, 2, 4], C = 2;
      const ref = new RefBatchNorm(C, { eps: 1e-3, momentum: 0.9, runningStats: 'ema', unbiasedRunningVar: true, affine: true });
      ref.gamma = [1.3, -0.7]; ref.beta = [0.2, 0.5];
      ref.runningMean = [0.1, -0.2]; ref.runningVar = [0.8, 1.7];
      ref.training = training;
      const x = normals(rng, 24), dy = normals(rng, 24);
      const loss = (xs: number[], g = ref.gamma, b = ref.beta) => {
        const r = new RefBatchNorm(C, ref.opts);
        r.gamma = g; r.beta = b; r.runningMean = [...ref.runningMean!]; r.runningVar = [...ref.runningVar!]; r.training = training;
        return r.forward(xs, shape).reduce((s, v, i) => s + v * dy[i], 0);
      };
      ref.forward(x, shape);
      const { dx, dgamma, dbeta } = ref.backward(dy);
      const h = 1e-6, fd = (f: (d: number) => number) => (f(h) - f(-h)) / (2 * h);
      x.forEach((_, i) => expect(Math.abs(fd((d) => loss(x.map((v, j) => (j === i ? v + d : v)))) - dx[i])).toBeLessThan(1e-7));
      for (let c = 0; c < C; c++) {
        expect(Math.abs(fd((d) => loss(x, ref.gamma.map((v, j) => (j === c ? v + d : v)))) - dgamma[c])).toBeLessThan(1e-7);
        expect(Math.abs(fd((d) => loss(x, ref.gamma, ref.beta.map((v, j) => (j === c ? v + d : v)))) - dbeta[c])).toBeLessThan(1e-7);
      }
    }
  });
});
