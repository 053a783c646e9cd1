import { describe, expect, it } from 'vitest';
import type { Conv2dGeometry, FloatArray, Kernels, SgdHyper } from '../../src/kernels/types.js';
import { expectSame, normals, rng, setup, wasm32 } from './wasm-helpers.js';

/*
 * How the wasm kernels treat arrays that are not float32 views on their memory: JS-heap float32 arrays are
 * staged through temporary blocks (results equal the direct call, no block leaks), float64 data falls back
 * to the js kernels (results identical to js), and the persistent scratch block is never handed out twice.
 * Convolution and pooling run the js kernels on wasm views.
 */

const { mem, kw, js } = setup();
const sgd: SgdHyper = { lr: 0.1, momentum: 0.9, dampening: 0, nesterov: true, weightDecay: 1e-3, initBuf: false, clipValue: 1, gradScale: 1 };

/** A battery of calls over arrays made by `make`, returning every output. */
function battery(k: Kernels, make: (v: number[]) => FloatArray): FloatArray[] {
  const r = rng(42);
  const a = make(normals(r, 6 * 10)), b = make(normals(r, 10)), w = make(normals(r, 10 * 7));
  const outs: FloatArray[] = [];
  const o1 = make(new Array(60).fill(0)); k.binary('mul', a, [6, 10], b, [10], o1, [6, 10]); outs.push(o1);
  const o2 = make(new Array(60).fill(0)); k.unary('tanh', a, o2); outs.push(o2);
  const o3 = make(new Array(10).fill(0)); k.reduce('sum', a, [6, 10], [0], o3); outs.push(o3);
  const o4 = make(new Array(42).fill(0)); k.matmul(a, w, o4, 6, 10, 7, false, false, false); outs.push(o4);
  const o5 = make(new Array(60).fill(0)); k.permute(a, [6, 10], [1, 0], o5); outs.push(o5);
  const p = make(normals(r, 10)), buf = make(normals(r, 10)); k.sgdUpdate(p, b, buf, sgd); outs.push(p, buf);
  const mean = make([0, 0]), vari = make([0, 0]); k.normStats(a, { N: 3, C: 2, S: 10, groups: 0 }, mean, vari); outs.push(mean, vari);
  return outs;
}

describe('wasm staging and fallback', () => {
  it('JS-heap float32 arrays give the same results as wasm views, and leave no blocks behind', () => {
    battery(kw, (v) => Float32Array.from(v)); // first use allocates the persistent scratch block
    const before = mem.stats().blocks;
    const heap = battery(kw, (v) => Float32Array.from(v));
    expect(mem.stats().blocks).toBe(before);
    const direct = battery(kw, (v) => wasm32(mem, v, true));
    heap.forEach((h, i) => expectSame(h, direct[i], `output ${i}`));
  });

  it('float64 data runs the js kernels (identical results)', () => {
    const w64 = battery(kw, (v) => Float64Array.from(v));
    const j64 = battery(js, (v) => Float64Array.from(v));
    w64.forEach((h, i) => expectSame(h, j64[i], `output ${i}`));
  });

  it('a grown scratch block replaces the old one and is never handed out again', () => {
    const blocks = mem.stats().blocks; // includes the small scratch block of the first test
    // A large matmul grows the scratch block inside the scope.
    const [M, K, N] = [64, 300, 2100];
    const r = rng(1);
    const a = wasm32(mem, normals(r, M * K)), b = wasm32(mem, normals(r, K * N)), c = wasm32(mem, new Array(M * N).fill(0));
    kw.matmul(a, b, c, M, K, N, false, false, false);
    // The old scratch block was freed and the grown one allocated: a, b and c are the only new blocks.
    expect(mem.stats().blocks).toBe(blocks + 3);
    for (const v of [a, b, c]) mem.freeView(v);
    // Later allocations reuse the freed blocks; the scratch block must not be among them.
    const x = wasm32(mem, normals(r, 4 * 3 * 50)), dy = wasm32(mem, normals(r, 4 * 3 * 50));
    const l = { N: 4, C: 3, S: 50, groups: 0 };
    const mean = new Float64Array(3), inv = new Float64Array(3);
    js.normStats(x, l, mean, inv);
    for (let i = 0; i < 3; i++) inv[i] = 1 / Math.sqrt(inv[i] + 1e-5);
    const dx = wasm32(mem, new Array(600).fill(0)), jdx = new Float32Array(600);
    const filler = wasm32(mem, new Array(600).fill(7));
    kw.normBackward(x, dy, l, mean, inv, null, dx, null, null);
    js.normBackward(x, dy, l, mean, inv, null, jdx, null, null);
    for (let i = 0; i < 600; i++) expect(Math.abs(dx[i] - jdx[i])).toBeLessThan(1e-5);
    expect(Array.from(filler.subarray(0, 3))).toEqual([7, 7, 7]);
  });

  it('convolution and pooling run the js kernels on wasm views', () => {
    const g: Conv2dGeometry = { N: 2, C: 3, H: 6, W: 5, O: 4, OH: 6, OW: 5, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, groups: 1 };
    const r = rng(2);
    const x = wasm32(mem, normals(r, 2 * 3 * 30)), wt = wasm32(mem, normals(r, 4 * 3 * 9)), b = wasm32(mem, normals(r, 4));
    const y = wasm32(mem, new Array(2 * 4 * 30).fill(0)), jy = new Float32Array(2 * 4 * 30);
    kw.conv2d(x, wt, b, g, y);
    js.conv2d(x, wt, b, g, jy);
    expectSame(y, jy, 'conv2d');
  });
});
