/** The p-th percentile (0–100) of values, linearly interpolated between order statistics (NumPy's default). */
export function percentile(values: ArrayLike<number>, p: number): number {
  return percentiles(values, [p])[0];
}

/** Several percentiles of the same values (one sort). */
export function percentiles(values: ArrayLike<number>, ps: readonly number[]): number[] {
  if (values.length === 0) throw new Error('percentile: no values');
  const s = Float64Array.from(values).sort();
  return ps.map((p) => {
    if (!(p >= 0 && p <= 100)) throw new Error(`percentile: p must be in [0, 100], got ${p}`);
    const r = (p / 100) * (s.length - 1), lo = Math.floor(r), hi = Math.ceil(r);
    return s[lo] + (s[hi] - s[lo]) * (r - lo);
  });
}
