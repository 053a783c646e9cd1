import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { io, manualSeed, models, nn, noGrad, optim, randn, tensor, type Tensor } from '../../src/index.js';
import { maxErrors } from '../helpers/close.js';
import { splitFile } from './bytes.js';

/*
 * State dicts between PyTorch and normlab as safetensors (fixtures: scripts/gen_safetensors_fixtures.py,
 * which writes and reads the format without the safetensors package).
 *   PyTorch → normlab: files PyTorch wrote load into models.mlp / models.cnn and give PyTorch's outputs.
 *   normlab → PyTorch: files saveSafetensors wrote (committed) were loaded by PyTorch with
 *   load_state_dict(strict=True); its outputs are in the fixture and must equal ours for the same file.
 */

interface Entry { name: string; dtype: string; shape: number[] }
interface Case { name: string; file: string; entries: Entry[]; pytorchEntries?: Entry[]; metadata?: Record<string, string>; numBatchesTracked?: Record<string, number>; x: { shape: number[]; data: number[] }; y32: number[]; y64: number[] }
const fixtures = new URL('../fixtures/', import.meta.url);
const fixture = JSON.parse(readFileSync(new URL('safetensors_pytorch.json', fixtures), 'utf8')) as { fromPytorch: Case[]; fromNormlab: Case[] };

const make = (name: string): nn.Sequential => (name === 'mlp'
  ? models.mlp({ norm: 'batch', hidden: [16, 8], inputs: 20, classes: 4 })
  : models.cnn({ channels: [4, 8], image: [1, 12, 12], classes: 5 }));
const flat = (t: Tensor): Float64Array => Float64Array.from(t.storage.copyToHost());

/** The entries of a safetensors file's header, in file order. */
function headerEntries(bytes: Uint8Array): Entry[] {
  const h = JSON.parse(splitFile(bytes).header) as Record<string, { dtype: string; shape: number[] }>;
  return Object.entries(h).filter(([k]) => k !== '__metadata__').map(([name, e]) => ({ name, dtype: e.dtype, shape: e.shape }));
}

/** float32 outputs at least as close to PyTorch's float64 as PyTorch's own float32 (or within a few float32 ulps of the values). */
function expectPytorchOutputs(y: Tensor, c: Case): void {
  const ours = maxErrors(flat(y), c.y64).abs, theirs = maxErrors(c.y32, c.y64).abs;
  const scale = Math.max(...c.y64.map(Math.abs));
  expect(ours, `${c.name}: ours ${ours}, PyTorch float32 ${theirs}`).toBeLessThanOrEqual(Math.max(2 * theirs, 2e-6 * scale));
}

describe('safetensors written by PyTorch', () => {
  for (const c of fixture.fromPytorch) {
    it(`${c.name}: loads into the same architecture and gives PyTorch's outputs`, () => {
      const state = io.loadSafetensors(new Uint8Array(readFileSync(new URL(c.file, fixtures))));
      expect(Object.keys(state)).toEqual(c.entries.map((e) => e.name));
      for (const e of c.entries) {
        expect(state[e.name].shape, e.name).toEqual(e.shape);
        expect(state[e.name].dtype, e.name).toBe(e.dtype === 'F32' ? 'float32' : 'float64');
      }
      const nbt = Object.entries(state).filter(([k]) => k.endsWith('num_batches_tracked'));
      expect(nbt.length).toBeGreaterThan(0);
      for (const [, t] of nbt) expect(t.item()).toBe(3); // three training steps in PyTorch
      const model = make(c.name);
      model.loadStateDict(state);
      model.eval();
      expectPytorchOutputs(noGrad(() => model.forward(tensor(Float32Array.from(c.x.data), c.x.shape))), c);
    });

    it(`${c.name}: our file for the same architecture has PyTorch's keys, shapes and dtypes (num_batches_tracked I64)`, () => {
      const bytes = io.saveSafetensors(make(c.name));
      expect(headerEntries(bytes)).toEqual(c.entries);
      // a plain state dict (no module to ask) gives the same header
      expect(headerEntries(io.saveSafetensors(make(c.name).stateDict()))).toEqual(c.entries);
    });
  }
});

describe('safetensors written by normlab, read by PyTorch', () => {
  it('the fixtures exist and PyTorch found its own state_dict layout in them', () => {
    expect(fixture.fromNormlab.map((c) => c.name)).toEqual(['mlp', 'cnn']);
    for (const c of fixture.fromNormlab) {
      expect(c.entries, c.name).toEqual(c.pytorchEntries);
      expect(c.entries.filter((e) => e.dtype === 'I64').map((e) => e.name)).toEqual(c.entries.filter((e) => e.name.endsWith('num_batches_tracked')).map((e) => e.name));
      expect(Object.values(c.numBatchesTracked!).every((n) => n === 5)).toBe(true);
      expect(c.metadata).toEqual({ format: 'pt' });
    }
  });

  for (const c of fixture.fromNormlab) {
    it(`${c.name}: PyTorch's outputs from our file equal ours, and our writer reproduces the file byte for byte`, () => {
      const bytes = new Uint8Array(readFileSync(new URL(c.file, fixtures)));
      const model = make(c.name);
      model.loadStateDict(io.loadSafetensors(bytes));
      model.eval();
      expectPytorchOutputs(noGrad(() => model.forward(tensor(Float32Array.from(c.x.data), c.x.shape))), c);
      expect(io.saveSafetensors(model)).toEqual(bytes);
    });
  }

  // Regenerate the committed files: NORMLAB_WRITE_FIXTURES=1 npx vitest run --project wasm test/io/safetensors.pytorch.test.ts
  it.runIf(process.env.NORMLAB_WRITE_FIXTURES === '1')('writes test/fixtures/safetensors/normlab-*.safetensors', () => {
    for (const [i, name] of ['mlp', 'cnn'].entries()) {
      manualSeed(30 + i);
      const model = make(name);
      const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
      for (let s = 0; s < 5; s++) {
        const loss = model.forward(randn([16, name === 'mlp' ? 20 : 144]).mul(1.5).add(0.3)).square().mean();
        opt.zeroGrad();
        loss.backward();
        opt.step();
      }
      writeFileSync(new URL(`safetensors/normlab-${name}.safetensors`, fixtures), io.saveSafetensors(model));
    }
  });
});

describe('saveSafetensors / loadSafetensors', () => {
  it('round-trips values, shapes and dtypes; integers and half precision load as documented', () => {
    const w = tensor([[1.5, -2], [3, 4e-8]]), d = tensor([Math.PI, -1e-300], [2], { dtype: 'float64' });
    const back = io.loadSafetensors(io.saveSafetensors({ w, d, 'bn.num_batches_tracked': tensor(12345, [], { dtype: 'float64' }) }));
    expect(back.w.dtype).toBe('float32');
    expect(back.w.toArray()).toEqual(w.toArray());
    expect(back.d.dtype).toBe('float64');
    expect(Array.from(flat(back.d))).toEqual([Math.PI, -1e-300]);
    expect(back['bn.num_batches_tracked'].item()).toBe(12345);
    expect(back['bn.num_batches_tracked'].dtype).toBe('float64');
  });

  it('a trained model saved and loaded into a fresh one gives the same outputs', () => {
    manualSeed(3);
    const a = models.cnn({ channels: [3, 4], image: [1, 8, 8] });
    noGrad(() => a.forward(randn([6, 64])));
    a.eval();
    manualSeed(4);
    const b = models.cnn({ channels: [3, 4], image: [1, 8, 8] }).eval();
    b.loadStateDict(io.loadSafetensors(io.saveSafetensors(a)));
    const x = randn([2, 64]);
    expect(flat(noGrad(() => b.forward(x)))).toEqual(flat(noGrad(() => a.forward(x))));
    expect((b.at(2) as nn.BatchNorm2d).numBatchesTracked!.item()).toBe(1);
  });

  it('files: saveSafetensorsFile / loadSafetensorsFile; custom metadata; bad input is a clear error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'normlab-st-'));
    const path = join(dir, 'sub', 'model.safetensors');
    const m = new nn.Sequential(new nn.Linear(3, 2), new nn.BatchNorm1d(2));
    await io.saveSafetensorsFile(path, m);
    expect(existsSync(path)).toBe(true);
    const state = await io.loadSafetensorsFile(path);
    expect(Object.keys(state)).toEqual(Object.keys(m.stateDict()));
    expect(io.decodeSafetensors(io.saveSafetensors(m, { step: '3' })).metadata).toEqual({ step: '3' });
    expect(() => io.saveSafetensors({ w: [1, 2] as never })).toThrow(/'w' is not a tensor/);
    expect(() => io.loadSafetensors(new Uint8Array(5))).toThrow(/^safetensors: file too short/);
    await expect(io.loadSafetensorsFile(join(dir, 'missing.safetensors'))).rejects.toThrow(/ENOENT/);
  });
});
