import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBackend, keep, memoryStats, nn, optim, randn, scope, setBackend, tensor, wasmSupported, zeros } from '../../src/index.js';
import type { Arr } from '../../src/autograd/index.js';

/** Scopes, keep and dispose on the wasm backend (storage in WebAssembly memory, freed deterministically). */
describe.skipIf(!wasmSupported())('wasm memory: scope, keep, dispose', () => {
  let before = '';
  beforeAll(() => { before = getBackend().name; setBackend('wasm'); });
  afterAll(() => setBackend(before));

  const inUse = () => memoryStats()!.inUse;

  // Byte accounting: meaningless when every buffer is evicted before each allocation (NORMLAB_MEMORY_CHAOS).
  const chaos = process.env.NORMLAB_MEMORY_CHAOS === '1';

  it.skipIf(chaos)('frees what a scope made, except its result and kept tensors', () => {
    const w = randn([64, 64]);
    scope(() => w.matmul(w).relu().sum()); // warm-up: kernels may keep a persistent work area
    const start = inUse();
    let inner: ReturnType<typeof randn> | null = null;
    const kept = scope(() => {
      const h = w.matmul(w).relu();
      inner = h;
      keep(h.mul(2));
      return { out: h.sum(), list: [h.mean()] };
    });
    expect(kept.out.size).toBe(1);
    expect(kept.list[0].size).toBe(1);
    // h (and the matmul before relu) are gone; the result and the kept product remain.
    expect(inUse() - start).toBe(16 + 16 + 64 * 64 * 4);
    expect(() => inner!.add(1)).toThrow(/used after its storage was freed/);
  });

  it('dispose frees at once and later use is an error naming the shape', () => {
    const t = zeros([3, 5]); // zeros live in device memory from the start
    const start = inUse();
    t.dispose();
    expect(inUse()).toBe(start - 64);
    expect(t.isDisposed).toBe(true);
    expect(() => t.sum()).toThrow(/\[3, 5\] is used after its storage was freed/);
    expect(() => t.data).toThrow(/used after its storage was freed/);
  });

  it('a throwing scope frees what it made', () => {
    const start = inUse();
    expect(() => scope(() => { zeros([100]); throw new Error('boom'); })).toThrow('boom');
    expect(inUse()).toBe(start);
  });

  it('parameters, buffers, gradients and optimizer state outlive the scope that made them', () => {
    const { model, opt } = scope(() => {
      const model = new nn.Sequential(new nn.Linear(8, 4), new nn.BatchNorm1d(4));
      const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
      model.forward(randn([16, 8])).square().mean().backward();
      opt.step();
      return { model, opt };
    });
    for (const p of model.parameters()) {
      expect(p.isDisposed).toBe(false);
      expect(p.grad!.isDisposed).toBe(false);
    }
    for (const b of model.buffers()) expect(b.isDisposed).toBe(false);
    // The momentum buffers survived: another step works and uses them.
    scope(() => { model.forward(randn([16, 8])).square().mean().backward(); opt.step(); });
    expect(Object.keys(opt.stateDict().state).length).toBeGreaterThan(0);
  });

  it('the tape frees what ops saved for backward once backward has run', () => {
    const x = randn([32, 16], { requiresGrad: true });
    const bn = new nn.BatchNorm1d(16);
    scope(() => {
      const o = bn.forward(x);
      const saved = o.node!.saved as { mean: Arr; invstd: Arr };
      expect(saved.mean.storage.freed || saved.invstd.storage.freed).toBe(false);
      o.sum().backward();
      expect(saved.mean.storage.freed).toBe(true);
      expect(saved.invstd.storage.freed).toBe(true);
    });
    expect(x.grad!.isDisposed).toBe(false);
  });

  it.skipIf(chaos)('tensor() and randn() keep their values in host arrays until first used; zeros() lives in wasm memory', () => {
    const before2 = inUse();
    const t = tensor([1, 2, 3]);
    expect(inUse()).toBe(before2);
    t.add(0); // copied in for the kernel (and kept there while in use)
    expect(inUse()).toBeGreaterThan(before2);
    const before3 = inUse();
    zeros([2, 2]);
    expect(inUse()).toBeGreaterThan(before3);
  });
});
