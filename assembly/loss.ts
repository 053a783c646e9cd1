// Row-wise log-softmax and fused softmax cross-entropy over float32 logits [R, C], computed in float64 like the
// js kernel (max-shifted log-sum-exp, NaN propagates); the class counts of this project are small.

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

/** log Σ exp(x[o..o+C)), shifted by the row maximum so it cannot overflow (NaN propagates). */
function rowLogSumExp(p: usize, C: i32): f64 {
  let mx = -Infinity;
  for (let c = 0; c < C; c++) { const v = <f64>load<f32>(at(p, c)); if (v > mx || v != v) mx = v; }
  if (mx == -Infinity) return mx;
  let se = 0.0;
  for (let c = 0; c < C; c++) se += Math.exp(<f64>load<f32>(at(p, c)) - mx);
  return mx + Math.log(se);
}

export function log_softmax(x: usize, R: i32, C: i32, out: usize): void {
  for (let r = 0; r < R; r++) {
    const p = at(x, r * C), o = at(out, r * C), lse = rowLogSumExp(p, C);
    for (let c = 0; c < C; c++) store<f32>(at(o, c), <f32>(<f64>load<f32>(at(p, c)) - lse));
  }
}

/**
 * Mean over rows of −log softmax(logits)[target] (target: int32 class indices, already checked to be in
 * [0, C)); when dlogits ≠ 0 also dlogits = scale·(softmax − onehot)/N.
 */
export function softmax_ce(logits: usize, N: i32, C: i32, target: usize, dlogits: usize, scale: f64): f64 {
  let total = 0.0;
  const f = scale / <f64>N;
  for (let r = 0; r < N; r++) {
    const p = at(logits, r * C), t = load<i32>(at(target, r)), lse = rowLogSumExp(p, C);
    total += lse - <f64>load<f32>(at(p, t));
    if (dlogits) {
      const d = at(dlogits, r * C);
      for (let c = 0; c < C; c++) store<f32>(at(d, c), <f32>(f * (Math.exp(<f64>load<f32>(at(p, c)) - lse) - (c == t ? 1.0 : 0.0))));
    }
  }
  return total / <f64>N;
}
