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
