/**
 * MNIST in memory and its compact binary form. Pure and browser-safe: typed arrays in, typed arrays out.
 *
 * Binary layout (little-endian), version 1:
 * ```
 * 0   "NLMNIST\0"   magic, 8 bytes
 * 8   u32 version   (1)
 * 12  u32 count     images
 * 16  u32 rows, 20 u32 cols   (28, 28)
 * 24  u32 scale     (1000: a pixel v is stored as the integer v·1000, exact for the package's 3-decimal values)
 * 28  u32 source    fingerprint of the JSON it was built from (0 when unknown)
 * 32  u32 checksum  MurmurHash3 (x86, 32-bit, seed 0) of the payload
 * 36  u32 payload   byte length of the payload
 * 40  payload: u16 pixels[count·rows·cols], then u8 labels[count]
 * ```
 */

export const MNIST_ROWS = 28;
export const MNIST_COLS = 28;
/** Pixels per image (28·28 = 784). */
export const MNIST_PIXELS = MNIST_ROWS * MNIST_COLS;
export const MNIST_CLASSES = 10;

const MAGIC = 'NLMNIST\0';
const FORMAT_VERSION = 1;
const SCALE = 1000;
const HEADER_BYTES = 40;

/**
 * MNIST images and labels.
 *
 * Shape: `images` is [count, 28, 28] flattened row-major (pixel (r, c) of image i at i·784 + r·28 + c),
 * float32 values in [0, 1] (0 = background); `labels` is [count], digits 0..9.
 */
export interface MnistData {
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
  readonly imageShape: readonly [28, 28];
}

/**
 * Build MNIST from already-fetched arrays, one per digit class: `perClass[d]` is the flat `data` array of
 * the `mnist` package's `digits/d.json` (784 values per image). Images are ordered by class.
 *
 * Works anywhere (the browser lab fetches the ten JSON files and calls this).
 *
 * Shape: perClass[d] has length n_d·784; result images [Σ n_d, 784], labels [Σ n_d].
 *
 * Example:
 * ```js
 * // in a browser page that serves the package's digits/ folder (not run by the doc tests: it needs fetch)
 * const perClass = await Promise.all([...Array(10).keys()].map(async (d) => (await (await fetch(`digits/${d}.json`)).json()).data));
 * const mnist = data.mnistFromArrays(perClass);
 * ```
 */
export function mnistFromArrays(perClass: readonly ArrayLike<number>[]): MnistData {
  if (!Array.isArray(perClass) || perClass.length !== MNIST_CLASSES)
    throw new Error(`mnistFromArrays: expected ${MNIST_CLASSES} arrays (one per digit), got ${Array.isArray(perClass) ? perClass.length : typeof perClass}`);
  let count = 0;
  for (let d = 0; d < MNIST_CLASSES; d++) {
    const len = perClass[d]?.length;
    if (typeof len !== 'number' || len % MNIST_PIXELS !== 0)
      throw new Error(`mnistFromArrays: digit ${d} has ${len} values, not a multiple of ${MNIST_PIXELS} (28·28)`);
    count += len / MNIST_PIXELS;
  }
  const images = new Float32Array(count * MNIST_PIXELS);
  const labels = new Int32Array(count);
  let off = 0, row = 0;
  for (let d = 0; d < MNIST_CLASSES; d++) {
    const a = perClass[d];
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (!(v >= 0 && v <= 1)) throw new Error(`mnistFromArrays: digit ${d}, value ${i} is ${v}; pixels must lie in [0, 1]`);
      images[off + i] = v;
    }
    off += a.length;
    labels.fill(d, row, row + a.length / MNIST_PIXELS);
    row += a.length / MNIST_PIXELS;
  }
  return { images, labels, count, imageShape: [28, 28] };
}

/**
 * Encode MNIST in the compact binary form (2 bytes per pixel + 1 per label + a 40-byte header); decoding
 * with {@link mnistFromBinary} gives back exactly the same float32 values.
 * Throws if a pixel is not a multiple of 1/1000 (the encoding would not be exact).
 */
export function encodeMnistBinary(data: MnistData, { fingerprint = 0 }: { fingerprint?: number } = {}): Uint8Array {
  const { images, labels, count } = data;
  const n = count * MNIST_PIXELS;
  if (images.length !== n || labels.length !== count)
    throw new Error(`encodeMnistBinary: images [${images.length}] and labels [${labels.length}] do not match count ${count}`);
  const payload = 2 * n + count;
  const out = new Uint8Array(HEADER_BYTES + payload);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = MAGIC.charCodeAt(i);
  dv.setUint32(8, FORMAT_VERSION, true);
  dv.setUint32(12, count, true);
  dv.setUint32(16, MNIST_ROWS, true);
  dv.setUint32(20, MNIST_COLS, true);
  dv.setUint32(24, SCALE, true);
  dv.setUint32(28, fingerprint >>> 0, true);
  dv.setUint32(36, payload, true);
  const px = LITTLE_ENDIAN ? new Uint16Array(out.buffer, HEADER_BYTES, n) : null;
  for (let i = 0; i < n; i++) {
    const v = images[i];
    const k = Math.round(v * SCALE);
    if (!(k >= 0 && k <= SCALE) || Math.fround(k / SCALE) !== v)
      throw new Error(`encodeMnistBinary: pixel ${i} (image ${Math.floor(i / MNIST_PIXELS)}) is ${v}, not a multiple of 1/${SCALE} in [0, 1]`);
    if (px) px[i] = k; else dv.setUint16(HEADER_BYTES + 2 * i, k, true);
  }
  const lab = HEADER_BYTES + 2 * n;
  for (let i = 0; i < count; i++) {
    const y = labels[i];
    if (!(Number.isInteger(y) && y >= 0 && y < MNIST_CLASSES)) throw new Error(`encodeMnistBinary: label ${i} is ${y}, not a digit 0..9`);
    out[lab + i] = y;
  }
  dv.setUint32(32, murmur3(out, HEADER_BYTES, out.length), true);
  return out;
}

/** The header fields of a binary MNIST buffer (no payload checks). */
export interface MnistBinaryHeader {
  readonly version: number;
  readonly count: number;
  readonly fingerprint: number;
}

/**
 * Decode the compact binary form written by {@link encodeMnistBinary} (or by `loadMnist`'s cache).
 * Every check is made: magic, version, shape, scale, exact length (a truncated buffer is an error),
 * checksum, pixel and label ranges. Errors say which check failed.
 *
 * Example: `const mnist = mnistFromBinary(new Uint8Array(await (await fetch('mnist.bin')).arrayBuffer()));`
 */
export function mnistFromBinary(buf: ArrayBuffer | ArrayBufferView): MnistData {
  const bytes = toBytes(buf);
  const { count } = readMnistHeader(bytes);
  const n = count * MNIST_PIXELS;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rows = dv.getUint32(16, true), cols = dv.getUint32(20, true), scale = dv.getUint32(24, true);
  if (rows !== MNIST_ROWS || cols !== MNIST_COLS) throw new Error(`mnistFromBinary: image shape [${rows}, ${cols}] is not [28, 28]`);
  if (scale !== SCALE) throw new Error(`mnistFromBinary: scale ${scale} is not ${SCALE}`);
  const payload = dv.getUint32(36, true);
  if (payload !== 2 * n + count) throw new Error(`mnistFromBinary: header says ${payload} payload bytes; ${count} images need ${2 * n + count}`);
  if (bytes.length !== HEADER_BYTES + payload)
    throw new Error(`mnistFromBinary: buffer has ${bytes.length} bytes, expected ${HEADER_BYTES + payload} (truncated or padded)`);
  const sum = murmur3(bytes, HEADER_BYTES, bytes.length), want = dv.getUint32(32, true);
  if (sum !== want) throw new Error(`mnistFromBinary: checksum mismatch (got ${hex(sum)}, header says ${hex(want)}): the data is corrupt`);
  const lut = new Float32Array(SCALE + 1);
  for (let k = 0; k <= SCALE; k++) lut[k] = k / SCALE;
  const images = new Float32Array(n);
  const aligned = LITTLE_ENDIAN && (bytes.byteOffset + HEADER_BYTES) % 2 === 0;
  const px = aligned ? new Uint16Array(bytes.buffer, bytes.byteOffset + HEADER_BYTES, n) : Uint16Array.from({ length: n }, (_, i) => dv.getUint16(HEADER_BYTES + 2 * i, true));
  for (let i = 0; i < n; i++) {
    const k = px[i];
    if (k > SCALE) throw new Error(`mnistFromBinary: pixel ${i} is ${k}/${SCALE}, out of [0, 1]`);
    images[i] = lut[k];
  }
  const labels = new Int32Array(count);
  const lab = HEADER_BYTES + 2 * n;
  for (let i = 0; i < count; i++) {
    const y = bytes[lab + i];
    if (y >= MNIST_CLASSES) throw new Error(`mnistFromBinary: label ${i} is ${y}, not a digit 0..9`);
    labels[i] = y;
  }
  return { images, labels, count, imageShape: [28, 28] };
}

/** Read and check the fixed header (magic, version); throws on a foreign or too-short buffer. */
export function readMnistHeader(buf: ArrayBuffer | ArrayBufferView): MnistBinaryHeader {
  const bytes = toBytes(buf);
  if (bytes.length < HEADER_BYTES) throw new Error(`mnistFromBinary: ${bytes.length} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  for (let i = 0; i < 8; i++)
    if (bytes[i] !== MAGIC.charCodeAt(i)) throw new Error('mnistFromBinary: bad magic (not a normlab MNIST binary)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== FORMAT_VERSION) throw new Error(`mnistFromBinary: format version ${version}, this build reads ${FORMAT_VERSION}`);
  return { version, count: dv.getUint32(12, true), fingerprint: dv.getUint32(28, true) };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function toBytes(buf: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (buf instanceof Uint8Array && buf.constructor === Uint8Array) return buf; // (a Node Buffer gets a plain view: faster)
  if (ArrayBuffer.isView(buf)) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf instanceof ArrayBuffer) return new Uint8Array(buf);
  throw new Error(`mnistFromBinary: expected an ArrayBuffer or typed array, got ${typeof buf}`);
}

function hex(x: number): string {
  return '0x' + (x >>> 0).toString(16).padStart(8, '0');
}

/** MurmurHash3 x86 32-bit (seed 0) of bytes[start, end), little-endian words. */
export function murmur3(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const len = end - start, nWords = len >>> 2;
  const c1 = 0xcc9e2d51, c2 = 0x1b873593;
  let h = 0;
  const aligned = LITTLE_ENDIAN && (bytes.byteOffset + start) % 4 === 0;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const words = aligned ? new Uint32Array(bytes.buffer, bytes.byteOffset + start, nWords)
    : Uint32Array.from({ length: nWords }, (_, i) => dv.getUint32(start + 4 * i, true));
  for (let i = 0; i < nWords; i++) {
    let k = words[i];
    k = Math.imul(k, c1); k = (k << 15) | (k >>> 17); k = Math.imul(k, c2);
    h ^= k; h = (h << 13) | (h >>> 19); h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  const tail = start + 4 * nWords;
  const rest = len & 3;
  if (rest > 0) {
    if (rest === 3) k ^= bytes[tail + 2] << 16;
    if (rest >= 2) k ^= bytes[tail + 1] << 8;
    k ^= bytes[tail]; k = Math.imul(k, c1); k = (k << 15) | (k >>> 17); k = Math.imul(k, c2); h ^= k;
  }
  h ^= len;
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
  return h >>> 0;
}
