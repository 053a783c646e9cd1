import { describe, expect, it } from 'vitest';
import { Rng, manualSeed, nn, optim, randn, tensor, type Tensor } from '../../src/index.js';
import { expectClose } from '../helpers/close.js';

/*
 * nn.Conv2d as a module (parameters, PyTorch init, state dict) and conv2d against an independent direct-loop
 * reference (forward and the three gradients) over random geometries, in float64.
 */

interface Geo { N: number; C: number; H: number; W: number; O: number; kh: number; kw: number;
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number; groups: number }

/** y, dx, dW, db by the definition, one multiply-add at a time. */
function reference(g: Geo, x: Float64Array, w: Float64Array, b: Float64Array | null, dy: Float64Array) {
  const OH = Math.floor((g.H + 2 * g.ph - g.dh * (g.kh - 1) - 1) / g.sh) + 1;
  const OW = Math.floor((g.W + 2 * g.pw - g.dw * (g.kw - 1) - 1) / g.sw) + 1;
  const Cg = g.C / g.groups, Og = g.O / g.groups;
  const y = new Float64Array(g.N * g.O * OH * OW), dx = new Float64Array(x.length), dw = new Float64Array(w.length), db = new Float64Array(g.O);
  const X = (n: number, c: number, i: number, j: number) => ((n * g.C + c) * g.H + i) * g.W + j;
  for (let n = 0; n < g.N; n++) for (let o = 0; o < g.O; o++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
    const yi = ((n * g.O + o) * OH + i) * OW + j;
    let s = b ? b[o] : 0;
    db[o] += dy[yi];
    for (let c = 0; c < Cg; c++) for (let u = 0; u < g.kh; u++) for (let v = 0; v < g.kw; v++) {
      const ih = i * g.sh - g.ph + u * g.dh, iw = j * g.sw - g.pw + v * g.dw;
      if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
      const xi = X(n, Math.floor(o / Og) * Cg + c, ih, iw), wi = ((o * Cg + c) * g.kh + u) * g.kw + v;
      s += w[wi] * x[xi];
      dx[xi] += w[wi] * dy[yi];
      dw[wi] += x[xi] * dy[yi];
    }
    y[yi] = s;
  }
  return { y, dx, dw, db, shape: [g.N, g.O, OH, OW] };
}

function randomGeo(rng: Rng): Geo {
  const pick = (a: number, b: number) => a + rng.int(b - a + 1);
  const groups = [1, 1, 2, 3][rng.int(4)];
  const g: Geo = { N: pick(1, 3), C: groups * pick(1, 3), O: groups * pick(1, 3), H: pick(1, 9), W: pick(1, 9),
    kh: pick(1, 4), kw: pick(1, 4), sh: pick(1, 3), sw: pick(1, 3), ph: pick(0, 2), pw: pick(0, 2), dh: pick(1, 3), dw: pick(1, 3), groups };
  if (rng.uniform() < 0.25) Object.assign(g, { kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0 }); // the pointwise path
  return g;
}

describe('conv2d against a direct-loop reference (float64, random geometries)', () => {
  it('200 random geometries: y, dx, dW, db', () => {
    const rng = new Rng(42);
    let tested = 0;
    while (tested < 200) {
      const g = randomGeo(rng);
      if (g.H + 2 * g.ph < g.dh * (g.kh - 1) + 1 || g.W + 2 * g.pw < g.dw * (g.kw - 1) + 1) continue; // kernel too large
      const opts = { stride: [g.sh, g.sw] as [number, number], padding: [g.ph, g.pw] as [number, number], dilation: [g.dh, g.dw] as [number, number], groups: g.groups };
      const x = randn([g.N, g.C, g.H, g.W], { dtype: 'float64', requiresGrad: true, rng });
      const w = randn([g.O, g.C / g.groups, g.kh, g.kw], { dtype: 'float64', requiresGrad: true, rng });
      const b = rng.uniform() < 0.5 ? randn([g.O], { dtype: 'float64', requiresGrad: true, rng }) : null;
      const y = nn.functional.conv2d(x, w, b, opts);
      const dy = randn(y.shape, { dtype: 'float64', rng });
      y.backward(dy);
      const ref = reference(g, x.data as Float64Array, w.data as Float64Array, b ? b.data as Float64Array : null, dy.data as Float64Array);
      const label = JSON.stringify(g);
      expect(y.shape, label).toEqual(ref.shape);
      const tol = { rtol: 1e-12, atol: 1e-12 };
      expectClose(y, ref.y, tol, `${label} y`);
      expectClose(x.grad!, ref.dx, tol, `${label} dx`);
      expectClose(w.grad!, ref.dw, tol, `${label} dW`);
      if (b) expectClose(b.grad!, ref.db, tol, `${label} db`);
      tested++;
    }
  });

  it('gradients accumulate into .grad over two backward passes (dW over the batch, not just the last image)', () => {
    const x = randn([3, 2, 4, 4], { dtype: 'float64', requiresGrad: true });
    const conv = new nn.Conv2d(2, 3, 3, { padding: 1, dtype: 'float64' });
    conv.forward(x).sum().backward();
    const once = Array.from(conv.weight.grad!.data);
    conv.forward(x).sum().backward();
    expectClose(conv.weight.grad!, once.map((v) => 2 * v), { rtol: 1e-12, atol: 1e-12 }, 'dW twice');
    // each image contributes: the batch gradient is the sum of the per-image ones
    const per = [0, 1, 2].map((n) => {
      const xn = tensor(x.data.slice(n * 32, (n + 1) * 32), [1, 2, 4, 4], { dtype: 'float64' });
      const w = conv.weight.detach().clone(); w.requiresGrad = true;
      nn.functional.conv2d(xn, w, null, { padding: 1 }).sum().backward();
      return Array.from(w.grad!.data);
    });
    expectClose(once, per[0].map((v, i) => v + per[1][i] + per[2][i]), { rtol: 1e-12, atol: 1e-12 }, 'dW = Σ_n dW_n');
  });
});

describe('nn.Conv2d module', () => {
  it('parameters named as PyTorch: weight [out, in/groups, kh, kw], bias [out]; bias: false drops it', () => {
    const conv = new nn.Conv2d(6, 4, [3, 2], { groups: 2 });
    const sd = conv.stateDict();
    expect(Object.keys(sd)).toEqual(['weight', 'bias']);
    expect(sd.weight.shape).toEqual([4, 3, 3, 2]);
    expect(sd.bias.shape).toEqual([4]);
    expect(Object.keys(new nn.Conv2d(2, 2, 1, { bias: false }).stateDict())).toEqual(['weight']);
    expect(new nn.Conv2d(2, 2, 1, { dtype: 'float64' }).weight.dtype).toBe('float64');
    expect(conv.kernelSize).toEqual([3, 2]);
    expect(conv.stride).toEqual([1, 1]);
  });

  it('default init as PyTorch: W and b uniform in ±1/√fanIn, fanIn = in/groups·kh·kw (W variance bound²/3)', () => {
    manualSeed(3);
    const conv = new nn.Conv2d(32, 64, 3, { groups: 2 });
    const bound = 1 / Math.sqrt(16 * 9);
    const w = Array.from(conv.weight.data), b = Array.from(conv.bias!.data);
    for (const v of [...w, ...b]) expect(Math.abs(v)).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.99 * bound);
    const mean = w.reduce((s, v) => s + v, 0) / w.length, variance = w.reduce((s, v) => s + v * v, 0) / w.length;
    expect(Math.abs(mean)).toBeLessThan(5 * bound / Math.sqrt(3 * w.length));
    expect(Math.abs(variance - bound ** 2 / 3)).toBeLessThan(5 * bound ** 2 * Math.sqrt(4 / 45 / w.length));
    // reproducible from the global seed
    manualSeed(3);
    expect(Array.from(new nn.Conv2d(32, 64, 3, { groups: 2 }).weight.data)).toEqual(w);
  });

  it('float32 agrees with float64 on the same parameters', () => {
    const c64 = new nn.Conv2d(4, 6, 3, { stride: 2, padding: 1, dtype: 'float64' });
    const c32 = new nn.Conv2d(4, 6, 3, { stride: 2, padding: 1 });
    c32.loadStateDict(c64.stateDict());
    const x = randn([2, 4, 9, 9], { dtype: 'float64' });
    expectClose(c32.forward(x.to('float32')), c64.forward(x), { rtol: 1e-5, atol: 1e-5 }, 'float32 vs float64');
  });

  it('a small CNN (Conv2d, BatchNorm2d, ReLU, MaxPool2d, AdaptiveAvgPool2d, Flatten, Dropout, Linear) learns', () => {
    manualSeed(0);
    const model = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Conv2d(4, 8, 3, { padding: 1 }), new nn.ReLU(), new nn.AdaptiveAvgPool2d(1), new nn.Flatten(),
      new nn.Dropout(0.1), new nn.Linear(8, 2));
    expect(Object.keys(model.stateDict())).toContain('4.weight');
    // class 1: a bright square in the top-left quadrant; class 0: in the bottom-right one
    const rng = new Rng(5), N = 16;
    const x = randn([N, 1, 8, 8], { rng }).mul(0.1), labels: number[] = [];
    for (let n = 0; n < N; n++) {
      const c = n % 2, o = c ? 0 : 4;
      labels.push(c);
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) x.data[n * 64 + (o + i) * 8 + o + j] += 1;
    }
    const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const loss = () => nn.functional.crossEntropy(model.forward(x), labels);
    const first = loss().item();
    for (let step = 0; step < 30; step++) { opt.zeroGrad(); loss().backward(); opt.step(); }
    model.eval();
    const last = loss().item();
    expect(last).toBeLessThan(0.5 * first);
  });
});
