import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBackend, getNumThreads, manualSeed, models, nn, optim, rand, setBackend, setNumThreads, tensor, wasmSupported } from '../../src/index.js';
import type { KernelPool } from '../../src/kernels/wasm/pool.js';

/**
 * Issue 9: kernels on every core. Results must be bitwise the same whatever the number of threads (each
 * kernel splits its work without dividing a reduction between parts, or over a fixed partition); a worker's
 * failure is an error in the caller; worker threads never keep a process alive.
 */
const pool = () => (getBackend() as unknown as { pool: KernelPool }).pool;
const waitReady = async (n: number) => { for (let i = 0; i < 200 && pool().ready < n; i++) await new Promise((r) => setTimeout(r, 10)); };

describe.skipIf(!wasmSupported())('kernel threads', () => {
  let before = '', threadsBefore = 1;
  beforeAll(() => { before = getBackend().name; threadsBefore = getNumThreads(); setBackend('wasm'); });
  afterAll(() => { setNumThreads(threadsBefore); setBackend(before); });

  /** A few SGD steps of `make()` on fixed batches; every loss and every parameter after the last step. */
  function train(make: () => nn.Module, batch: number, features: number, steps: number) {
    manualSeed(7);
    const model = make();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const xs = Array.from({ length: steps }, () => rand([batch, features]));
    const y = Int32Array.from({ length: batch }, (_, i) => i % 10);
    const losses: number[] = [];
    for (const x of xs) {
      const loss = nn.functional.crossEntropy(model.forward(x), y);
      opt.zeroGrad(); loss.backward(); opt.step();
      losses.push(loss.item());
    }
    return { losses, params: model.parameters().map((p) => Array.from(p.data)) };
  }

  const workloads: [string, () => ReturnType<typeof train>][] = [
    ['paper MLP with BN (batch 60)', () => train(() => models.mlp({ norm: 'batch', seed: 3 }), 60, 784, 4)],
    ['small CNN (batch 24)', () => train(() => models.cnn(), 24, 784, 3)],
  ];
  for (const [name, run] of workloads) {
    it(`${name}: 1 and 2 threads give bitwise the same losses and parameters, and workers did take parts`, async () => {
      setNumThreads(1);
      const one = run();
      setNumThreads(2);
      await waitReady(1);
      // Which thread runs a part is up to timing: on a loaded machine a worker may get no core during one run, so
      // runs repeat (each compared) until a worker took parts, at most 20 times.
      const taken = pool().counters.workerParts;
      for (let r = 0; r < 20 && pool().counters.workerParts === taken; r++) {
        const two = run();
        expect(two.losses).toEqual(one.losses);
        two.params.forEach((p, i) => { for (let j = 0; j < p.length; j++) if (!Object.is(p[j], one.params[i][j])) expect.fail(`${name}: parameter ${i}[${j}]: ${p[j]} with 2 threads, ${one.params[i][j]} with 1`); });
      }
      expect(pool().counters.workerParts, 'parts run by a worker thread').toBeGreaterThan(taken);
    }, 60_000);
  }

  it('every normalization layout gives bitwise the same output and gradients with 1 and 2 threads', async () => {
    const cases: [string, () => nn.Module, number[]][] = [
      ['BatchNorm2d', () => new nn.BatchNorm2d(16), [8, 16, 24, 24]],
      ['BatchNorm1d features', () => new nn.BatchNorm1d(300), [256, 300]],
      ['ghost BatchNorm1d', () => new nn.BatchNorm1d(300, { virtualBatchSize: 64 }), [256, 300]],
      ['GroupNorm', () => new nn.GroupNorm(4, 16), [8, 16, 24, 24]],
      ['InstanceNorm2d', () => new nn.InstanceNorm2d(16, { affine: true }), [8, 16, 24, 24]],
      ['LayerNorm rows', () => new nn.LayerNorm(512), [300, 512]],
    ];
    const run = (make: () => nn.Module, shape: number[]) => {
      manualSeed(3);
      const m = make();
      const x = rand(shape, { requiresGrad: true }), dy = rand(shape);
      const y = m.forward(x);
      y.backward(dy);
      return [y, x.grad!, ...m.parameters().map((p) => p.grad!)].map((t) => Array.from(t.data));
    };
    const workerPartsBefore = pool().counters.workerParts;
    for (const [name, make, shape] of cases) {
      setNumThreads(1);
      const one = run(make, shape);
      setNumThreads(2);
      await waitReady(1);
      const before = pool().counters.parts;
      const two = run(make, shape);
      // Split into parts (which thread runs a part is up to timing: small ones may all go to the caller).
      expect(pool().counters.parts, `${name}: parallel parts`).toBeGreaterThan(before);
      two.forEach((a, i) => { for (let j = 0; j < a.length; j++) if (!Object.is(a[j], one[i][j])) expect.fail(`${name}: output ${i}[${j}]: ${a[j]} with 2 threads, ${one[i][j]} with 1`); });
    }
    expect(pool().counters.workerParts, 'parts run by a worker over all layouts').toBeGreaterThan(workerPartsBefore);
  }, 60_000);

  it("a worker's failure surfaces as an error in the caller, and the pool keeps working", async () => {
    setNumThreads(2);
    await waitReady(1);
    const p = pool();
    // fill_f32 far past the end of memory traps (out of bounds) in whichever thread takes the part.
    expect(() => p.run('fill_f32', 8, 3, (i, A, o) => A.set([2 ** 31 + i * 16, 4, 1], o))).toThrow(/out of bounds|memory access/);
    expect(tensor([1, 2, 3]).mul(2).toArray()).toEqual([2, 4, 6]);
    expect(() => p.run('fill_f32', 2, 3, (i, A, o) => A.set([0, 0, 0], o), { arg: 5, base: 64, stride: 64 })).toThrow(/work area argument 5/);
  });

  it('setNumThreads checks its argument', () => {
    expect(() => setNumThreads(0)).toThrow(/setNumThreads: expected an integer in \[1, 65\], got 0/);
    expect(() => setNumThreads(1.5)).toThrow(/got 1.5/);
  });

  it('a process using threads exits when its work is done', () => {
    const entry = join(__dirname, '../../dist/src/index.js');
    const code = `const m = await import(${JSON.stringify(entry)}); m.setNumThreads(2);
      await new Promise((r) => setTimeout(r, 100));
      const x = m.rand([256, 256]); console.log(x.matmul(x).sum().item() > 0 ? 'done' : 'bad');`;
    const t0 = Date.now();
    const env: Record<string, string | undefined> = { ...process.env, NORMLAB_BACKEND: 'wasm' };
    delete env.NORMLAB_WASM_BUILD; // the child runs without engine flags: whichever build it validates
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000, env });
    expect(out.trim()).toBe('done');
    expect(Date.now() - t0).toBeLessThan(15_000);
  });
});
