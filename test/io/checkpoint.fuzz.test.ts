import { afterEach, describe, expect, it } from 'vitest';
import { data, getRngState, io, manualSeed, models, optim, Rng, train } from '../../src/index.js';
import { buildFile, splitFile } from './bytes.js';

/*
 * Checkpoints are untrusted files. Seeded mutations of a valid checkpoint — random, and forged ones that
 * carry a valid CRC so that they reach every check after it — must either restore (a forged file may
 * legitimately hold other values) or throw a plain Error starting with `checkpoint:` and leave the model,
 * optimizer, scheduler, loader and global RNG exactly as they were; never another exception type, never
 * a hang, never a typed array longer than the file has bytes.
 */

function setup(seed: number) {
  const model = models.mlp({ inputs: 5, hidden: [6], classes: 3, norm: 'batch', seed });
  const loader = new data.DataLoader(data.syntheticDataset({ n: 40, features: 5, classes: 3, seed: 5 }), { batchSize: 8, dropLast: true, seed });
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  const scheduler = new optim.StepLR(optimizer, { stepSize: 2, gamma: 0.5 });
  const trainer = new train.Trainer({ model, optimizer, scheduler, data: loader });
  return { trainer, parts: { model, optimizer, scheduler, loader } };
}

type Parts = ReturnType<typeof setup>['parts'];
const hex = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
function snapshot(p: Parts): string {
  return JSON.stringify({
    model: Object.entries(p.model.stateDict()).map(([k, t]) => `${k}:${t.dtype}:${hex(t.storage.copyToHost())}`),
    optimizer: { ...p.optimizer.stateDict(), lr: p.optimizer.lr }, scheduler: p.scheduler.stateDict(), loader: p.loader.stateDict(), rng: getRngState(),
  }, (_, v: unknown) => (ArrayBuffer.isView(v) ? `${v.constructor.name}:${hex(v)}` : v));
}

manualSeed(1);
const source = setup(1);
source.trainer.run(3);
const good = io.encodeCheckpoint(source.parts, 3, { note: 'fuzz' });
manualSeed(2);
const target = setup(2);
target.trainer.run(1);

/** The same file with a valid CRC (computed as documented: over the file with crc32 '00000000'). */
function sign(header: Record<string, unknown>, body: Uint8Array): Uint8Array {
  const meta = { ...(header.__metadata__ as Record<string, string>), crc32: '00000000' };
  const h = { ...header, __metadata__: meta };
  const probe = buildFile(JSON.stringify(h), body);
  meta.crc32 = io.crc32(probe).toString(16).padStart(8, '0');
  return buildFile(JSON.stringify(h), body);
}

const real = { Float64Array, Float32Array };
let largest = 0;
function instrument(): void {
  for (const k of ['Float64Array', 'Float32Array'] as const) {
    (globalThis as Record<string, unknown>)[k] = new Proxy(real[k], {
      construct(t, args, nt) {
        const n = typeof args[0] === 'number' ? args[0] : ArrayBuffer.isView(args[0]) || Array.isArray(args[0]) ? (args[0] as ArrayLike<number>).length : 0;
        largest = Math.max(largest, n);
        return Reflect.construct(t, args, nt);
      },
    });
  }
}
afterEach(() => { Object.assign(globalThis, real); });

interface Stats { cases: number; restored: number; rejected: number; slowestMs: number }
const newStats = (): Stats => ({ cases: 0, restored: 0, rejected: 0, slowestMs: 0 });

function check(bytes: Uint8Array, label: string, stats: Stats): void {
  const before = snapshot(target.parts);
  largest = 0;
  const t0 = performance.now();
  let ok = false;
  try {
    io.decodeCheckpoint(bytes, target.parts);
    ok = true;
  } catch (e) {
    if (!(e instanceof Error) || e.constructor !== Error || !e.message.startsWith('checkpoint: '))
      expect.fail(`${label}: threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message ?? String(e)}`);
  }
  const ms = performance.now() - t0;
  stats.cases++;
  stats.slowestMs = Math.max(stats.slowestMs, ms);
  if (largest > bytes.length) expect.fail(`${label}: allocated a typed array of ${largest} values for a ${bytes.length}-byte file`);
  if (ok) { stats.restored++; return; }
  stats.rejected++;
  if (snapshot(target.parts) !== before) expect.fail(`${label}: refused, but the state changed`);
}

describe('checkpoint fuzzing (seeded)', () => {
  it('random bit flips (1–8) anywhere: every one is refused (the CRC covers the whole file)', () => {
    instrument();
    const rng = new Rng(31), stats = newStats();
    for (let c = 0; c < 1500; c++) {
      const b = good.slice();
      for (let k = 1 + rng.int(8); k > 0; k--) { const bit = rng.int(b.length * 8); b[bit >> 3] ^= 1 << (bit & 7); }
      check(b, `bitflip case ${c}`, stats);
    }
    expect(stats.rejected).toBe(1500);
    expect(stats.slowestMs).toBeLessThan(1000);
  });

  it('truncation at every length', () => {
    instrument();
    const stats = newStats();
    for (let len = 0; len < good.length; len++) check(good.subarray(0, len), `truncated to ${len}`, stats);
    expect(stats.rejected).toBe(good.length);
  });

  it('forged headers (valid CRC): offsets out of range or overlapping, wrong dtypes, huge shapes, entries renamed or dropped', () => {
    instrument();
    const rng = new Rng(32), stats = newStats();
    const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)];
    const { header, dataStart } = splitFile(good);
    const base = JSON.parse(header) as Record<string, Record<string, unknown>>;
    const body = good.subarray(dataStart);
    const names = Object.keys(base).filter((n) => n !== '__metadata__');
    const numbers = [0, 1, 4, 8, 24, 100, body.length, body.length + 8, -4, 2 ** 32, 2 ** 53, 1e300, 0.5];
    /** An entry to edit (a detached object when the picked one was removed or replaced). */
    const ent = (h: Record<string, Record<string, unknown>>): Record<string, unknown> => {
      const e = h[pick(names)];
      return e && typeof e === 'object' && !Array.isArray(e) ? e : {};
    };
    const ops: ((h: Record<string, Record<string, unknown>>) => void)[] = [
      (h) => { ent(h).data_offsets = [pick(numbers), pick(numbers)]; },
      (h) => { const [a, b] = [ent(h), ent(h)]; [a.data_offsets, b.data_offsets] = [b.data_offsets, a.data_offsets]; },
      (h) => { const e = ent(h); const o = Array.isArray(e.data_offsets) ? e.data_offsets as number[] : [0, 0]; e.data_offsets = [o[0], o[1] + pick([-8, -4, 4, 8])]; },
      (h) => { ent(h).dtype = pick(['F64', 'F32', 'I64', 'I32', 'U8', 'F16', 'BF16', 'BOOL', 'X', 7]); },
      (h) => { ent(h).shape = pick([[1e9], [2 ** 26, 2 ** 26], [], [0], [-1], [1.5], 'x', [2 ** 53 - 1, 0]]); },
      (h) => { const n = pick(names); h[`${n}x`] = h[n]; delete h[n]; },
      (h) => { delete h[pick(names)]; },
      (h) => { h[pick(names)] = pick([null, 5, 'x', [], {}]) as never; },
    ];
    for (let c = 0; c < 1200; c++) {
      const h = structuredClone(base);
      for (let k = 1 + rng.int(2); k > 0; k--) pick(ops)(h);
      check(sign(h, body), `header case ${c}: ${JSON.stringify(h).slice(0, 300)}`, stats);
    }
    expect(stats.rejected).toBeGreaterThan(1000);
  });

  it('forged state, RNG, step and format metadata (valid CRC), including deep nesting and huge tensor shapes', () => {
    instrument();
    const rng = new Rng(33), stats = newStats();
    const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)];
    const { header, dataStart } = splitFile(good);
    const base = JSON.parse(header) as Record<string, unknown>;
    const meta = base.__metadata__ as Record<string, string>;
    const body = good.subarray(dataStart);
    const state = JSON.parse(meta.state) as Record<string, unknown>;
    const deep = (n: number, open: string, close: string, inner = '1') => open.repeat(n) + inner + close.repeat(n);
    const values = (): unknown => pick<unknown>([null, true, 0, -1, 1e308, 'x', [], {}, [1, 2], { $tensor: 'nope' }, { $tensor: 'model.0.weight' }, { $tensor: 5 },
      { $shape: [1e9, 1e9], $data: { $tensor: 'optimizer.0' } }, { $shape: [-1], $data: [1] }, { $shape: 'x', $data: 5 }, { $number: 'NaN' }, { $number: {} },
      { $shape: [2], $data: { $tensor: 'optimizer.0' } }]);
    /** Replace a random node of a JSON tree. */
    const mutate = (v: unknown): unknown => {
      if (rng.int(4) === 0 || v === null || typeof v !== 'object') return values();
      if (Array.isArray(v)) { if (!v.length) return values(); const i = rng.int(v.length); v[i] = mutate(v[i]); return v; }
      const o = v as Record<string, unknown>, keys = Object.keys(o);
      if (!keys.length) return values();
      const k = pick(keys);
      if (rng.int(8) === 0) delete o[k]; else o[k] = mutate(o[k]);
      return o;
    };
    const ops: ((m: Record<string, string>) => void)[] = [
      (m) => { m.state = JSON.stringify(mutate(structuredClone(state))); },
      (m) => { m.state = JSON.stringify(mutate(mutate(structuredClone(state)))); },
      (m) => { m.state = `{"optimizer":${deep(pick([100, 2_000, 20_000]), '[', ']')}}`; },
      (m) => { m.state = `{"scheduler":${deep(pick([100, 2_000, 20_000]), '{"a":', '}')}}`; },
      (m) => { m.extra = deep(pick([1000, 20_000]), '[', ']'); },
      (m) => { m.rng = pick(['{}', 'null', '[1]', '{"s":[1,2,3,4],"spare":"x"}', deep(20_000, '[', ']'), '{"s":[0,0,0,0],"spare":null}']); },
      (m) => { m.step = pick(['', '-1', '1e400', 'NaN', '9007199254740993', ' 3', '0x10', '3']); },
      (m) => { m.format = pick(['normlab-checkpoint', 'pt', '']); m.version = pick(['1', '2', '']); },
      (m) => { delete m[pick(['state', 'rng', 'step', 'extra'])]; },
    ];
    for (let c = 0; c < 1200; c++) {
      const m = { ...meta };
      for (let k = 1 + rng.int(2); k > 0; k--) pick(ops)(m);
      check(sign({ ...base, __metadata__: m }, body), `metadata case ${c}: ${JSON.stringify(m).slice(0, 300)}`, stats);
    }
    expect(stats.rejected).toBeGreaterThan(600);
    expect(stats.slowestMs).toBeLessThan(2000);
  });

  it('deeply nested state is refused with a clear message', () => {
    const { header, dataStart } = splitFile(good);
    const base = JSON.parse(header) as Record<string, unknown>;
    const meta = { ...(base.__metadata__ as Record<string, string>) };
    meta.state = meta.state.replace(/^\{"optimizer":/, `{"optimizer":${'['.repeat(100_000)}${']'.repeat(100_000)},"x":`);
    expect(meta.state).toMatch(/^\{"optimizer":\[\[/);
    expect(() => io.decodeCheckpoint(sign({ ...base, __metadata__: meta }, good.subarray(dataStart)), target.parts)).toThrow(/^checkpoint: state nested deeper than 64 levels/);
  });
});

