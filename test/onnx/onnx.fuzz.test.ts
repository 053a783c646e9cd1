import protobuf from 'protobufjs/light.js';
import { afterEach, describe, expect, it } from 'vitest';
import { Rng, manualSeed, models, nn, onnx } from '../../src/index.js';
import { ModelProto, type ModelMsg } from '../../src/onnx/proto.js';

/*
 * ONNX files are untrusted. Seeded mutations of valid files (ours, with every supported operator) must
 * either import (into a model whose parameters the file's bytes account for) or throw a plain Error whose
 * message starts with `onnx:` — never another exception type (no RangeError from a stack overflow, no
 * TypeError), never a hang, never a typed array longer than the file has bytes (the bound importOnnx and
 * decodeModel state: one value per input byte).
 */

manualSeed(0);
const mlp = models.mlp({ norm: 'batch', hidden: [6, 5], inputs: 7, classes: 3 });
const cnn = models.cnn({ channels: [2, 3], image: [1, 6, 6], classes: 2 });
const mixed = new nn.Sequential(new nn.Conv2d(2, 4, 3, { padding: 1, groups: 2 }), new nn.GroupNorm(2, 4), new nn.AvgPool2d(2, { padding: 1 }),
  new nn.Flatten(), new nn.Unflatten(1, [4, 9]), new nn.LayerNorm(9), new nn.Linear(9, 3), new nn.Dropout(), new nn.Tanh());
const bases = [
  onnx.exportOnnx(mlp, { inputShape: [1, 7] }),
  onnx.exportOnnx(cnn, { inputShape: [1, 36] }),
  onnx.exportOnnx(mixed, { inputShape: [1, 2, 5, 5] }),
];

// Count the elements of every typed array allocated while importing.
const real = { Float64Array, Float32Array };
let largest = 0;
function instrument(): void {
  for (const k of ['Float64Array', 'Float32Array'] as const) {
    (globalThis as Record<string, unknown>)[k] = new Proxy(real[k], {
      construct(target, args, newTarget) {
        const n = typeof args[0] === 'number' ? args[0] : ArrayBuffer.isView(args[0]) || Array.isArray(args[0]) ? (args[0] as ArrayLike<number>).length : 0;
        largest = Math.max(largest, n);
        return Reflect.construct(target, args, newTarget);
      },
    });
  }
}
afterEach(() => { Object.assign(globalThis, real); });

interface Stats { cases: number; imported: number; rejected: number; slowestMs: number; slowest: Uint8Array | null }
const newStats = (): Stats => ({ cases: 0, imported: 0, rejected: 0, slowestMs: 0, slowest: null });

function check(bytes: Uint8Array, label: string, stats: Stats): void {
  largest = 0;
  const t0 = performance.now();
  let model: nn.Module | null = null;
  try {
    model = onnx.importOnnx(bytes);
  } catch (e) {
    if (!(e instanceof Error) || e.constructor !== Error || !e.message.startsWith('onnx: '))
      expect.fail(`${label}: threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message ?? String(e)}`);
  }
  const ms = performance.now() - t0;
  stats.cases++;
  if (ms > stats.slowestMs) { stats.slowestMs = ms; stats.slowest = bytes; }
  if (largest > Math.max(bytes.length, 64)) expect.fail(`${label}: allocated a typed array of ${largest} values for a ${bytes.length}-byte file`);
  if (!model) { stats.rejected++; return; }
  stats.imported++;
  const values = model.parameters().reduce((n, p) => n + p.size, 0);
  if (values > bytes.length) expect.fail(`${label}: imported ${values} parameter values from ${bytes.length} bytes`);
}

/** The slowest case, timed again (best of 5), imports or fails in under 50 ms: these files are a few KB. */
function expectFast(stats: Stats): void {
  if (!stats.slowest) return;
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    try { onnx.importOnnx(stats.slowest); } catch { /* rejected is fine */ }
    best = Math.min(best, performance.now() - t0);
  }
  expect(best).toBeLessThan(50);
}

describe('ONNX import fuzzing (seeded)', () => {
  it('the unmutated bases import', () => {
    const stats = newStats();
    bases.forEach((b, i) => check(b, `base ${i}`, stats));
    expect(stats.imported).toBe(3);
  });

  it('random bit flips (1–8) anywhere in the file', () => {
    instrument();
    const rng = new Rng(21), stats = newStats();
    for (let c = 0; c < 2000; c++) {
      const b = bases[c % bases.length].slice();
      for (let k = 1 + rng.int(8); k > 0; k--) { const bit = rng.int(b.length * 8); b[bit >> 3] ^= 1 << (bit & 7); }
      check(b, `bitflip case ${c}`, stats);
    }
    expect(stats.imported).toBeGreaterThan(100); // flips inside float data keep a valid file
    expect(stats.rejected).toBeGreaterThan(500);
    expectFast(stats);
  });

  it('truncation at every length', () => {
    instrument();
    const stats = newStats();
    for (const base of bases) for (let len = 0; len < base.length; len++) check(base.subarray(0, len), `truncated to ${len} of ${base.length}`, stats);
    expect(stats.cases).toBeGreaterThan(3000);
    expectFast(stats);
  });

  it('random byte runs, and overwritten varints (lengths and sizes out of range, up to 2^64)', () => {
    instrument();
    const rng = new Rng(22), stats = newStats();
    const huge = [0x7f, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    for (let c = 0; c < 1500; c++) {
      const base = bases[c % bases.length], b = base.slice();
      const at = rng.int(b.length);
      if (c % 3 === 0) for (let i = at; i < Math.min(b.length, at + 1 + rng.int(6)); i++) b[i] = rng.int(256);
      else if (c % 3 === 1) for (let i = 0; i < 1 + rng.int(10) && at + i < b.length; i++) b[at + i] = huge[(i + c) % huge.length];
      else { const len = rng.int(b.length); b.copyWithin(at, rng.int(b.length), rng.int(b.length)); b.fill(0, len, len + 1); }
      check(b, `byte case ${c}`, stats);
    }
    expectFast(stats);
  });

  it('structural mutations of the decoded model, re-encoded: dims, data types, raw data, attributes, wiring, opsets', () => {
    instrument();
    const rng = new Rng(23), stats = newStats();
    const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)];
    const numbers = [0, 1, 2, 3, -1, -5, 7, 1000, 2 ** 31 - 1, 2 ** 40, 2 ** 53 - 1, 1e9];
    const decoded = bases.map((b) => ModelProto.toObject(ModelProto.decode(b), { longs: Number, bytes: Array }) as ModelMsg);
    const ops: ((m: ModelMsg) => void)[] = [
      (m) => { const t = pick(m.graph!.initializer!); t.dims = Array.from({ length: rng.int(4) }, () => pick(numbers)); },
      (m) => { const t = pick(m.graph!.initializer!); t.dataType = pick([0, 1, 2, 6, 7, 10, 11, 16, 99]); },
      (m) => { const t = pick(m.graph!.initializer!); const raw = Array.from(t.rawData ?? []); t.rawData = raw.slice(0, rng.int(raw.length + 8)) as never; },
      (m) => { const t = pick(m.graph!.initializer!); t.floatData = Array.from({ length: rng.int(5) }, () => rng.normal()); t.rawData = [] as never; },
      (m) => { const t = pick(m.graph!.initializer!); t.dataLocation = 1; },
      (m) => { const n = pick(m.graph!.node!); n.opType = pick(['Relu', 'Gemm', 'Conv', 'Softmax', '', 'BatchNormalization', 'Pad', 'Reshape', 'Constant', 'Add']); },
      (m) => { const n = pick(m.graph!.node!); n.input = [...(n.input ?? [])].reverse(); },
      (m) => { const n = pick(m.graph!.node!); n.input = (n.input ?? []).slice(0, rng.int(3)); },
      (m) => { const n = pick(m.graph!.node!); n.output = [pick(['', 'input', 'x', 'output', n.output?.[0] ?? ''])]; },
      (m) => { const n = pick(m.graph!.node!); n.domain = pick(['', 'ai.onnx', 'com.microsoft']); },
      (m) => {
        const n = pick(m.graph!.node!);
        n.attribute = [...(n.attribute ?? []), { name: pick(['pads', 'strides', 'kernel_shape', 'group', 'axis', 'epsilon', 'transB', 'alpha', 'num_groups', 'training_mode', 'ceil_mode', 'auto_pad']),
          type: pick([1, 2, 3, 7]), i: pick(numbers), f: pick([0, -1, 1e-5, NaN, Infinity]), ints: Array.from({ length: rng.int(6) }, () => pick(numbers)), s: Array.from(new TextEncoder().encode(pick(['SAME_UPPER', 'NOTSET', 'x']))) as never }];
      },
      (m) => { m.graph!.node!.splice(rng.int(m.graph!.node!.length), 1); },
      (m) => { const ns = m.graph!.node!; const i = rng.int(ns.length); ns.push(...ns.splice(i, 1)); },
      (m) => { m.opsetImport = [{ domain: pick(['', 'ai.onnx', 'x']), version: pick([0, 1, 9, 13, 17, 21, 22, 2 ** 40]) }]; },
      (m) => { m.graph!.input = pick([[], [...m.graph!.input!, ...m.graph!.input!], [{ name: 'input' }]]); },
      (m) => { m.graph!.output = pick([[], [{ name: 'nope' }], [...m.graph!.output!, { name: 'input' }]]); },
      (m) => { const t = pick(m.graph!.initializer!); t.name = pick(['input', 'output', '', 'x']); },
      (m) => { delete m.graph; },
    ];
    for (let c = 0; c < 1500; c++) {
      const m = structuredClone(decoded[c % decoded.length]);
      for (let k = 1 + rng.int(3); k > 0 && m.graph; k--) pick(ops)(m);
      let bytes: Uint8Array;
      try {
        bytes = Uint8Array.from(ModelProto.encode(ModelProto.fromObject(m as Record<string, unknown>)).finish());
      } catch {
        continue; // not encodable (e.g. NaN in an int field): not a file
      }
      check(bytes, `structural case ${c}: ${JSON.stringify(m).slice(0, 200)}`, stats);
    }
    expect(stats.cases).toBeGreaterThan(1400);
    expect(stats.imported).toBeGreaterThan(50);
    expect(stats.rejected).toBeGreaterThan(700);
    expectFast(stats);
  });

  it('deep nesting (graphs in attributes, groups) is refused before the recursive decoder runs', () => {
    instrument();
    const stats = newStats();
    for (const depth of [10, 100, 10_000, 200_000]) {
      // ModelProto.graph(7) → GraphProto.node(1) → NodeProto.attribute(5) → AttributeProto.g(6) → GraphProto.node → ...
      const w = protobuf.Writer.create();
      w.uint32((7 << 3) | 2).fork();
      for (let i = 0; i < depth; i++) w.uint32((1 << 3) | 2).fork().uint32((5 << 3) | 2).fork().uint32((6 << 3) | 2).fork();
      for (let i = 0; i < 3 * depth; i++) w.ldelim();
      w.ldelim();
      check(Uint8Array.from(w.finish()), `nested graphs ×${depth}`, stats);
      // unknown fields as nested groups (wire type 3)
      const g = new Uint8Array(2 * depth + 2);
      for (let i = 0; i < depth; i++) { g[i] = (15 << 3) | 3; g[depth + i] = (15 << 3) | 4; }
      check(g.subarray(0, 2 * depth), `nested groups ×${depth}`, stats);
    }
    expect(stats.rejected).toBe(8);
    let message = '';
    try {
      const w = protobuf.Writer.create();
      w.uint32((7 << 3) | 2).fork();
      for (let i = 0; i < 100; i++) w.uint32((1 << 3) | 2).fork().uint32((5 << 3) | 2).fork().uint32((6 << 3) | 2).fork();
      for (let i = 0; i < 301; i++) w.ldelim();
      onnx.importOnnx(w.finish());
    } catch (e) { message = (e as Error).message; }
    expect(message).toMatch(/^onnx: not a valid ONNX model \(messages nested deeper than 64 levels\)/);
  });

  it('a tiny file declaring an enormous initializer is refused before anything is allocated', () => {
    instrument();
    const m = ModelProto.toObject(ModelProto.decode(bases[0]), { longs: Number }) as ModelMsg;
    for (const dims of [[1e9], [2 ** 26, 2 ** 26], [2 ** 53 - 1], [1e15, 1e15, 0, 5]]) {
      m.graph!.initializer![0].dims = dims;
      largest = 0;
      expect(() => onnx.importOnnx(ModelProto.encode(ModelProto.fromObject(m as Record<string, unknown>)).finish())).toThrow(/^onnx: /);
      expect(largest).toBeLessThan(10_000);
    }
  });
});
