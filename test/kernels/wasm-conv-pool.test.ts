import { describe, expect, it } from 'vitest';
import { adaptiveAxis, slidingAxis } from '../../src/autograd/ops/pool.js';
import { col2im, im2col } from '../../src/kernels/js/conv.js';
import type { Conv2dGeometry, PoolAxis } from '../../src/kernels/types.js';
import { expectSame, normals, rng, setup, wasm32 } from './wasm-helpers.js';

/*
 * The wasm convolution and pooling loops against their js twins: bitwise equal (they move data, take the
 * first maximum with NaN as the maximum, and sum average pools in float64 in the same order), over padded,
 * strided, dilated and adaptive geometries, on aligned and unaligned views.
 */
const { mem, kw, js } = setup();

const geometries: Conv2dGeometry[] = [
  { N: 2, C: 3, H: 7, W: 6, O: 4, OH: 7, OW: 6, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, groups: 1 },
  { N: 1, C: 2, H: 9, W: 8, O: 2, OH: 4, OW: 3, kh: 3, kw: 2, sh: 2, sw: 3, ph: 1, pw: 2, dh: 1, dw: 1, groups: 1 },
  { N: 1, C: 4, H: 8, W: 8, O: 4, OH: 4, OW: 6, kh: 3, kw: 3, sh: 1, sw: 1, ph: 0, pw: 1, dh: 2, dw: 1, groups: 2 },
];

describe('wasm convolution loops equal the js ones bitwise', () => {
  geometries.forEach((g, gi) => it(`geometry ${gi}: conv2d forward and backward`, () => {
    const r = rng(10 + gi), Cg = g.C / g.groups, K = Cg * g.kh * g.kw;
    const x = normals(r, g.N * g.C * g.H * g.W), w = normals(r, g.O * K), b = normals(r, g.O), dy = normals(r, g.N * g.O * g.OH * g.OW);
    for (const unaligned of [false, true]) {
      const y = wasm32(mem, new Array(dy.length).fill(0), unaligned), jy = new Float32Array(dy.length);
      kw.conv2d(wasm32(mem, x, unaligned), wasm32(mem, w), wasm32(mem, b), g, y);
      js.conv2d(Float32Array.from(x), Float32Array.from(w), Float32Array.from(b), g, jy);
      // The GEMMs differ (SIMD vs js), so compare the im2col loops themselves bitwise, and conv outputs closely.
      for (let i = 0; i < jy.length; i++) expect(Math.abs(y[i] - jy[i])).toBeLessThan(1e-4);
      const dx = wasm32(mem, new Array(x.length).fill(0), unaligned), jdx = new Float32Array(x.length);
      kw.conv2dBackward(wasm32(mem, x), wasm32(mem, w), wasm32(mem, dy, unaligned), g, dx, null, null);
      js.conv2dBackward(Float32Array.from(x), Float32Array.from(w), Float32Array.from(dy), g, jdx, null, null);
      for (let i = 0; i < jdx.length; i++) expect(Math.abs(dx[i] - jdx[i])).toBeLessThan(1e-4);
    }
  }));

  geometries.forEach((g, gi) => it(`geometry ${gi}: im2col and col2im through the wasm conv match js bitwise`, () => {
    // A conv with one output channel per (c, u, v) tap and a one-hot weight reproduces each row of im2col exactly
    // (products by 1 and 0, sums with zeros), and its input gradient is col2im: so the wasm loops, seen through
    // the wasm conv, must equal the js loops bitwise.
    const r = rng(20 + gi), Cg = g.C / g.groups, K = Cg * g.kh * g.kw, P = g.OH * g.OW;
    const x = Float32Array.from(normals(r, g.C * g.H * g.W));
    const cols = new Float32Array(K * P);
    im2col(x, 0, Cg, g, cols);
    const g1: Conv2dGeometry = { ...g, N: 1, O: K, groups: 1, C: Cg };
    const wt = new Float32Array(K * K);
    for (let k = 0; k < K; k++) wt[k * K + k] = 1;
    const y = wasm32(mem, new Array(K * P).fill(0));
    kw.conv2d(wasm32(mem, x.subarray(0, Cg * g.H * g.W)), wasm32(mem, wt), null, g1, y);
    expectSame(y, cols, 'im2col via one-hot conv');
    // col2im: the backward of that conv with dy = cols gives col2im(cols) (one-hot weight transposed).
    const jdx = new Float32Array(Cg * g.H * g.W);
    col2im(cols, jdx, 0, Cg, g);
    const dx = wasm32(mem, new Array(jdx.length).fill(0));
    kw.conv2dBackward(wasm32(mem, x.subarray(0, jdx.length)), wasm32(mem, wt), wasm32(mem, cols), g1, dx, null, null);
    expectSame(dx, jdx, 'col2im via one-hot conv backward');
  }));
});

describe('wasm pooling equals the js pooling bitwise', () => {
  const cases: [string, number, number, PoolAxis, PoolAxis][] = [
    ['2×2 stride 2', 6, 8, slidingAxis(6, 2, 2, 0, false), slidingAxis(8, 2, 2, 0, false)],
    ['3×3 stride 2 padding 1, pad counted', 7, 5, slidingAxis(7, 3, 2, 1, true), slidingAxis(5, 3, 2, 1, true)],
    ['3×2 stride 1 padding 1, pad not counted', 5, 6, slidingAxis(5, 3, 1, 1, false), slidingAxis(6, 2, 1, 1, false)],
    ['adaptive 7×5 → 3×2', 7, 5, adaptiveAxis(7, 3), adaptiveAxis(5, 2)],
  ];
  for (const [name, H, W, h, w] of cases) it(name, () => {
    const r = rng(H * 31 + W), planes = 6, OH = h.start.length, OW = w.start.length;
    const xv = normals(r, planes * H * W);
    xv[5] = NaN; xv[17] = xv[18]; // a NaN (the maximum) and a tie (the first wins)
    const dyv = normals(r, planes * OH * OW);
    for (const unaligned of [false, true]) {
      const y = wasm32(mem, new Array(planes * OH * OW).fill(0), unaligned), jy = new Float32Array(planes * OH * OW);
      const am = new Int32Array(jy.length), jam = new Int32Array(jy.length);
      kw.maxPool2d(wasm32(mem, xv, unaligned), planes, h, w, y, am);
      js.maxPool2d(Float32Array.from(xv), planes, h, w, jy, jam);
      expectSame(y, jy, `${name} max`);
      expectSame(am, jam, `${name} argmax`);
      const dx = wasm32(mem, new Array(xv.length).fill(3), unaligned), jdx = new Float32Array(xv.length);
      kw.maxPool2dBackward(wasm32(mem, dyv), am, planes, H * W, dx);
      js.maxPool2dBackward(Float32Array.from(dyv), jam, planes, H * W, jdx);
      expectSame(dx, jdx, `${name} max backward`);
      kw.avgPool2d(wasm32(mem, xv, unaligned), planes, h, w, y);
      js.avgPool2d(Float32Array.from(xv), planes, h, w, jy);
      expectSame(y, jy, `${name} avg`);
      kw.avgPool2dBackward(wasm32(mem, dyv, unaligned), planes, h, w, dx);
      js.avgPool2dBackward(Float32Array.from(dyv), planes, h, w, jdx);
      expectSame(dx, jdx, `${name} avg backward`);
    }
  });
});
