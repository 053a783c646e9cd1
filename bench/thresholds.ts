/**
 * Where splitting a kernel between threads starts to pay: each kernel family timed with 1 thread and with
 * every thread at sizes around its threshold, with the thresholds forced to 0 so that every size is split.
 * The crossover (the smallest size from which every larger size measured is ≥ 10% faster split) is what
 * `parallelThresholds` in src/kernels/wasm/kernels.ts should sit at.
 */
import { getBackend, setNumThreads } from '../src/kernels/index.js';
import { parallelThresholds } from '../src/kernels/wasm/kernels.js';
import { onBackend } from './workloads.js';

export interface CrossoverRow { readonly kernel: string; readonly size: number; readonly unit: string; readonly oneUs: number; readonly allUs: number }

const median = (v: number[]): number => { const s = [...v].sort((a, b) => a - b); return s[s.length >> 1]; };

/**
 * Set the thread count and wait until the pool's workers are ready: setNumThreads(1) stops the workers and a
 * larger count starts new ones, which instantiate the module before they take parts (until then every part
 * runs on the caller, and a measurement would time one thread twice).
 */
function threadsReady(n: number): void {
  setNumThreads(n);
  const pool = (getBackend() as unknown as { pool?: { ready: number } }).pool;
  for (const s = performance.now(); pool && pool.ready < n - 1;) {
    if (performance.now() - s > 10_000) throw new Error(`bench: ${n - 1} kernel workers not ready after 10 s`);
  }
}

/** Median µs per call of `fn` for 1 and `threads` threads, interleaved (rounds × calls each). */
function ab(fn: () => void, threads: number, rounds: number): [number, number] {
  const t: Record<number, number[]> = { 1: [], [threads]: [] };
  let calls = 1;
  threadsReady(threads);
  for (let s = performance.now(); performance.now() - s < 2;) { fn(); calls++; } // about 2 ms per sample
  for (let r = 0; r < rounds; r++) for (const n of [1, threads]) {
    threadsReady(n);
    for (let i = 0; i < 3; i++) fn();
    const s = performance.now();
    for (let i = 0; i < calls; i++) fn();
    t[n].push(((performance.now() - s) * 1e3) / calls);
  }
  return [median(t[1]), median(t[threads])];
}

export function crossovers(threads: number, rounds = 9): CrossoverRow[] {
  const k = getBackend().kernels, be = getBackend();
  const saved = { ...parallelThresholds };
  const rows: CrossoverRow[] = [];
  const arr = (n: number): Float32Array => onBackend(be, Float32Array.from({ length: n }, (_, i) => Math.sin(i)));
  try {
    parallelThresholds.elements = 0;
    parallelThresholds.streaming = 0;
    parallelThresholds.matmul = 0;
    for (let e = 12; e <= 19; e++) {
      const n = 1 << e, x = arr(n), y = arr(n);
      const [a, b] = ab(() => k.unary('sigmoid', x, y), threads, rounds);
      rows.push({ kernel: 'unary sigmoid', size: n, unit: 'elements', oneUs: a, allUs: b });
    }
    for (let e = 12; e <= 19; e++) {
      const n = 1 << e, x = arr(n), y = arr(n), z = arr(n);
      const [a, b] = ab(() => k.binary('add', x, [n], y, [n], z, [n]), threads, rounds);
      rows.push({ kernel: 'binary add', size: n, unit: 'elements', oneUs: a, allUs: b });
    }
    for (const s of [16, 24, 32, 48, 64, 96, 128]) {
      const a = arr(s * s), b = arr(s * s), c = arr(s * s);
      const [one, all] = ab(() => k.matmul(a, b, c, s, s, s, false, false, false), threads, rounds);
      rows.push({ kernel: `matmul ${s}×${s}×${s}`, size: s * s * s, unit: 'multiply-adds', oneUs: one, allUs: all });
    }
  } finally {
    Object.assign(parallelThresholds, saved);
    threadsReady(threads);
  }
  return rows;
}

/** The table, and the crossover per kernel family against the threshold in use. */
export function formatCrossovers(rows: readonly CrossoverRow[], threads: number): string {
  const out = [`| kernel | size | 1 thread (µs) | ${threads} threads (µs) | speed-up |`, '| --- | --- | --- | --- | --- |'];
  for (const r of rows) out.push(`| ${r.kernel} | ${r.size} ${r.unit} | ${r.oneUs.toFixed(1)} | ${r.allUs.toFixed(1)} | ${(r.oneUs / r.allUs).toFixed(2)} |`);
  for (const [family, unit, current] of [['unary', 'elements', parallelThresholds.elements], ['binary', 'elements', parallelThresholds.streaming], ['matmul', 'multiply-adds', parallelThresholds.matmul]] as const) {
    const fam = rows.filter((r) => r.kernel.startsWith(family));
    let cross: number | null = null;
    for (let i = fam.length - 1; i >= 0 && fam[i].oneUs / fam[i].allUs >= 1.1; i--) cross = fam[i].size;
    out.push(`\n${family}: splitting pays (≥ 10% faster at that size and every larger one measured) from ${cross ?? 'none of the sizes measured'}${cross ? ` ${unit}` : ''}; the threshold in use is ${current} ${unit}.`);
  }
  return out.join('\n');
}
