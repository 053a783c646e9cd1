/**
 * Shared setup for the wasm kernel tests: a wasm backend's kernels next to the js twins, seeded random data
 * placed in the wasm memory (optionally as unaligned subarray views), and element-wise comparisons with
 * tolerances stated in float32 units of roundoff (u = 2⁻²⁴, half an ulp at 1).
 */
import { expect } from 'vitest';
import { jsKernels } from '../../src/kernels/js/index.js';
import { createWasmKernels } from '../../src/kernels/wasm/kernels.js';
import { WasmMemory } from '../../src/kernels/wasm/memory.js';
import { instantiate } from '../../src/kernels/wasm/module.js';

/** float32 unit roundoff. */
export const U = 2 ** -24;

export function setup() {
  const mem = new WasmMemory(true);
  return { mem, kw: createWasmKernels(mem, instantiate(mem)), js: jsKernels };
}

/** mulberry32: uniform [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function normals(r: () => number, n: number, mean = 0, std = 1): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12), v = r();
    out.push(mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }
  return out;
}

/** n float32 values in the wasm memory; `unaligned` makes the view start 4 bytes into its 16-byte aligned block. */
export function wasm32(mem: WasmMemory, values: ArrayLike<number>, unaligned = false): Float32Array {
  const n = values.length;
  const block = mem.alloc('float32', n + 1) as Float32Array;
  const v = unaligned ? block.subarray(1, n + 1) : block.subarray(0, n);
  v.set(values);
  return v;
}

export function wasm64(mem: WasmMemory, values: ArrayLike<number>): Float64Array {
  const v = mem.alloc('float64', values.length) as Float64Array;
  v.set(values);
  return v;
}

/** Bitwise-equal float values (NaN equals NaN; +0 and −0 differ). */
export function expectSame(got: ArrayLike<number>, want: ArrayLike<number>, label: string): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) expect.fail(`${label}: element ${i}: got ${got[i]}, want ${want[i]} (bitwise)`);
  }
}

/** |got − want| ≤ tol(i) everywhere; NaN only where want is NaN; infinities must match exactly. */
export function expectWithin(got: ArrayLike<number>, want: ArrayLike<number>, tol: (i: number) => number, label: string): number {
  expect(got.length, `${label}: length`).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i], e = want[i];
    if (Number.isNaN(e) || Number.isNaN(g)) {
      if (!(Number.isNaN(e) && Number.isNaN(g))) expect.fail(`${label}: element ${i}: got ${g}, want ${e}`);
      continue;
    }
    if (!Number.isFinite(e) || !Number.isFinite(g)) {
      if (g !== e) expect.fail(`${label}: element ${i}: got ${g}, want ${e}`);
      continue;
    }
    const d = Math.abs(g - e), t = tol(i);
    if (!(d <= t)) expect.fail(`${label}: element ${i}: got ${g}, want ${e}, |diff| ${d} > tolerance ${t}`);
    if (t > 0) worst = Math.max(worst, d / t);
  }
  return worst;
}

/** Distance in float32 ulps between two float32-representable numbers (same sign side; ±0 equal). */
export function ulps(a: number, b: number): number {
  if (Object.is(a, b) || a === b) return 0;
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  const f = new Float32Array([a, b]), i = new Int32Array(f.buffer);
  // Map the sign-magnitude bit patterns onto a monotone integer line.
  const ord = (x: number) => (x < 0 ? -2147483648 - x : x);
  return Math.abs(ord(i[0]) - ord(i[1]));
}
