import { describe, expect, it } from 'vitest';
import { Rng, nn, randn, tensor, zeros } from '../../src/index.js';
import { expectClose } from '../helpers/close.js';

/*
 * Pooling by the definition: max pooling (tie rule, NaN, gradient routing) and average pooling against
 * direct-loop references over random geometries; adaptive windows by PyTorch's index formula; Flatten.
 */

const F = nn.functional;

/**
 * Max/avg pooling of one plane by the definition (padding: −∞ for max, zeros for avg) and its dx for the
 * upstream gradients dyMax, dyAvg.
 */
function referencePool(x: ArrayLike<number>, H: number, W: number, k: [number, number], s: [number, number], p: [number, number],
  countPad: boolean, dyMax: ArrayLike<number>, dyAvg: ArrayLike<number>) {
  const OH = Math.floor((H + 2 * p[0] - k[0]) / s[0]) + 1, OW = Math.floor((W + 2 * p[1] - k[1]) / s[1]) + 1;
  const max: number[] = [], avg: number[] = [], dxMax = new Array<number>(H * W).fill(0), dxAvg = new Array<number>(H * W).fill(0);
  for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
    let m = -Infinity, at = -1, sum = 0, padded = 0;
    const real: number[] = [];
    for (let u = 0; u < k[0]; u++) for (let v = 0; v < k[1]; v++) {
      const r = i * s[0] - p[0] + u, c = j * s[1] - p[1] + v;
      if (r >= H + p[0] || c >= W + p[1]) continue; // beyond the padded input: not part of the window
      padded++;
      if (r < 0 || r >= H || c < 0 || c >= W) continue;
      real.push(r * W + c);
      sum += x[r * W + c];
      if (x[r * W + c] > m) { m = x[r * W + c]; at = r * W + c; }
    }
    const q = i * OW + j, divisor = countPad ? padded : real.length;
    max.push(m); avg.push(sum / divisor);
    dxMax[at] += dyMax[q];
    for (const e of real) dxAvg[e] += dyAvg[q] / divisor;
  }
  return { max, avg, dxMax, dxAvg, OH, OW };
}

describe('pooling by the definition (float64, random geometries)', () => {
  it('MaxPool2d and AvgPool2d (both countIncludePad), forward and dx, 150 geometries', () => {
    const rng = new Rng(9);
    for (let t = 0; t < 150; t++) {
      const k: [number, number] = [1 + rng.int(4), 1 + rng.int(4)], s: [number, number] = [1 + rng.int(3), 1 + rng.int(3)];
      const p: [number, number] = [rng.int(Math.floor(k[0] / 2) + 1), rng.int(Math.floor(k[1] / 2) + 1)];
      const H = Math.max(k[0] - 2 * p[0], 1) + rng.int(6), W = Math.max(k[1] - 2 * p[1], 1) + rng.int(6);
      const countIncludePad = rng.uniform() < 0.5, N = 1 + rng.int(2), C = 1 + rng.int(2);
      const xm = randn([N, C, H, W], { dtype: 'float64', requiresGrad: true, rng });
      const xa = xm.detach().clone(); xa.requiresGrad = true;
      const label = JSON.stringify({ k, s, p, H, W, countIncludePad });
      const ym = F.maxPool2d(xm, k, { stride: s, padding: p });
      const ya = F.avgPool2d(xa, k, { stride: s, padding: p, countIncludePad });
      const dym = randn(ym.shape, { dtype: 'float64', rng }), dya = randn(ya.shape, { dtype: 'float64', rng });
      ym.backward(dym);
      ya.backward(dya);
      for (let plane = 0; plane < N * C; plane++) {
        const P = ym.shape[2] * ym.shape[3], I = H * W;
        const sl = (a: ArrayLike<number> & { subarray(b: number, e: number): ArrayLike<number> }, n: number) => a.subarray(plane * n, (plane + 1) * n);
        const ref = referencePool(sl(xm.data, I), H, W, k, s, p, countIncludePad, sl(dym.data, P), sl(dya.data, P));
        expect(ym.shape.slice(2), label).toEqual([ref.OH, ref.OW]);
        expect(Array.from(sl(ym.data, P)), `${label} max`).toEqual(ref.max);
        expectClose(sl(xm.grad!.data, I), ref.dxMax, { rtol: 1e-14, atol: 1e-15 }, `${label} max dx`);
        expectClose(sl(ya.data, P), ref.avg, { rtol: 1e-13, atol: 1e-14 }, `${label} avg`);
        expectClose(sl(xa.grad!.data, I), ref.dxAvg, { rtol: 1e-13, atol: 1e-14 }, `${label} avg dx`);
      }
    }
  });

  it('max pooling: the first maximum of a window gets the whole gradient; NaN propagates', () => {
    const x = tensor([[[[1, 3, 3, 0], [3, 2, 1, 3]]]], undefined, { requiresGrad: true });
    const y = F.maxPool2d(x, 2);
    expect(y.toArray()).toEqual([[[[3, 3]]]]);
    y.backward(tensor([[[[10, 20]]]]));
    expect(x.grad!.toArray()).toEqual([[[[0, 10, 20, 0], [0, 0, 0, 0]]]]); // (0, 1) before (1, 0); (0, 2) before (1, 3)
    expect(F.maxPool2d(tensor([[[[1, Number.NaN], [5, 2]]]]), 2).data[0]).toBeNaN();
    // overlapping windows that pick the same element add their gradients
    const z = tensor([[[[0, 9, 0]]]], undefined, { requiresGrad: true });
    F.maxPool2d(z, [1, 2], { stride: 1 }).sum().backward();
    expect(z.grad!.toArray()).toEqual([[[[0, 2, 0]]]]);
  });

  it('average pooling divisors: padded window size with countIncludePad, real elements without', () => {
    const x = tensor([[[[4, 4, 4], [4, 4, 4], [4, 4, 4]]]], undefined, { dtype: 'float64' });
    expectClose(F.avgPool2d(x, 3, { stride: 1, padding: 1 }), [16 / 9, 24 / 9, 16 / 9, 24 / 9, 4, 24 / 9, 16 / 9, 24 / 9, 16 / 9], { rtol: 1e-15, atol: 0 }, 'countIncludePad');
    expect(F.avgPool2d(x, 3, { stride: 1, padding: 1, countIncludePad: false }).toArray()).toEqual([[[[4, 4, 4], [4, 4, 4], [4, 4, 4]]]]);
  });

  it('adaptive windows follow PyTorch: [⌊i·n/out⌋, ⌈(i+1)·n/out⌉)', () => {
    // n = 5, out = 3: [0, 2), [1, 4), [3, 5)
    const x = tensor([[[[1, 2, 3, 4, 5]]]]);
    expectClose(F.adaptiveAvgPool2d(x, [1, 3]), [1.5, 3, 4.5], { rtol: 1e-7, atol: 0 }, 'adaptive 5 → 3');
    // out > n repeats inputs: n = 2, out = 4 gives [0, 1), [0, 1), [1, 2), [1, 2)
    expectClose(F.adaptiveAvgPool2d(tensor([[[[2, 4]]]]), [1, 4]), [2, 2, 4, 4], { rtol: 1e-7, atol: 0 }, 'adaptive 2 → 4');
    // n = 7, out = 3: [0, 3), [2, 5), [4, 7) — overlapping
    expectClose(F.adaptiveAvgPool2d(tensor([[[[1, 2, 3, 4, 5, 6, 7]]]]), [1, 3]), [2, 4, 6], { rtol: 1e-7, atol: 0 }, 'adaptive 7 → 3');
    // output 1 is the mean over H×W, gradient 1/(H·W) everywhere
    const y = randn([2, 3, 5, 7], { requiresGrad: true, dtype: 'float64' });
    const g = F.adaptiveAvgPool2d(y, 1);
    expectClose(g.reshape([6]), y.mean([2, 3]).reshape([6]), { rtol: 1e-14, atol: 1e-15 }, 'global average');
    g.sum().backward();
    expectClose(y.grad!, new Array(y.size).fill(1 / 35), { rtol: 1e-14, atol: 0 }, 'global average gradient');
    expect(new nn.AdaptiveAvgPool2d([null, 2]).forward(zeros([1, 1, 3, 4])).shape).toEqual([1, 1, 3, 2]);
  });
});

describe('nn.Flatten', () => {
  it('flattens startDim…endDim (defaults 1, −1) and passes gradients through', () => {
    expect(new nn.Flatten().forward(zeros([4, 3, 2, 2])).shape).toEqual([4, 12]);
    expect(new nn.Flatten(1, 2).forward(zeros([4, 3, 2, 5])).shape).toEqual([4, 6, 5]);
    expect(new nn.Flatten(-2).forward(zeros([4, 3, 2, 5])).shape).toEqual([4, 3, 10]);
    expect(new nn.Flatten(0).forward(zeros([4, 3])).shape).toEqual([12]);
    const x = randn([2, 3, 2], { requiresGrad: true });
    const y = new nn.Flatten().forward(x);
    expect(Array.from(y.data)).toEqual(Array.from(x.data));
    y.backward(tensor(Float32Array.from({ length: 12 }, (_, i) => i), [2, 6]));
    expect(Array.from(x.grad!.data)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(Object.keys(new nn.Flatten().stateDict())).toEqual([]);
  });
});
