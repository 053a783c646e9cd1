import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { data, getRngState, io, manualSeed, models, nn, optim, randn, train, type Tensor } from '../../src/index.js';

/*
 * Exact resume: N steps uninterrupted equal k steps → checkpoint → fresh, differently seeded objects →
 * restore → N − k steps, bit for bit (losses, parameters, BN buffers, optimizer state, loader, RNG).
 * The loss adds noise from the global generator (as dropout would), so the RNG state matters too.
 */

type OptName = 'sgd' | 'adam';
const N = 40;

function build(seed: number, opt: OptName) {
  const ds = data.syntheticDataset({ n: 200, features: 10, classes: 4, seed: 3 }); // the same data in every run
  const model = models.mlp({ inputs: 10, hidden: [16, 16], classes: 4, norm: 'batch', seed });
  const loader = new data.DataLoader(ds, { batchSize: 32, shuffle: true, dropLast: true, seed }); // 6 batches per epoch
  const optimizer = opt === 'sgd'
    ? new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4 })
    : new optim.Adam(model.parameters(), { lr: 0.01, weightDecay: 1e-4, amsgrad: true });
  const scheduler = new optim.StepLR(optimizer, { stepSize: 7, gamma: 0.7 });
  const loss = (out: Tensor, y: Int32Array) => nn.functional.crossEntropy(out.add(randn(out.shape).mul(0.05)), y);
  const trainer = new train.Trainer({ model, optimizer, scheduler, data: loader, loss, recordGradNorms: true });
  return { model, optimizer, scheduler, loader, trainer };
}

const hex = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

/** The whole training state, bit for bit. */
function state(s: ReturnType<typeof build>): string {
  return JSON.stringify({
    model: Object.entries(s.model.stateDict()).map(([k, t]) => [k, t.dtype, hex(t.data)]),
    optimizer: s.optimizer.stateDict(), lr: s.optimizer.lr, scheduler: s.scheduler.stateDict(), loader: s.loader.stateDict(),
    rng: getRngState(), step: s.trainer.step,
  }, (_, v: unknown) => (ArrayBuffer.isView(v) ? hex(v) : v));
}

/** Losses (as exact bit patterns) and gradient norms of steps up to `until`. */
function runTo(s: ReturnType<typeof build>, until: number, log: { losses: number[]; norms: string[] }): void {
  s.trainer.run(until, { onStep: (r) => { log.losses.push(r.loss); log.norms.push(JSON.stringify(r.gradNorms)); } });
}

function uninterrupted(opt: OptName) {
  manualSeed(123);
  const s = build(1, opt);
  const log = { losses: [] as number[], norms: [] as string[] };
  runTo(s, N, log);
  return { log, final: state(s) };
}

describe('Trainer: exact resume from a checkpoint', () => {
  for (const opt of ['sgd', 'adam'] as const) {
    const ref = uninterrupted(opt);

    it(`${opt}: the uninterrupted run learns (loss falls) and is itself reproducible`, () => {
      const first = ref.log.losses.slice(0, 6).reduce((a, b) => a + b) / 6, last = ref.log.losses.slice(-6).reduce((a, b) => a + b) / 6;
      expect(last).toBeLessThan(0.7 * first);
      expect(uninterrupted(opt).final).toBe(ref.final);
    });

    for (const k of [20, 18]) { // 20: mid-epoch (3 epochs + 2 batches); 18: exactly at an epoch boundary
      it(`${opt}: ${k} steps, checkpoint through a file, restore into new objects, ${N - k} more = ${N} uninterrupted steps, bit for bit`, async () => {
        manualSeed(123);
        const first = build(1, opt);
        const log = { losses: [] as number[], norms: [] as string[] };
        runTo(first, k, log);
        const dir = await mkdtemp(join(tmpdir(), 'normlab-resume-'));
        try {
          await io.writeFileAtomic(join(dir, 'ckpt.safetensors'), first.trainer.checkpoint({ k }));
          // a different process, in effect: another global seed, other weights, another loader seed, another lr
          manualSeed(555);
          randn([7]);
          const second = build(2, opt);
          second.optimizer.lr = 3;
          expect(state(second)).not.toBe(state(first));
          const extra = second.trainer.restore(await io.readFileBytes(join(dir, 'ckpt.safetensors')));
          expect(extra).toEqual({ k });
          expect(second.trainer.step).toBe(k);
          expect(state(second)).toBe(state(first));
          runTo(second, N, log);
          expect(log.losses.length).toBe(N);
          log.losses.forEach((l, i) => { if (!Object.is(l, ref.log.losses[i])) expect.fail(`step ${i + 1}: loss ${l} vs ${ref.log.losses[i]} uninterrupted`); });
          expect(log.norms).toEqual(ref.log.norms);
          expect(state(second)).toBe(ref.final);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });
    }

    it(`${opt}: controls — restoring the model alone, or everything but the RNG, does not reproduce the run`, () => {
      manualSeed(123);
      const first = build(1, opt);
      first.trainer.run(20);
      const bytes = first.trainer.checkpoint();
      const modelOnly = first.model.stateDict();

      manualSeed(555);
      const a = build(2, opt);
      a.model.loadStateDict(modelOnly);
      a.trainer.step = 20;
      const la = { losses: [] as number[], norms: [] as string[] };
      runTo(a, N, la);
      expect(la.losses).not.toEqual(ref.log.losses.slice(20));

      const b = build(2, opt);
      b.trainer.restore(bytes);
      manualSeed(555); // the global generator is not the saved one
      const lb = { losses: [] as number[], norms: [] as string[] };
      runTo(b, N, lb);
      expect(lb.losses).not.toEqual(ref.log.losses.slice(20));
    });
  }

  it('a failed restore leaves the trainer (step and all state) as it was', () => {
    manualSeed(1);
    const s = build(1, 'sgd');
    s.trainer.run(5);
    const bytes = s.trainer.checkpoint();
    const other = build(1, 'adam');
    other.trainer.run(3);
    const otherBefore = state(other);
    expect(() => other.trainer.restore(bytes)).toThrow(/^checkpoint: does not match what it is restored into: Adam.loadStateDict: the state is from SGD/);
    expect(state(other)).toBe(otherBefore);
    expect(other.trainer.step).toBe(3);
  });
});

describe('Trainer.run', () => {
  it('calls onEval every `every` steps and at the last step; a callback returning false stops', () => {
    manualSeed(0);
    const s = build(1, 'sgd');
    const evals: number[] = [];
    s.trainer.run(25, { every: 10, onEval: (step) => { evals.push(step); } });
    expect(evals).toEqual([10, 20, 25]);
    expect(s.trainer.step).toBe(25);
    s.trainer.run(40, { onStep: (r) => r.step < 30 });
    expect(s.trainer.step).toBe(30);
    s.trainer.run(10); // already past: nothing happens
    expect(s.trainer.step).toBe(30);
  });

  it('a finite source that runs out is an error that says so', () => {
    const model = models.mlp({ inputs: 2, hidden: [3], classes: 2, seed: 0 });
    const x = randn([4, 2]);
    const source = { batches: () => [{ x, y: new Int32Array([0, 1, 0, 1]) }][Symbol.iterator](), stateDict: () => ({}), loadStateDict: () => {} };
    const t = new train.Trainer({ model, optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }), data: source });
    t.trainStep();
    expect(() => t.trainStep()).toThrow(/Trainer: the data source ran out of batches/);
  });
});
