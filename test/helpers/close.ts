import { expect } from 'vitest';
import { Tensor } from '../../src/index.js';

type Values = Tensor | ArrayLike<number> | number;

function flat(v: Values): ArrayLike<number> {
  if (v instanceof Tensor) return v.data;
  if (typeof v === 'number') return [v];
  return v;
}

/** Largest |a − b| and largest |a − b|/(|b| + tiny) over two equally long arrays (NaN counts as equal only to NaN). */
export function maxErrors(actual: Values, expected: Values): { abs: number; rel: number; index: number } {
  const a = flat(actual), b = flat(expected);
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let abs = 0, rel = 0, index = -1;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= abs)) { abs = Number.isNaN(d) ? Infinity : d; index = i; }
    const r = d / (Math.abs(b[i]) + 1e-30);
    if (r > rel) rel = r;
  }
  return { abs, rel, index };
}

/**
 * Assert |actual − expected| ≤ atol + rtol·|expected| elementwise (NumPy's allclose), with a message that
 * names the label, the worst index and both values.
 */
export function expectClose(actual: Values, expected: Values, { rtol = 1e-5, atol = 1e-8 }: { rtol?: number; atol?: number } = {}, label = ''): void {
  const a = flat(actual), b = flat(expected);
  expect(a.length, `${label}: length`).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    const ok = (Number.isNaN(a[i]) && Number.isNaN(b[i])) || Math.abs(a[i] - b[i]) <= atol + rtol * Math.abs(b[i]);
    if (!ok) expect.fail(`${label}: element ${i}: got ${a[i]}, expected ${b[i]} (|diff| ${Math.abs(a[i] - b[i])}, rtol ${rtol}, atol ${atol}; max abs error ${maxErrors(a, b).abs})`);
  }
}
