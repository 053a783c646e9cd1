import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { data, getRngState, io, manualSeed, models, nn, optim, randn, Rng, train } from '../../src/index.js';
import { splitFile } from './bytes.js';

/*
 * Checkpoints: a round trip restores model (BN running statistics and num_batches_tracked included),
 * optimizer, scheduler, data loader position and the global RNG; a corrupted, truncated, foreign or
 * mismatched file is refused with a clear message and changes nothing; files are written atomically.
 */

// Fault injection for writeFileAtomic (it imports node:fs/promises lazily; the mock serves that import).
const faults = vi.hoisted(() => ({ rename: false, write: false }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open = (async (...args: Parameters<typeof real.open>) => {
    const fh = await real.open(...args);
    if (!faults.write) return fh;
    // a disk that fills up halfway through the write
    return new Proxy(fh, {
      get(t, k) {
        if (k === 'writeFile') return async (bytes: Uint8Array) => {
          await t.write(bytes.subarray(0, bytes.length >> 1));
          throw Object.assign(new Error('ENOSPC: no space left on device (simulated)'), { code: 'ENOSPC' });
        };
        const v = Reflect.get(t, k) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
  }) as typeof real.open;
  const rename = (async (from: string, to: string) => {
    if (faults.rename) throw Object.assign(new Error('EIO: i/o error, rename (simulated)'), { code: 'EIO' });
    return real.rename(from, to);
  }) as typeof real.rename;
  return { ...real, open, rename, default: { ...real, open, rename } };
});

type OptName = 'sgd' | 'adam';

/** A small BN network mid-training: model, optimizer (+ schedule), loader, trainer; everything seeded by `seed`. */
function setup(seed: number, { opt = 'sgd' as OptName, hidden = [8, 8], bn = true, batchSize = 16, schedule = true } = {}) {
  const model = models.mlp({ inputs: 6, hidden, classes: 3, norm: bn ? 'batch' : 'none', seed });
  const ds = data.syntheticDataset({ n: 90, features: 6, classes: 3, seed: 5 });
  const loader = new data.DataLoader(ds, { batchSize, dropLast: true, seed });
  const optimizer = opt === 'sgd' ? new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }) : new optim.Adam(model.parameters(), { lr: 0.01 });
  const scheduler = schedule ? new optim.StepLR(optimizer, { stepSize: 3, gamma: 0.5 }) : undefined;
  const trainer = new train.Trainer({ model, optimizer, scheduler, data: loader });
  return { model, optimizer, scheduler, loader, trainer, parts: { model, optimizer, scheduler, loader } };
}

const hex = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

/** Everything a checkpoint restores, bit for bit (typed arrays as dtype-tagged hex, so -0 and NaN payloads count). */
function snapshot(p: { model: nn.Module; optimizer?: optim.Optimizer; scheduler?: optim.LRScheduler; loader?: data.DataLoader }) {
  const bits = (v: unknown) => (ArrayBuffer.isView(v) ? `${v.constructor.name}:${hex(v)}` : v);
  return JSON.parse(JSON.stringify({
    model: Object.fromEntries(Object.entries(p.model.stateDict()).map(([k, t]) => [k, `${t.dtype}:${hex(t.data)}`])),
    optimizer: p.optimizer ? { ...p.optimizer.stateDict(), lr: p.optimizer.lr } : null,
    scheduler: p.scheduler?.stateDict() ?? null,
    loader: p.loader?.stateDict() ?? null,
    rng: getRngState(),
  }, (_, v: unknown) => bits(v))) as Record<string, unknown>;
}

function trained(seed: number, steps: number, options: Parameters<typeof setup>[1] = {}) {
  manualSeed(100 + seed);
  const s = setup(seed, options);
  s.trainer.run(steps);
  randn([3]); // leave a Box–Muller spare pending: the RNG state has both parts
  return s;
}

describe('crc32', () => {
  it('the standard check value (IEEE 802.3 / zlib): crc32("123456789") = 0xcbf43926; empty input 0', () => {
    expect(io.crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(io.crc32(new Uint8Array(0))).toBe(0);
    expect(io.crc32(new TextEncoder().encode('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
  });

  it('continues across pieces: crc32(b, crc32(a)) = crc32(a ‖ b)', () => {
    const rng = new Rng(3);
    const all = Uint8Array.from({ length: 1000 }, () => rng.int(256));
    for (const cut of [0, 1, 8, 500, 999, 1000]) expect(io.crc32(all.subarray(cut), io.crc32(all.subarray(0, cut)))).toBe(io.crc32(all));
  });
});

describe('checkpoint round trip', () => {
  for (const opt of ['sgd', 'adam'] as const) {
    it(`${opt}: restores model, BN statistics, optimizer, scheduler, loader and global RNG into differently seeded objects`, () => {
      const a = trained(1, 7, { opt });
      const bytes = io.encodeCheckpoint(a.parts, 7, { note: 'hello', nested: { x: [1, 2] } });
      const saved = snapshot(a.parts);
      expect(a.model.stateDict()['1.num_batches_tracked'].item()).toBe(7);
      expect(Array.from(a.model.stateDict()['1.running_mean'].data).some((v) => v !== 0)).toBe(true);
      expect((saved.optimizer as optim.OptimizerStateDict).state.every((s) => s !== null)).toBe(true);

      manualSeed(999);
      const b = setup(2, { opt });
      expect(snapshot(b.parts)).not.toEqual(saved);
      const { step, extra } = io.decodeCheckpoint(bytes, b.parts);
      expect(step).toBe(7);
      expect(extra).toEqual({ note: 'hello', nested: { x: [1, 2] } });
      expect(snapshot(b.parts)).toEqual(saved);
      expect(b.optimizer.lr).toBe((opt === 'sgd' ? 0.1 : 0.01) * 0.5 ** 2); // StepLR after 7 steps: two halvings
    });
  }

  it('model entries are PyTorch-named safetensors tensors: float32 values, num_batches_tracked as int64', () => {
    const a = trained(1, 3);
    const { header, metadata } = io.readSafetensorsHeader(io.encodeCheckpoint(a.parts, 3));
    const modelKeys = Object.keys(header).filter((k) => k.startsWith('model.'));
    expect(modelKeys).toEqual(Object.keys(a.model.stateDict()).map((k) => `model.${k}`));
    expect(header['model.1.num_batches_tracked']).toMatchObject({ dtype: 'I64', shape: [] });
    expect(header['model.0.weight']).toMatchObject({ dtype: 'F32', shape: [8, 6] });
    expect(metadata).toMatchObject({ format: 'normlab-checkpoint', version: '1', step: '3' });
    expect(metadata.crc32).toMatch(/^[0-9a-f]{8}$/);
    // optimizer buffers are tensors too (not JSON numbers)
    expect(Object.keys(header).some((k) => k.startsWith('optimizer.'))).toBe(true);
  });

  it('float64 models keep float64 entries', () => {
    const model = models.mlp({ inputs: 4, hidden: [5], classes: 2, norm: 'batch', seed: 3, dtype: 'float64' });
    const bytes = io.encodeCheckpoint({ model }, 0);
    expect(io.readSafetensorsHeader(bytes).header['model.0.weight'].dtype).toBe('F64');
    const other = models.mlp({ inputs: 4, hidden: [5], classes: 2, norm: 'batch', seed: 4, dtype: 'float64' });
    io.decodeCheckpoint(bytes, { model: other });
    expect(snapshot({ model: other }).model).toEqual(snapshot({ model }).model);
  });

  it('a learning rate set by hand survives: the optimizer is restored after the scheduler (PyTorch keeps the optimizer\'s lr)', () => {
    const a = trained(1, 4);
    a.optimizer.lr = 0.0777;
    const bytes = io.encodeCheckpoint(a.parts, 4);
    const b = setup(2);
    io.decodeCheckpoint(bytes, b.parts);
    expect(b.optimizer.lr).toBe(0.0777);
    expect(b.scheduler!.lastEpoch).toBe(4);
  });

  it('non-finite numbers in state survive (NaN, ±Infinity)', () => {
    const model = models.mlp({ inputs: 2, hidden: [2], classes: 2, seed: 0 });
    let stored: unknown = null;
    const custom = { stateDict: () => ({ a: NaN, b: [Infinity, -Infinity], c: new Float64Array([NaN, 1]) }), loadStateDict: (s: unknown) => { stored = s; } };
    io.decodeCheckpoint(io.encodeCheckpoint({ model, loader: custom }, 1), { model, loader: custom });
    expect(stored).toEqual({ a: NaN, b: [Infinity, -Infinity], c: new Float64Array([NaN, 1]) });
  });
});

describe('bad checkpoints are refused and change nothing', () => {
  let good: Uint8Array;
  let target: ReturnType<typeof setup>;

  beforeAll(() => {
    good = io.encodeCheckpoint(trained(1, 7).parts, 7, { config: { lr: 0.1 } });
    manualSeed(4242);
    target = setup(3);
    target.trainer.run(2);
    target.optimizer.lr = 0.0123; // set by hand (not the schedule's value): a rollback must restore it too
  });

  function refused(bytes: Uint8Array, message: RegExp, parts = target.parts, label = '') {
    const before = snapshot(parts);
    let error: unknown = null;
    try { io.decodeCheckpoint(bytes, parts); } catch (e) { error = e; }
    if (!(error instanceof Error)) expect.fail(`${label}: accepted`);
    expect(error.message, label).toMatch(message);
    expect(error.message, label).toMatch(/^checkpoint: /);
    const after = snapshot(parts);
    if (JSON.stringify(after) !== JSON.stringify(before)) expect(after, label).toEqual(before);
  }

  it('a flipped data byte: CRC error', () => {
    const { dataStart } = splitFile(good);
    for (const at of [dataStart, dataStart + 100, good.length - 1]) {
      const b = good.slice();
      b[at] ^= 0x10;
      refused(b, /file is corrupted \(CRC-32 [0-9a-f]{8}, expected [0-9a-f]{8}\)/, target.parts, `byte ${at}`);
    }
  });

  it('a single flipped bit anywhere — data, header or metadata — is detected', () => {
    const rng = new Rng(21);
    const { dataStart } = splitFile(good);
    // every header byte (lengths, names, shapes, offsets, metadata: step, RNG, optimizer and loader state), 300 data bytes
    const bytes = [...Array(dataStart).keys(), ...Array.from({ length: 300 }, () => dataStart + rng.int(good.length - dataStart))];
    for (const at of bytes) {
      const b = good.slice();
      b[at] ^= 1 << rng.int(8);
      refused(b, /^checkpoint: /, target.parts, `bit flip in byte ${at} of ${good.length}`);
    }
  });

  it('truncated at every 1/20th of its length', () => {
    for (let k = 0; k < 20; k++) {
      const len = Math.floor((k * good.length) / 20);
      refused(good.subarray(0, len), /not a readable checkpoint \(truncated or corrupted\?\): safetensors: /, target.parts, `length ${len}`);
    }
  });

  it('not a checkpoint: plain safetensors of the same model, another version, random bytes', () => {
    const plain = io.encodeSafetensors(Object.fromEntries(Object.entries(target.model.stateDict()).map(([k, t]) => [`model.${k}`, { dtype: 'F32' as const, shape: t.shape, data: t.data }])));
    refused(plain, /not a normlab checkpoint \(format 'missing'\)/);
    const { header, dataStart } = splitFile(good);
    const v2 = new Uint8Array(good);
    const text = header.replace('"version":"1"', '"version":"9"');
    v2.set(new TextEncoder().encode(text), 8);
    expect(v2.length).toBe(good.length);
    refused(v2, /unsupported version '9'/);
    refused(new TextEncoder().encode('PK\u0003\u0004 this is a zip file, not a checkpoint'), /not a readable checkpoint/);
    void dataStart;
  });

  it('a model of other shapes or other keys', () => {
    manualSeed(4242);
    const wider = setup(3, { hidden: [8, 9] });
    wider.trainer.run(2);
    wider.optimizer.lr = 0.0123;
    const b1 = snapshot(wider.parts);
    let msg = '';
    try { io.decodeCheckpoint(good, wider.parts); } catch (e) { msg = (e as Error).message; }
    expect(msg).toMatch(/checkpoint: model entry '3.weight' has shape \[8,8\] in the file but \[9,8\] in the model/);
    expect(snapshot(wider.parts)).toEqual(b1);

    const plain = setup(3, { bn: false });
    refused(good, /checkpoint: model entry '4.weight' has shape \[8\] in the file but \[3,8\] in the model/, plain.parts);
    // the same network one level down: every name differs
    const wrapped = new nn.Sequential(setup(3).model);
    refused(good, /^checkpoint: does not match what it is restored into: loadStateDict: missing: 0\.0\.weight, .*unexpected: 0\.weight, .*1\.running_mean/, { ...target.parts, model: wrapped });
  });

  it('an optimizer of another kind, a loader with another batch size: the model loaded first is rolled back', () => {
    manualSeed(4242);
    const adam = setup(3, { opt: 'adam' });
    adam.trainer.run(2);
    adam.optimizer.lr = 0.0123;
    const b1 = snapshot(adam.parts);
    expect(() => io.decodeCheckpoint(good, adam.parts)).toThrow(/^checkpoint: does not match what it is restored into: Adam.loadStateDict: the state is from SGD/);
    expect(snapshot(adam.parts)).toEqual(b1);

    manualSeed(4242);
    const other = setup(3, { batchSize: 15 });
    other.trainer.run(2);
    other.optimizer.lr = 0.0123;
    const b2 = snapshot(other.parts);
    expect(() => io.decodeCheckpoint(good, other.parts)).toThrow(/^checkpoint: does not match what it is restored into: DataLoader.loadStateDict: batchSize is 16 in the state but 15/);
    expect(snapshot(other.parts)).toEqual(b2);
  });

  /** A well-formed checkpoint (valid CRC over the whole file, as documented) with edited metadata. */
  function forge(bytes: Uint8Array, edit: (meta: Record<string, string>) => void, { crc = true } = {}): Uint8Array {
    const { tensors, metadata } = io.decodeSafetensors(bytes);
    const entries = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape, data: t.data }]));
    const meta = { ...metadata };
    edit(meta);
    if (!crc) return io.encodeSafetensors(entries, meta);
    const sum = io.crc32(io.encodeSafetensors(entries, { ...meta, crc32: '00000000' })).toString(16).padStart(8, '0');
    return io.encodeSafetensors(entries, { ...meta, crc32: sum });
  }

  it('forged files with a valid CRC but bad contents: refused, and whatever was loaded before the failure is rolled back', () => {
    expect(io.decodeCheckpoint(forge(good, () => {}), setup(5).parts).step).toBe(7); // the forge itself is faithful
    refused(forge(good, (m) => { m.rng = '{"s":[1,2,3],"spare":null}'; }), /does not match what it is restored into: setRngState: expected/, target.parts, 'forged 1');
    refused(forge(good, (m) => { m.state = m.state.replace('"$tensor":"optimizer.', '"$tensor":"constructor.'); }), /state refers to a tensor 'constructor\./, target.parts, 'forged 2');
    refused(forge(good, (m) => { m.state = '5'; }), /metadata state is not an object/, target.parts, 'forged 3');
    refused(forge(good, (m) => { m.state = '{"optimizer":'; }), /metadata is not valid JSON/, target.parts, 'forged 4');
    refused(forge(good, (m) => { m.step = '-1'; }), /invalid step '-1'/, target.parts, 'forged 5');
    refused(forge(good, (m) => { m.step = '1.5'; }), /invalid step '1.5'/, target.parts, 'forged 6');
    refused(forge(good, (m) => { delete m.crc32; }, { crc: false }), /file is corrupted \(CRC-32 missing, expected undefined\)/, target.parts, 'forged 7');
  });

  it('parts the file does not hold', () => {
    const modelOnly = io.encodeCheckpoint({ model: setup(1).model }, 1);
    refused(modelOnly, /holds no scheduler state, but a scheduler was given to restore/);
  });
});

describe('checkpoint files', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'normlab-ckpt-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('saveCheckpoint / loadCheckpoint through a file; overwriting; no temporary files left', async () => {
    const a = trained(1, 5);
    const path = join(dir, 'sub', 'run.safetensors'); // the directory is created
    await io.saveCheckpoint(path, a.parts, 5, { tag: 'first' });
    a.trainer.run(6);
    await io.saveCheckpoint(path, a.parts, 6, { tag: 'second' });
    const saved = snapshot(a.parts);
    manualSeed(0);
    const b = setup(9);
    expect(await io.loadCheckpoint(path, b.parts)).toEqual({ step: 6, extra: { tag: 'second' } });
    expect(snapshot(b.parts)).toEqual(saved);
    expect(await readdir(join(dir, 'sub'))).toEqual(['run.safetensors']);
    await expect(io.loadCheckpoint(join(dir, 'missing.safetensors'), b.parts)).rejects.toThrow(/ENOENT/);
  });

  it('a rename that fails: the old file stays whole, the temporary file is removed, the error surfaces', async () => {
    const path = join(dir, 'rename.bin');
    await writeFile(path, 'old content');
    faults.rename = true;
    try {
      await expect(io.writeFileAtomic(path, new Uint8Array(4096).fill(7))).rejects.toThrow(/EIO/);
    } finally { faults.rename = false; }
    expect(await readFile(path, 'utf8')).toBe('old content');
    expect((await readdir(dir)).filter((f) => f.includes('rename.bin'))).toEqual(['rename.bin']);
  });

  it('a write that fails halfway (disk full): the old file stays whole and no temporary file is left', async () => {
    const path = join(dir, 'full.bin');
    const a = trained(1, 2);
    await io.saveCheckpoint(path, a.parts, 2);
    const old = await readFile(path);
    faults.write = true;
    try {
      await expect(io.saveCheckpoint(path, a.parts, 3)).rejects.toThrow(/ENOSPC/);
    } finally { faults.write = false; }
    expect(Buffer.compare(await readFile(path), old)).toBe(0);
    expect((await readdir(dir)).filter((f) => f.includes('full.bin'))).toEqual(['full.bin']);
    // and the old checkpoint still loads
    expect((await io.loadCheckpoint(path, setup(1).parts)).step).toBe(2);
  });

  it('strings are written as UTF-8', async () => {
    const path = join(dir, 'text.json');
    await io.writeFileAtomic(path, '{"ü":"✓"}\n');
    expect(await readFile(path, 'utf8')).toBe('{"ü":"✓"}\n');
  });
});


