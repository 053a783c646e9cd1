/**
 * Timing helpers: medians of repeated runs after warm-up, with the spread kept alongside. Each rep records
 * wall-clock time and the process's CPU time (user + system): on a shared machine the wall clock also
 * counts time waiting for a core, while CPU time of a single-threaded run mostly does not.
 */

/** Summary of repeated timings (milliseconds per unit of work). */
export interface Timing {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly samples: readonly number[];
  /** Median CPU time (user + system, all threads of the process), when recorded. */
  readonly cpuMedian?: number;
  readonly cpuSamples?: readonly number[];
  /** Median minor page faults per rep (normlab only): fresh output buffers show up here, and in system time. */
  readonly faultsMedian?: number;
}

const median = (v: readonly number[]): number => {
  const s = [...v].sort((a, b) => a - b), h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};

export function summarize(samples: readonly number[], cpuSamples?: readonly number[]): Timing {
  if (samples.length === 0) throw new Error('summarize: no samples');
  const cpu = cpuSamples?.length ? { cpuMedian: median(cpuSamples), cpuSamples: [...cpuSamples] } : {};
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples: [...samples], ...cpu };
}

export interface Reps {
  readonly warmup: number;
  readonly reps: number;
  /** Keep warming up until this much time has passed too (default 300 ms): the JIT settles, fresh memory gets touched. */
  readonly warmMs?: number;
  /**
   * Memory in use (normlab's wasm backend: bytes in device blocks): keep warming up while it still sets new
   * highs within the last 20 calls (at most 15 s). A loop without scopes grows its device memory up to the
   * storage layer's soft limit before the first collection, touching fresh pages; timing it then would time
   * a one-time start-up cost.
   */
  readonly inUse?: () => number;
}

/** Run fn untimed: `warmup` calls and `warmMs` at least, then until `inUse` stops setting new highs; at most `cap` calls. */
export function warm(fn: () => void, { warmup, warmMs = 300, inUse }: Reps, cap: number): number {
  const s0 = performance.now();
  let i = 0, high = -Infinity, lastHigh = 0;
  for (; i < cap; i++) {
    const elapsed = performance.now() - s0;
    const settled = !inUse || i - lastHigh >= 20 || elapsed > 15_000;
    if (i >= warmup && elapsed >= warmMs && settled) break;
    fn();
    const u = inUse?.() ?? 0;
    if (u > high) { high = u; lastHigh = i; }
  }
  return i;
}

const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1e3;

/** Run fn untimed (see `warm`), then `reps` times timed; the summary in ms. */
export function measure(fn: () => void, r: Reps): Timing {
  const { reps } = r;
  warm(fn, r, 400);
  const t: number[] = [], c: number[] = [], f: number[] = [];
  for (let i = 0; i < reps; i++) {
    const f0 = process.resourceUsage().minorPageFault, c0 = process.cpuUsage(), s = performance.now();
    fn();
    t.push(performance.now() - s);
    c.push(cpuMs(process.cpuUsage(c0)));
    f.push(process.resourceUsage().minorPageFault - f0);
  }
  return { ...summarize(t, c), faultsMedian: median(f) };
}

/**
 * Time per step (ms) of a training step: each timed sample runs `steps` steps and records the mean.
 * `steps` is sized from the warm-up so that one sample takes about `targetMs`.
 */
export function measureSteps(step: () => void, r: Reps, targetMs: number): Timing & { steps: number } {
  const { reps } = r;
  const i = warm(step, r, 20_000);
  const w = Math.min(i, 10), s1 = performance.now();
  for (let j = 0; j < w; j++) step();
  const per = (performance.now() - s1) / Math.max(w, 1);
  const steps = Math.max(5, Math.round(targetMs / Math.max(per, 1e-3)));
  const t: number[] = [], c: number[] = [];
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage(), s = performance.now();
    for (let j = 0; j < steps; j++) step();
    t.push((performance.now() - s) / steps);
    c.push(cpuMs(process.cpuUsage(c0)) / steps);
  }
  return { ...summarize(t, c), steps };
}
