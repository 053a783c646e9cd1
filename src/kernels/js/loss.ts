import type { FloatArray } from '../types.js';

/** log Σ exp(x[o..o+C)), shifted by the row maximum so it cannot overflow (NaN propagates). */
function rowLogSumExp(x: FloatArray, o: number, C: number): number {
  let mx = -Infinity;
  for (let c = 0; c < C; c++) { const v = x[o + c]; if (v > mx || v !== v) mx = v; }
  if (mx === -Infinity) return mx;
  let se = 0;
  for (let c = 0; c < C; c++) se += Math.exp(x[o + c] - mx);
  return mx + Math.log(se);
}

export function logSoftmax(x: FloatArray, R: number, C: number, out: FloatArray): void {
  for (let r = 0; r < R; r++) {
    const o = r * C, lse = rowLogSumExp(x, o, C);
    for (let c = 0; c < C; c++) out[o + c] = x[o + c] - lse;
  }
}

/** Mean over rows of −log softmax(logits)[target]; optionally dlogits = scale·(softmax − onehot)/N. */
export function softmaxCrossEntropy(logits: FloatArray, N: number, C: number, target: Int32Array,
  dlogits: FloatArray | null, scale: number): number {
  let total = 0;
  const f = scale / N;
  for (let r = 0; r < N; r++) {
    const o = r * C, t = target[r], lse = rowLogSumExp(logits, o, C);
    total += lse - logits[o + t];
    if (dlogits) for (let c = 0; c < C; c++) dlogits[o + c] = f * (Math.exp(logits[o + c] - lse) - (c === t ? 1 : 0));
  }
  return total / N;
}
