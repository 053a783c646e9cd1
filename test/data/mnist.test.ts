import { mkdtemp, readdir, readFile, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMnistBinary, loadMnist, mnistFromArrays, mnistFromBinary, splitDataset, type LoadedMnist } from '../../src/data/index.js';

let dir: string;
let cold: LoadedMnist;
let warm: LoadedMnist;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'normlab-mnist-test-'));
  cold = await loadMnist({ cacheDir: dir });
  warm = await loadMnist({ cacheDir: dir });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Index of the first element whose bits differ (-1 when identical); vitest's toEqual is too slow for 7.8M values. */
function firstDiff(a: Float32Array | Int32Array, b: Float32Array | Int32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length), v = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < u.length; i++) if (u[i] !== v[i]) return i;
  return -1;
}

/** Mean image of one class, as a 28×28 grid accessor. */
function meanImage(d: LoadedMnist, label: number): (r: number, c: number) => number {
  const sum = new Float64Array(784);
  let n = 0;
  for (let i = 0; i < d.count; i++) {
    if (d.labels[i] !== label) continue;
    n++;
    for (let p = 0; p < 784; p++) sum[p] += d.images[i * 784 + p];
  }
  return (r, c) => sum[r * 28 + c] / n;
}

describe('loadMnist', () => {
  it('loads 10,000 28×28 images with values in [0, 1] and about 1000 of each digit', () => {
    expect(cold.source).toBe('json');
    expect(warm.source).toBe('cache');
    expect(cold.count).toBe(10_000);
    expect(cold.imageShape).toEqual([28, 28]);
    expect(cold.images).toBeInstanceOf(Float32Array);
    expect(cold.images.length).toBe(10_000 * 784);
    expect(cold.labels).toBeInstanceOf(Int32Array);
    expect(cold.labels.length).toBe(10_000);
    let min = Infinity, max = -Infinity, nonzero = 0;
    for (const v of cold.images) { if (v < min) min = v; if (v > max) max = v; if (v > 0) nonzero++; }
    expect(min).toBe(0);
    expect(max).toBe(1);
    // MNIST digits cover roughly a fifth of the image.
    expect(nonzero / cold.images.length).toBeGreaterThan(0.1);
    expect(nonzero / cold.images.length).toBeLessThan(0.3);
    const perClass = new Array(10).fill(0);
    for (const y of cold.labels) perClass[y]++;
    expect(perClass.reduce((a, b) => a + b)).toBe(10_000);
    for (const c of perClass) { expect(c).toBeGreaterThan(800); expect(c).toBeLessThan(1200); }
  });

  it('looks like digits: a 1 is a bright vertical stroke, a 0 a ring with a dark hole', () => {
    const one = meanImage(cold, 1);
    let centre = 0, edges = 0;
    for (let r = 4; r < 24; r++) { centre += one(r, 13) + one(r, 14); edges += one(r, 2) + one(r, 3) + one(r, 24) + one(r, 25); }
    expect(centre / 2).toBeGreaterThan(5 * (edges / 4));
    const zero = meanImage(cold, 0);
    const hole = zero(14, 14);
    const ring = (zero(14, 7) + zero(14, 21) + zero(7, 14) + zero(21, 14)) / 4;
    expect(ring).toBeGreaterThan(2 * hole);
  });

  it('decodes the cache to exactly the parsed values (bit for bit)', () => {
    expect(warm.count).toBe(cold.count);
    expect(firstDiff(warm.images, cold.images)).toBe(-1);
    expect(firstDiff(warm.labels, cold.labels)).toBe(-1);
    expect(warm.cachePath).toBe(cold.cachePath);
  });

  it('writes the cache atomically: one file of the exact size, no temp files left', async () => {
    expect(await readdir(dir)).toEqual(['mnist-v1.bin']);
    expect((await stat(cold.cachePath!)).size).toBe(40 + 10_000 * (2 * 784 + 1));
  });

  it('rebuilds a truncated cache from the JSON', async () => {
    const file = cold.cachePath!;
    const size = (await stat(file)).size;
    await truncate(file, size - 1000);
    const again = await loadMnist({ cacheDir: dir });
    expect(again.source).toBe('json');
    expect(again.cacheNote).toMatch(/truncated/);
    expect((await stat(file)).size).toBe(size);
    expect(firstDiff(again.images, cold.images)).toBe(-1);
    const hit = await loadMnist({ cacheDir: dir });
    expect(hit.source).toBe('cache');
    expect(firstDiff(hit.labels, cold.labels)).toBe(-1);
  });

  it('splits MNIST 8000/2000 with all ten digits in both parts', () => {
    const { train, test } = splitDataset(cold);
    expect([train.count, test.count, train.features, test.features, train.classes]).toEqual([8000, 2000, 784, 784, 10]);
    expect(new Set(train.y).size).toBe(10);
    expect(new Set(test.y).size).toBe(10);
  });
});

describe('MNIST binary form', () => {
  it('detects corruption: flipped payload byte, truncation, padding, version, magic', () => {
    const perClass = Array.from({ length: 10 }, (_, d) => Array.from({ length: 784 }, (_, i) => ((i * 13 + d) % 1001) / 1000));
    const good = encodeMnistBinary(mnistFromArrays(perClass));
    expect(mnistFromBinary(good).count).toBe(10);
    for (const at of [40, 40 + 7777, good.length - 1]) {
      const flipped = good.slice(); flipped[at] ^= 0x01;
      expect(() => mnistFromBinary(flipped), `byte ${at}`).toThrow(/checksum/);
    }
    expect(() => mnistFromBinary(good.subarray(0, good.length - 1))).toThrow(/truncated/);
    expect(() => mnistFromBinary(new Uint8Array([...good, 0]))).toThrow(/padded/);
    expect(() => mnistFromBinary(good.subarray(0, 20))).toThrow(/header/);
    const version = good.slice(); version[8] = 2;
    expect(() => mnistFromBinary(version)).toThrow(/version 2/);
    const magic = good.slice(); magic[0] = 0x7b;
    expect(() => mnistFromBinary(magic)).toThrow(/magic/);
    const count = good.slice(); count[12] = 11;
    expect(() => mnistFromBinary(count)).toThrow(/payload bytes/);
  });

  it('round-trips small data exactly, from arrays and from a misaligned buffer', () => {
    const perClass = Array.from({ length: 10 }, (_, d) => Array.from({ length: 784 * (d % 3) }, (_, i) => ((i * 37 + d) % 1001) / 1000));
    const data = mnistFromArrays(perClass);
    expect(data.count).toBe(9); // digits 0..9 get 0,1,2,0,1,2,0,1,2,0 images
    expect(Array.from(data.labels)).toEqual([1, 2, 2, 4, 5, 5, 7, 8, 8]);
    const bin = encodeMnistBinary(data);
    const shifted = new Uint8Array(bin.length + 1); shifted.set(bin, 1);
    for (const b of [bin, bin.buffer, shifted.subarray(1)]) {
      const back = mnistFromBinary(b);
      expect(back.images).toEqual(data.images);
      expect(back.labels).toEqual(data.labels);
    }
  });

  it('refuses values the binary form cannot hold exactly, and malformed arrays', () => {
    const perClass = Array.from({ length: 10 }, () => new Array(784).fill(0));
    perClass[3][5] = 0.0005;
    expect(() => encodeMnistBinary(mnistFromArrays(perClass))).toThrow(/pixel 2357 .*1\/1000/);
    perClass[3][5] = 1.5;
    expect(() => mnistFromArrays(perClass)).toThrow(/digit 3, value 5 is 1.5/);
    expect(() => mnistFromArrays(perClass.slice(0, 9))).toThrow(/expected 10 arrays/);
    expect(() => mnistFromArrays([...perClass.slice(0, 9), [0, 1]])).toThrow(/digit 9 has 2 values/);
  });

  it('keeps Node modules out of the static imports (the data layer loads in a browser)', async () => {
    const src = join(import.meta.dirname, '../../src/data');
    for (const f of await readdir(src)) {
      const text = await readFile(join(src, f), 'utf8');
      expect(text, f).not.toMatch(/^\s*import\s[^(]*from\s+'node:/m);
    }
  });
});
