import { afterEach, describe, expect, it } from 'vitest';
import { Rng, io } from '../../src/index.js';
import { buildFile, splitFile } from './bytes.js';

/*
 * safetensors files are untrusted. A seeded fuzzer mutates valid files; every input must either decode to
 * something consistent or throw a plain Error whose message starts with `safetensors:` — never another
 * exception type, never a hang, never an allocation larger than the file.
 */
const { encodeSafetensors, decodeSafetensors, readSafetensorsHeader } = io;
const BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

const richFile = encodeSafetensors({
  w: { dtype: 'F32', shape: [2, 3], data: [1, -2, 3.5, 0, NaN, Infinity] },
  b: { dtype: 'F64', shape: [2], data: [Math.E, -1e-300] },
  n: { dtype: 'I64', shape: [], data: [12345] },
  u: { dtype: 'U8', shape: [5], data: [0, 1, 2, 254, 255] },
  i: { dtype: 'I32', shape: [1, 2], data: [-7, 2 ** 30] },
  z: { dtype: 'F32', shape: [0], data: [] },
}, { format: 'normlab', step: '7' });
const smallFile = encodeSafetensors({ a: { dtype: 'F32', shape: [2], data: [1, 2] } });
const halfFile = buildFile(JSON.stringify({
  h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
  g: { dtype: 'BF16', shape: [2], data_offsets: [4, 8] },
  k: { dtype: 'BOOL', shape: [1], data_offsets: [8, 9] },
  j: { dtype: 'I16', shape: [1], data_offsets: [9, 11] },
  m: { dtype: 'I8', shape: [1], data_offsets: [11, 12] },
}), new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x80, 0x3f, 0x49, 0x40, 1, 0xff, 0x7f, 0x80]));
const bases = [richFile, smallFile, halfFile];

// Count the elements of every Float64Array the decoder allocates (the decoded values are Float64Arrays).
const RealFloat64Array = Float64Array;
let largestAllocation = 0;
function instrumentAllocations(): void {
  globalThis.Float64Array = new Proxy(RealFloat64Array, {
    construct(target, args, newTarget) {
      const n = typeof args[0] === 'number' ? args[0] : (args[0] as ArrayLike<number> | undefined)?.length ?? 0;
      largestAllocation = Math.max(largestAllocation, n);
      return Reflect.construct(target, args, newTarget);
    },
  });
}
afterEach(() => { globalThis.Float64Array = RealFloat64Array; });

interface Stats { cases: number; decoded: number; rejected: number; slowestMs: number; slowest: Uint8Array | null }

/** Decode one input and check the outcome; returns 'ok' or 'rejected'. */
function check(bytes: Uint8Array, label: string, stats: Stats): void {
  largestAllocation = 0;
  const t0 = performance.now();
  let result: ReturnType<typeof decodeSafetensors> | null = null;
  try {
    result = decodeSafetensors(bytes);
  } catch (e) {
    if (!(e instanceof Error) || e.constructor !== Error || !e.message.startsWith('safetensors: '))
      expect.fail(`${label}: threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message ?? String(e)}`);
  }
  const ms = performance.now() - t0;
  stats.cases++;
  if (ms > stats.slowestMs) { stats.slowestMs = ms; stats.slowest = bytes; }
  if (largestAllocation > bytes.length) expect.fail(`${label}: allocated ${largestAllocation} values for a ${bytes.length}-byte file`);
  // the header alone gives the same verdict
  let headerOk = true;
  try { readSafetensorsHeader(bytes); } catch { headerOk = false; }
  if (!result) {
    stats.rejected++;
    // only readValue (an int64 beyond 2^53) can reject a file whose header is valid
    if (headerOk && !/beyond 2\^53/.test(errorOf(bytes))) expect.fail(`${label}: the header is valid but decoding failed: ${errorOf(bytes)}`);
    return;
  }
  stats.decoded++;
  if (!headerOk) expect.fail(`${label}: decoded but readSafetensorsHeader throws`);
  consistent(bytes, result, label);
}

function errorOf(bytes: Uint8Array): string {
  try { decodeSafetensors(bytes); return ''; } catch (e) { return (e as Error).message; }
}

/** A decoded file is consistent: valid dtypes and shapes, values covering the data exactly, string metadata, re-encodable. */
function consistent(bytes: Uint8Array, { tensors, metadata }: ReturnType<typeof decodeSafetensors>, label: string): void {
  const { dataStart } = readSafetensorsHeader(bytes);
  let covered = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (!(t.dtype in BYTES)) expect.fail(`${label}: '${name}' has dtype ${t.dtype}`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) expect.fail(`${label}: '${name}' has shape ${t.shape}`);
    if (!(t.data instanceof RealFloat64Array) || t.data.length !== t.shape.reduce((p, d) => p * d, 1)) expect.fail(`${label}: '${name}' shape [${t.shape}] with ${t.data.length} values`);
    covered += t.data.length * BYTES[t.dtype];
  }
  if (covered !== bytes.length - dataStart) expect.fail(`${label}: tensors cover ${covered} of ${bytes.length - dataStart} data bytes`);
  if (!Object.values(metadata).every((v) => typeof v === 'string')) expect.fail(`${label}: non-string metadata`);
  // What decoded can be written again and reads back the same (half precision cannot be written).
  const entries = Object.fromEntries(Object.entries(tensors).filter(([, t]) => t.dtype !== 'F16' && t.dtype !== 'BF16'));
  if (Object.keys(entries).some((n) => n === '__metadata__')) return;
  const again = decodeSafetensors(encodeSafetensors(entries, metadata));
  for (const [name, t] of Object.entries(entries)) {
    const u = again.tensors[name];
    const same = u.dtype === t.dtype && u.shape.join() === t.shape.join() && t.data.every((v, i) => Object.is(v, u.data[i]) || (Number.isNaN(v) && Number.isNaN(u.data[i])));
    if (!same) expect.fail(`${label}: '${name}' does not survive a re-encode`);
  }
  expect(again.metadata, label).toEqual(metadata);
}

const newStats = (): Stats => ({ cases: 0, decoded: 0, rejected: 0, slowestMs: 0, slowest: null });

/**
 * No input is slow: the slowest case, timed again (best of 5, so that a GC pause or a busy machine does
 * not count), decodes in under 20 ms — these files are all below 2 KB; a quadratic or hanging path would not.
 */
function expectFast(stats: Stats): void {
  if (!stats.slowest) return;
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    try { decodeSafetensors(stats.slowest); } catch { /* rejected is fine */ }
    best = Math.min(best, performance.now() - t0);
  }
  expect(best).toBeLessThan(20);
}

describe('safetensors fuzzing (seeded)', () => {
  it('the unmutated bases decode', () => {
    const stats = newStats();
    bases.forEach((b, i) => check(b, `base ${i}`, stats));
    expect(stats.decoded).toBe(3);
    expect(Array.from(decodeSafetensors(halfFile).tensors.g.data)).toEqual([1, 3.140625]);
  });

  it('random bit flips (1–8 bits) anywhere in the file', () => {
    instrumentAllocations();
    const rng = new Rng(11), stats = newStats();
    for (let c = 0; c < 1500; c++) {
      const base = bases[c % bases.length], b = base.slice();
      const { dataStart } = splitFile(base);
      // a third of the cases flip data bits only: those files stay valid (other values), except an int64 pushed beyond 2^53
      const dataOnly = c % 3 === 0;
      const flips = 1 + rng.int(8);
      for (let k = 0; k < flips; k++) {
        const bit = dataOnly ? dataStart * 8 + rng.int((b.length - dataStart) * 8) : rng.int(b.length * 8);
        b[bit >> 3] ^= 1 << (bit & 7);
      }
      const before = stats.decoded;
      check(b, `bitflip case ${c}`, stats);
      if (dataOnly && stats.decoded === before) expect(errorOf(b), `bitflip case ${c}`).toMatch(/int64 .* beyond 2\^53/);
    }
    expect(stats.decoded).toBeGreaterThan(400);
    expect(stats.rejected).toBeGreaterThan(500);
    expectFast(stats);
  });

  it('truncation at every length', () => {
    instrumentAllocations();
    const stats = newStats();
    for (const base of bases)
      for (let len = 0; len < base.length; len++) check(base.subarray(0, len), `truncated to ${len} of ${base.length}`, stats);
    // every strict prefix loses data or header: all rejected (the empty tensor 'z' takes no bytes, so the
    // rich file's last byte belongs to 'i' and cutting it is caught too)
    expect(stats.decoded).toBe(0);
    expectFast(stats);
  });

  it('arbitrary header lengths, including huge ones', () => {
    instrumentAllocations();
    const rng = new Rng(12), stats = newStats();
    const special = [0n, 1n, 2n, 7n, 8n, 2n ** 31n, 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, 100_000_000n, 100_000_001n];
    for (let c = 0; c < 400; c++) {
      const b = bases[c % bases.length].slice();
      const dv = new DataView(b.buffer);
      const v = c < special.length * 3 ? special[Math.floor(c / 3)]
        : rng.int(2) ? BigInt(rng.int(b.length + 16))
        : (BigInt(rng.nextU32()) << 32n) | BigInt(rng.nextU32());
      dv.setBigUint64(0, v, true);
      check(b, `header length ${v}`, stats);
    }
    expectFast(stats);
  });

  it('structural header mutations: offsets, dtypes, shapes, entries, metadata, non-object JSON', () => {
    instrumentAllocations();
    const rng = new Rng(13), stats = newStats();
    const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)];
    const { header, dataStart } = splitFile(richFile);
    const data = richFile.subarray(dataStart);
    const base = JSON.parse(header) as Record<string, Record<string, unknown>>;
    const names = Object.keys(base).filter((n) => n !== '__metadata__');
    const numbers = [0, 1, 2, 3, 4, 8, 12, 16, 24, 40, 47, 48, 49, 64, -1, -8, 0.5, 2.5, 1e300, -0, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e21];
    const anyValue = () => pick<unknown>([null, true, 'F32', '3', [], {}, [1, 2, 3], pick(numbers), { a: 1 }, [[1]], ['2', 3]]);
    const dtypes = [...Object.keys(BYTES), 'F8', 'f32', '', 'toString', '__proto__', 'constructor', 5, null, ['F32']];
    const ent = (h: Record<string, Record<string, unknown>>): Record<string, unknown> => {
      const e = h[pick(names)];
      return e && typeof e === 'object' && !Array.isArray(e) ? e : {};
    };
    const ops: ((h: Record<string, Record<string, unknown>>) => unknown)[] = [
      (h) => { ent(h).data_offsets = [pick(numbers), pick(numbers)]; return h; },
      (h) => { ent(h).data_offsets = pick<unknown>([[0], [0, 8, 16], '0,8', null, {}, [null, 8], ['0', '8'], anyValue()]); return h; },
      (h) => { ent(h).dtype = pick(dtypes); return h; },
      (h) => { ent(h).shape = Array.from({ length: rng.int(4) }, () => pick(numbers)); return h; },
      (h) => { ent(h).shape = anyValue(); return h; },
      (h) => { delete ent(h)[pick(['dtype', 'shape', 'data_offsets'])]; return h; },
      (h) => { (h as Record<string, unknown>)[pick(names)] = anyValue(); return h; },
      (h) => { delete h[pick(names)]; return h; },
      (h) => { Object.defineProperty(h, pick(['__proto__', 'constructor', 'copy', '', 'ü✓']), { value: { ...ent(h) }, enumerable: true, configurable: true, writable: true }); return h; },
      (h) => { (h as Record<string, unknown>).__metadata__ = pick<unknown>([{ a: 1 }, [], null, 's', { a: {} }, { a: null }, { a: ['x'] }, { __proto__: 'x' }, {}, { '': '' }]); return h; },
      () => pick<unknown>([5, 'x', [], null, true, [base], 1e400]),
      (h) => { const [a, b] = [ent(h), ent(h)]; [a.data_offsets, b.data_offsets] = [b.data_offsets, a.data_offsets]; return h; },
      (h) => { for (const n of names) { const o = h[n]?.data_offsets; if (Array.isArray(o)) h[n].data_offsets = [o[0] + 1, o[1] + 1]; } return h; },
    ];
    for (let c = 0; c < 1200; c++) {
      let h: unknown = structuredClone(base);
      const k = 1 + rng.int(3);
      for (let j = 0; j < k && h && typeof h === 'object' && !Array.isArray(h); j++)
        h = pick(ops)(h as Record<string, Record<string, unknown>>);
      let text = JSON.stringify(h) ?? 'undefined';
      if (rng.int(10) === 0) text = text.replace('{', `{"${pick(names)}":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},`); // duplicate key
      const extra = rng.int(4) === 0 ? rng.int(9) - 4 : 0;
      const d = extra >= 0 ? new Uint8Array([...data, ...new Uint8Array(extra)]) : data.subarray(0, data.length + extra);
      check(buildFile(text, d, { pad: rng.int(2) === 0 }), `structural case ${c}: ${text.slice(0, 300)}`, stats);
    }
    expect(stats.decoded).toBeGreaterThan(20);
    expect(stats.rejected).toBeGreaterThan(600);
    expectFast(stats);
  });

  it('invalid UTF-8 in the header', () => {
    instrumentAllocations();
    const rng = new Rng(14), stats = newStats();
    const bad = [[0x80], [0xc0, 0x80], [0xff], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]];
    for (let c = 0; c < 300; c++) {
      const { header, dataStart } = splitFile(richFile);
      const h = new TextEncoder().encode(header);
      const at = 1 + rng.int(h.length - 2), seq = bad[c % bad.length];
      const mutated = new Uint8Array([...h.subarray(0, at), ...seq, ...h.subarray(at + (rng.int(2) ? seq.length : 0))]);
      check(buildFile(mutated, richFile.subarray(dataStart), { pad: false }), `utf-8 case ${c}`, stats);
    }
    expect(stats.decoded).toBe(0);
  });

  it('random bytes, with and without a plausible header length', () => {
    instrumentAllocations();
    const rng = new Rng(15), stats = newStats();
    for (let c = 0; c < 400; c++) {
      const b = new Uint8Array(rng.int(120));
      for (let i = 0; i < b.length; i++) b[i] = rng.int(256);
      if (c % 2 && b.length >= 8) new DataView(b.buffer).setBigUint64(0, BigInt(rng.int(b.length - 7)), true);
      if (c % 4 === 3 && b.length >= 10) { b[8] = 0x7b; b[b.length - 1] = 0x7d; new DataView(b.buffer).setBigUint64(0, BigInt(b.length - 8), true); }
      check(b, `random case ${c}`, stats);
    }
    expectFast(stats);
  });

  it('a tiny file that claims an enormous tensor is refused before anything is allocated', () => {
    instrumentAllocations();
    const stats = newStats();
    for (const shape of [[1e9], [2 ** 26, 2 ** 26], [2 ** 53 - 1], [1e15, 1e15, 0, 5]]) {
      const text = JSON.stringify({ t: { dtype: 'F64', shape, data_offsets: [0, 8] } });
      check(buildFile(text, new Uint8Array(8)), `shape ${shape}`, stats);
    }
    // a zero-sized dimension makes a huge shape legal, and nothing is allocated for it
    const ok = decodeSafetensors(buildFile(JSON.stringify({ t: { dtype: 'F64', shape: [1e15, 0], data_offsets: [0, 0] } }), new Uint8Array(0)));
    expect(ok.tensors.t.data.length).toBe(0);
    expect(stats.rejected).toBe(4);
  });

  it('a long header (many entries) decodes in time linear in its size', () => {
    const file = (n: number) => encodeSafetensors(Object.fromEntries(Array.from({ length: n }, (_, i) => [`layer${i}.weight`, { dtype: 'F32' as const, shape: [2], data: [i, -i] }])));
    const best = (bytes: Uint8Array) => Math.min(...[0, 1, 2].map(() => { const t0 = performance.now(); decodeSafetensors(bytes); return performance.now() - t0; }));
    const [small, large] = [file(2000), file(8000)];
    const [ts, tl] = [best(small), best(large)];
    expect(tl).toBeLessThan(2000);
    expect(tl / ts).toBeLessThan(10); // 4× the entries: linear ≈ 4, quadratic ≈ 16
    expect(decodeSafetensors(large).tensors['layer7999.weight'].data).toEqual(new Float64Array([7999, -7999]));
  });
});
