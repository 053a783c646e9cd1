import { describe, expect, it } from 'vitest';
import { io } from '../../src/index.js';
import { buildFile } from './bytes.js';

/*
 * safetensors: round trips, the byte layout of the spec (https://github.com/huggingface/safetensors), files
 * built by hand byte for byte (the reference library's own test vectors), half-precision decoding.
 * Untrusted input is fuzzed in safetensors.fuzz.test.ts.
 */
const { encodeSafetensors, decodeSafetensors, readSafetensorsHeader } = io;

const f32 = new Float32Array([1.5, -0, 3.4028234663852886e38, 1e-45, Infinity, -Infinity, NaN, Math.fround(0.1)]);
const f64 = new Float64Array([Math.PI, -0, Number.MAX_VALUE, Number.MIN_VALUE, 1 / 3, -1e300]);
const i64 = [0, 1, -1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 40 + 7];
const i32 = new Int32Array([0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 123456789]);
const u8 = new Uint8Array([0, 1, 127, 128, 255, 42]);

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  return a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));
}

describe('safetensors round trip', () => {
  it('F32, F64, I64, I32, U8 entries and metadata come back exactly (−0, NaN, ±Infinity, extremes)', () => {
    const entries = {
      'layer.weight': { dtype: 'F32' as const, shape: [2, 4], data: f32 },
      double: { dtype: 'F64' as const, shape: [3, 2], data: f64 },
      counter: { dtype: 'I64' as const, shape: [6], data: i64 },
      ints: { dtype: 'I32' as const, shape: [2, 1, 3], data: i32 },
      bytes: { dtype: 'U8' as const, shape: [6], data: u8 },
      scalar: { dtype: 'I64' as const, shape: [], data: [17] },
      empty: { dtype: 'F32' as const, shape: [0, 5], data: [] },
    };
    const metadata = { format: 'pt', note: 'ünïcödé ✓ "quoted" \\ back', empty: '' };
    const bytes = encodeSafetensors(entries, metadata);
    const { tensors, metadata: meta } = decodeSafetensors(bytes);
    expect(meta).toEqual(metadata);
    expect(Object.keys(tensors)).toEqual(Object.keys(entries));
    for (const [name, e] of Object.entries(entries)) {
      expect(tensors[name].dtype, name).toBe(e.dtype);
      expect(tensors[name].shape, name).toEqual(e.shape);
      expect(tensors[name].data, name).toBeInstanceOf(Float64Array);
      expect(sameBits(tensors[name].data, e.data), name).toBe(true);
    }
  });

  it('no metadata: no __metadata__ key, and an empty metadata object back', () => {
    const bytes = encodeSafetensors({ a: { dtype: 'F32', shape: [1], data: [2] } });
    expect(readSafetensorsHeader(bytes).metadata).toEqual({});
    expect(headerJson(bytes)).not.toHaveProperty('__metadata__');
  });

  it('a file with no tensors at all', () => {
    const bytes = encodeSafetensors({}, { k: 'v' });
    expect(decodeSafetensors(bytes)).toEqual({ tensors: {}, metadata: { k: 'v' } });
  });

  it('tensor names that are Object.prototype keys survive (__proto__, constructor, toString)', () => {
    const entries = Object.fromEntries(['__proto__', 'constructor', 'toString', 'hasOwnProperty'].map((n, i) => [n, { dtype: 'F32' as const, shape: [1], data: [i] }]));
    const { tensors } = decodeSafetensors(encodeSafetensors(entries));
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(entries).sort());
    expect(Object.getOwnPropertyDescriptor(tensors, '__proto__')?.value.data).toEqual(new Float64Array([0]));
    expect(Object.getOwnPropertyDescriptor(tensors, 'toString')?.value.data).toEqual(new Float64Array([2]));
  });
});

describe('safetensors byte layout', () => {
  const bytes = encodeSafetensors({
    a: { dtype: 'F32', shape: [2], data: [1, 2] },
    b: { dtype: 'I64', shape: [1], data: [-2] },
    c: { dtype: 'U8', shape: [3], data: [7, 8, 9] },
  }, { who: 'normlab' });
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));

  it('8-byte little-endian header length, then exactly that many bytes of JSON, data 8-byte aligned', () => {
    expect(n).toBeGreaterThan(0);
    expect((8 + n) % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text.startsWith('{')).toBe(true);
    expect(text.trimEnd().endsWith('}')).toBe(true);
    expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true); // padding: spaces only
    expect(bytes.length).toBe(8 + n + 8 + 8 + 3);
    expect(readSafetensorsHeader(bytes).dataStart).toBe(8 + n);
  });

  it('the header holds dtype, shape, contiguous data_offsets relative to the data start, and __metadata__', () => {
    expect(JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)))).toEqual({
      __metadata__: { who: 'normlab' },
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'I64', shape: [1], data_offsets: [8, 16] },
      c: { dtype: 'U8', shape: [3], data_offsets: [16, 19] },
    });
  });

  it('values are little-endian at their offsets', () => {
    const d = 8 + n;
    expect(dv.getFloat32(d, true)).toBe(1);
    expect(dv.getFloat32(d + 4, true)).toBe(2);
    expect(dv.getBigInt64(d + 8, true)).toBe(-2n);
    expect([...bytes.subarray(d + 16)]).toEqual([7, 8, 9]);
    expect([...bytes.subarray(d, d + 4)]).toEqual([0x00, 0x00, 0x80, 0x3f]); // 1.0f
  });

  it('data alignment holds for every header length (names of 1..24 characters)', () => {
    for (let len = 1; len <= 24; len++) {
      const b = encodeSafetensors({ ['x'.repeat(len)]: { dtype: 'F64', shape: [1], data: [len] } });
      const h = Number(new DataView(b.buffer).getBigUint64(0, true));
      expect((8 + h) % 8, `name length ${len}`).toBe(0);
      expect(decodeSafetensors(b).tensors['x'.repeat(len)].data[0]).toBe(len);
    }
  });
});

describe('safetensors files built by hand', () => {
  // The reference library's Python test vectors (huggingface/safetensors, bindings/python/tests/test_simple.py).
  it('reads the reference test vector: I32 [2, 2] of zeros, unpadded header', () => {
    const header = '{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}';
    expect(header.length).toBe(0x3c); // the vector's first byte '<'
    const bytes = buildFile(header, new Uint8Array(16), { pad: false });
    expect(bytes[0]).toBe(0x3c);
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({});
    expect(tensors.test).toEqual({ dtype: 'I32', shape: [2, 2], data: new Float64Array(4) });
  });

  it('reads the reference test vector with metadata and space padding (header length 0x66)', () => {
    const header = '{"__metadata__":{"framework":"pt"},"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}       ';
    expect(header.length).toBe(0x66);
    const { tensors, metadata } = decodeSafetensors(buildFile(header, new Uint8Array(16), { pad: false }));
    expect(metadata).toEqual({ framework: 'pt' });
    expect(tensors.test1.data).toEqual(new Float64Array(4));
  });

  it('reads a file laid out as the reference writer lays it out (sorted by dtype size, then name; data unaligned is fine)', () => {
    // I32 [1, 2, 3, 4], F64 [0.5, -2], U8 [255], out of name order; the reader must follow data_offsets.
    const data = new Uint8Array(16 + 16 + 1);
    const dv = new DataView(data.buffer);
    dv.setFloat64(0, 0.5, true); dv.setFloat64(8, -2, true);
    [1, 2, 3, 4].forEach((v, i) => dv.setInt32(16 + 4 * i, v, true));
    data[32] = 255;
    const header = '{"z_double":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"a_int":{"dtype":"I32","shape":[2,2],"data_offsets":[16,32]},"m_byte":{"dtype":"U8","shape":[],"data_offsets":[32,33]}}';
    const { tensors } = decodeSafetensors(buildFile(header, data, { pad: false }));
    expect(tensors.a_int).toEqual({ dtype: 'I32', shape: [2, 2], data: new Float64Array([1, 2, 3, 4]) });
    expect(tensors.z_double.data).toEqual(new Float64Array([0.5, -2]));
    expect(tensors.m_byte).toEqual({ dtype: 'U8', shape: [], data: new Float64Array([255]) });
  });

  it('reads I16, I8, BOOL and entries listed in any order of their offsets', () => {
    const data = new Uint8Array([0xff, 0x7f, 0x00, 0x80, 0x80, 0x01, 0x01, 0x00]);
    const header = JSON.stringify({
      b: { dtype: 'I8', shape: [1], data_offsets: [4, 5] },
      a: { dtype: 'I16', shape: [2], data_offsets: [0, 4] },
      c: { dtype: 'BOOL', shape: [3], data_offsets: [5, 8] },
    });
    const { tensors } = decodeSafetensors(buildFile(header, data));
    expect(Array.from(tensors.a.data)).toEqual([32767, -32768]);
    expect(Array.from(tensors.b.data)).toEqual([-128]);
    expect(Array.from(tensors.c.data)).toEqual([1, 1, 0]);
  });
});

describe('half precision decoding', () => {
  function decode16(dtype: 'F16' | 'BF16', words: number[]): number[] {
    const data = new Uint8Array(2 * words.length);
    words.forEach((w, i) => new DataView(data.buffer).setUint16(2 * i, w, true));
    const header = JSON.stringify({ h: { dtype, shape: [words.length], data_offsets: [0, data.length] } });
    return Array.from(decodeSafetensors(buildFile(header, data)).tensors.h.data);
  }

  it('F16: normals, subnormals, extremes, signed zero, infinities, NaN', () => {
    const cases: [number, number][] = [
      [0x3c00, 1], [0xc000, -2], [0x3555, 0.333251953125], [0x3bff, 0.99951171875], [0x7bff, 65504],
      [0x0400, 2 ** -14], [0x03ff, 1023 * 2 ** -24], [0x0001, 2 ** -24], [0x0000, 0], [0x8000, -0],
      [0x7c00, Infinity], [0xfc00, -Infinity], [0x5640, 100], [0xd2f4, -55.625],
    ];
    const got = decode16('F16', cases.map(([w]) => w));
    cases.forEach(([w, v], i) => expect(Object.is(got[i], v), `0x${w.toString(16)} → ${got[i]}, expected ${v}`).toBe(true));
    expect(decode16('F16', [0x7e00, 0xfc01, 0x7c01]).every(Number.isNaN)).toBe(true);
  });

  it('F16 agrees with the definition on all 65536 bit patterns', () => {
    const all = Array.from({ length: 65536 }, (_, i) => i);
    const got = decode16('F16', all);
    for (const w of all) {
      const s = w >> 15 ? -1 : 1, e = (w >> 10) & 31, m = w & 1023;
      const want = e === 31 ? (m ? NaN : s * Infinity) : e === 0 ? s * m * 2 ** -24 : s * 2 ** (e - 15) * (1 + m / 1024);
      if (!Object.is(got[w], want)) expect.fail(`F16 0x${w.toString(16)}: ${got[w]} vs ${want}`);
    }
  });

  it('BF16: the top 16 bits of a float32', () => {
    const cases: [number, number][] = [
      [0x3f80, 1], [0xc000, -2], [0x4049, 3.140625], [0x7f7f, 3.3895313892515355e38], [0x0080, 2 ** -126],
      [0x0001, 2 ** -133], [0x8000, -0], [0x7f80, Infinity], [0xff80, -Infinity], [0x3e80, 0.25],
    ];
    const got = decode16('BF16', cases.map(([w]) => w));
    cases.forEach(([w, v], i) => expect(Object.is(got[i], v), `0x${w.toString(16)} → ${got[i]}, expected ${v}`).toBe(true));
    expect(Number.isNaN(decode16('BF16', [0x7fc0])[0])).toBe(true);
    // every pattern: equal to the float32 with those top bits
    const all = Array.from({ length: 65536 }, (_, i) => i);
    const bf = decode16('BF16', all);
    const f = new Float32Array(new Uint32Array(all.map((w) => w << 16)).buffer);
    expect(all.every((w) => Object.is(bf[w], f[w]) || (Number.isNaN(bf[w]) && Number.isNaN(f[w])))).toBe(true);
  });

  it('writing F16/BF16 is refused with a clear message', () => {
    expect(() => encodeSafetensors({ h: { dtype: 'F16', shape: [1], data: [1] } })).toThrow(/safetensors: writing F16 is not supported \('h'\)/);
  });
});

describe('safetensors encoder refuses what it cannot write faithfully', () => {
  const enc = (dtype: string, data: number[], shape = [data.length]) => () => encodeSafetensors({ t: { dtype: dtype as 'F32', shape, data } });

  it('shape and value count must agree', () => {
    expect(enc('F32', [1, 2, 3], [2, 2])).toThrow(/safetensors: 't' has shape \[2,2\] but 3 values/);
  });

  it('negative or non-integer dimensions', () => {
    expect(enc('F32', [1, 2], [-1, -2])).toThrow(/safetensors: 't' has an invalid shape/);
    expect(enc('F32', [1, 2], [0.5, 4])).toThrow(/safetensors: 't' has an invalid shape/);
  });

  it('unknown dtypes, including Object.prototype keys', () => {
    for (const d of ['F8', 'toString', 'constructor', '__proto__']) expect(enc(d, [1]), d).toThrow(/safetensors: unknown dtype/);
  });

  it('integers out of the dtype range or not integers (no silent wrap-around)', () => {
    expect(enc('U8', [256])).toThrow(/safetensors: 't' holds 256, outside U8/);
    expect(enc('U8', [-1])).toThrow(/outside U8/);
    expect(enc('I8', [128])).toThrow(/outside I8/);
    expect(enc('I16', [-32769])).toThrow(/outside I16/);
    expect(enc('I32', [2 ** 31])).toThrow(/outside I32/);
    expect(enc('BOOL', [2])).toThrow(/outside BOOL/);
    expect(enc('I64', [2 ** 60])).toThrow(/outside I64/); // beyond 2^53: the reader would refuse it
    expect(enc('I32', [1.5])).toThrow(/non-integer 1.5/);
    expect(enc('I64', [NaN])).toThrow(/non-integer NaN/);
  });

  it('a tensor may not be called __metadata__', () => {
    expect(() => encodeSafetensors({ __metadata__: { dtype: 'F32', shape: [1], data: [1] } })).toThrow(/safetensors: '__metadata__' is reserved/);
  });
});

describe('safetensors reader rejects malformed files with a safetensors: message', () => {
  const entry = (o: object) => buildFile(JSON.stringify({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 8], ...o } }), new Uint8Array(8));
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty file', new Uint8Array(0), /too short/],
    ['header length beyond the file', (() => { const b = encodeSafetensors({}); new DataView(b.buffer).setUint32(0, 1000, true); return b; })(), /header length 1000 exceeds/],
    ['header length 2^64 − 1', (() => { const b = new Uint8Array(16).fill(0xff); return b; })(), /header length 18446744073709551615 exceeds/],
    ['JSON array header', buildFile('[1,2]', new Uint8Array(0)), /not a JSON object/],
    ['JSON null header', buildFile('null', new Uint8Array(0)), /not a JSON object/],
    ['invalid JSON', buildFile('{"a":', new Uint8Array(0)), /not valid UTF-8 JSON/],
    ['invalid UTF-8', buildFile(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), new Uint8Array(0)), /not valid UTF-8 JSON/],
    ['unknown dtype', entry({ dtype: 'F12' }), /unknown dtype "F12"/],
    ['dtype toString', entry({ dtype: 'toString' }), /unknown dtype "toString"/],
    ['negative shape', entry({ shape: [-2] }), /invalid shape \[-2\]/],
    ['float shape', entry({ shape: [2.5] }), /invalid shape \[2.5\]/],
    ['string shape', entry({ shape: ['2'] }), /invalid shape/],
    ['shape/size mismatch', entry({ shape: [3] }), /needs 12 bytes but data_offsets span 8/],
    ['offsets beyond the data', entry({ data_offsets: [0, 16] }), /outside the 8-byte data buffer/],
    ['reversed offsets', entry({ data_offsets: [8, 0] }), /data_offsets \[8,0\]/],
    ['float offsets', entry({ data_offsets: [0, 8.5] }), /data_offsets/],
    ['trailing data', buildFile(JSON.stringify({ t: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }), new Uint8Array(8)), /4 trailing bytes/],
    ['hole', buildFile(JSON.stringify({ t: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }), new Uint8Array(8)), /hole before 't'/],
    ['overlap', buildFile(JSON.stringify({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, u: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }), new Uint8Array(8)), /overlaps/],
    ['entry not an object', buildFile('{"t":5}', new Uint8Array(0)), /entry 't' is not an object|unknown dtype/],
    ['entry null', buildFile('{"t":null}', new Uint8Array(0)), /entry 't' is not an object/],
    ['metadata with a number', buildFile('{"__metadata__":{"a":1}}', new Uint8Array(0)), /__metadata__ must map strings to strings/],
    ['metadata an array', buildFile('{"__metadata__":["a"]}', new Uint8Array(0)), /__metadata__ must map strings to strings/],
    ['metadata null', buildFile('{"__metadata__":null}', new Uint8Array(0)), /__metadata__ must map strings to strings/],
    ['int64 beyond 2^53', (() => { const d = new Uint8Array(8); new DataView(d.buffer).setBigInt64(0, 2n ** 60n, true); return buildFile('{"n":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}', d); })(), /int64 1152921504606846976 beyond 2\^53/],
  ];
  for (const [name, bytes, msg] of cases) {
    it(name, () => {
      expect(() => decodeSafetensors(bytes)).toThrow(msg);
      expect(() => decodeSafetensors(bytes)).toThrow(/^safetensors: /);
    });
  }

  it('not bytes at all', () => {
    expect(() => decodeSafetensors('abc' as unknown as Uint8Array)).toThrow(/^safetensors: expected bytes/);
  });

  it('bytes that are a view into a larger buffer are read at their own offset', () => {
    const file = encodeSafetensors({ a: { dtype: 'F64', shape: [2], data: [1, 2] } });
    const big = new Uint8Array(file.length + 13);
    big.set(file, 5);
    expect(decodeSafetensors(big.subarray(5, 5 + file.length)).tensors.a.data).toEqual(new Float64Array([1, 2]));
  });
});

function headerJson(bytes: Uint8Array): Record<string, unknown> {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
}
