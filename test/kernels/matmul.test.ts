import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/index.js';
import { jsKernels } from '../../src/kernels/js/index.js';
import { naiveMatmul } from '../helpers/reference.js';

/*
 * The js matmul kernel against the triple loop, all four transpose cases, sizes around and across the
 * 128-wide blocks and the 4-row/4-column unrolling. Error bound: |Δc| ≤ 2K·u·Σ_k |a_ik·b_kj| (+ |c0| when
 * accumulating), the classical bound for a length-K dot product in precision u.
 */

const SIZES: [number, number, number][] = [
  [1, 1, 1], [1, 7, 1], [3, 5, 7], [4, 4, 4], [5, 1, 9], [4, 130, 129], [9, 257, 3], [130, 3, 131], [5, 128, 128], [6, 129, 133], [0, 3, 2], [2, 0, 3],
];

function randomArray(rng: Rng, n: number, dtype: 'float32' | 'float64') {
  const a = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

describe('js matmul kernel', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    const u = dtype === 'float32' ? 2 ** -24 : 2 ** -53;
    for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]]) {
      it(`${dtype} ${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'} matches the triple loop, with and without accumulate`, () => {
        const rng = new Rng(M_SEED(dtype, transA, transB));
        for (const [M, K, N] of SIZES) {
          const a = randomArray(rng, M * K, dtype), b = randomArray(rng, K * N, dtype);
          const ref = naiveMatmul(a, b, M, K, N, transA, transB);
          const mag = naiveMatmul(a.map(Math.abs), b.map(Math.abs), M, K, N, transA, transB);
          for (const accumulate of [false, true]) {
            const c0 = randomArray(rng, M * N, dtype);
            const out = c0.slice();
            jsKernels.matmul(a, b, out, M, K, N, transA, transB, accumulate);
            for (let i = 0; i < M * N; i++) {
              const expected = ref[i] + (accumulate ? c0[i] : 0);
              const bound = 2 * (K + 1) * u * (mag[i] + (accumulate ? Math.abs(c0[i]) : 0)) + (dtype === 'float32' ? u * Math.abs(expected) : 0);
              if (!(Math.abs(out[i] - expected) <= bound))
                expect.fail(`${dtype} M=${M} K=${K} N=${N} transA=${transA} transB=${transB} accumulate=${accumulate}: element ${i} got ${out[i]}, expected ${expected}`);
            }
          }
        }
      });
    }
  }

  it('writes only the M·N output elements (a longer output keeps its tail)', () => {
    const out = new Float64Array(8).fill(7);
    jsKernels.matmul(new Float64Array([1, 2]), new Float64Array([3, 4]), out, 1, 2, 1, false, false, false);
    expect(Array.from(out)).toEqual([11, 7, 7, 7, 7, 7, 7, 7]);
  });
});

function M_SEED(dtype: string, a: boolean, b: boolean): number {
  return (dtype === 'float32' ? 10 : 20) + (a ? 2 : 0) + (b ? 1 : 0);
}
