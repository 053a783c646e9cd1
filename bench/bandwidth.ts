import { measure, summarize, type Reps, type Timing } from './timing.js';

/** Copy bandwidth from Node: Float32Array.set over `floats` elements; bytes counted = read + write. */
export interface Bandwidth {
  readonly floats: number;
  /** Bytes per second (read + write) at the median copy time. */
  readonly bytesPerSec: number;
  readonly timing: Timing;
}

const buffers = new Map<number, [Float32Array, Float32Array]>();

/** Copy bandwidth over `floats` elements; the two buffers are made once per size and reused (fresh pages are slow to touch). */
export function copyBandwidth(floats: number, reps: Reps): Bandwidth {
  let ab = buffers.get(floats);
  if (!ab) buffers.set(floats, (ab = [new Float32Array(floats).fill(1.5), new Float32Array(floats).fill(0)]));
  const [a, b] = ab;
  const timing = measure(() => b.set(a), reps);
  return { floats, bytesPerSec: (2 * floats * 4) / (timing.median / 1e3), timing };
}

/** Milliseconds needed to move `bytes` at `bytesPerSec`: the floor of a memory-bound kernel. */
export function floorMs(bytes: number, bytesPerSec: number): number {
  return (bytes / bytesPerSec) * 1e3;
}

/** One bandwidth from the samples of several measurements of the same size (e.g. at the start and end of a run). */
export function pooled(...bs: readonly Bandwidth[]): Bandwidth {
  const floats = bs[0].floats;
  if (bs.some((b) => b.floats !== floats)) throw new Error('pooled: bandwidths measured over different sizes');
  const timing = summarize(bs.flatMap((b) => b.timing.samples));
  return { floats, bytesPerSec: (2 * floats * 4) / (timing.median / 1e3), timing };
}

/** Bytes per second of the fastest copy. */
export const bestBytesPerSec = (b: Bandwidth): number => (2 * b.floats * 4) / (b.timing.min / 1e3);

/**
 * Copy bandwidth with `threads` threads copying at once, each its slice of one `floats`-element copy
 * (SharedArrayBuffers; the workers spin on a go flag so they start together): the floor for kernels that
 * use every core. Returns the single-thread measurement when threads is 1.
 */
export async function copyBandwidthThreads(floats: number, threads: number, reps: Reps): Promise<Bandwidth> {
  if (threads <= 1) return copyBandwidth(floats, reps);
  const { Worker } = await import('node:worker_threads');
  const src = new SharedArrayBuffer(floats * 4), dst = new SharedArrayBuffer(floats * 4), ctl = new SharedArrayBuffer(16);
  new Float32Array(src).fill(1.5);
  const c = new Int32Array(ctl);
  const per = Math.ceil(floats / threads / 16) * 16;
  const code = `const { workerData: d } = require('node:worker_threads');
    const c = new Int32Array(d.ctl), a = new Float32Array(d.src, d.lo * 4, d.n), b = new Float32Array(d.dst, d.lo * 4, d.n);
    b.set(a); let seen = 0;
    for (;;) { while (Atomics.load(c, 0) === seen) {} seen = Atomics.load(c, 0); if (seen < 0) break; b.set(a); Atomics.add(c, 1, 1); }`;
  const workers = Array.from({ length: threads - 1 }, (_, i) => {
    const lo = per * (i + 1);
    return new Worker(code, { eval: true, workerData: { src, dst, ctl, lo, n: Math.max(0, Math.min(per, floats - lo)) } });
  });
  await new Promise((r) => setTimeout(r, 200));
  const a = new Float32Array(src, 0, per), b = new Float32Array(dst, 0, per);
  let go = 0;
  const timing = measure(() => {
    Atomics.store(c, 1, 0);
    Atomics.store(c, 0, ++go);
    b.set(a);
    while (Atomics.load(c, 1) < threads - 1) { /* wait for the others */ }
  }, reps);
  Atomics.store(c, 0, -1);
  await Promise.all(workers.map((w) => w.terminate()));
  return { floats, bytesPerSec: (2 * floats * 4) / (timing.median / 1e3), timing };
}
