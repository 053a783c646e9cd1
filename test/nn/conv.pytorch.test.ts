import { describe, expect, it } from 'vitest';
import { nn, tensor, type Tensor } from '../../src/index.js';
import { expectClose, maxErrors } from '../helpers/close.js';
import { loadFixture } from '../helpers/golden.js';

/*
 * nn.functional.conv2d and nn.Conv2d against PyTorch (scripts/gen_conv_fixtures.py → test/fixtures/conv_conv2d.json):
 * the output and every gradient (dx, dW, db) for stride, padding, dilation, groups (depthwise too), no bias,
 * non-square kernels and strides, 1×1 kernels. float64 must match PyTorch's float64 to ~1e-13 relative;
 * float32 must stay within a float32 error bound of PyTorch's float64 result (see F32 below), and the test
 * also reports how our float32 error compares with PyTorch's own float32 error.
 */

type Opts = nn.Conv2dFnOptions;
type Result = Record<'y' | 'dx' | 'dw', number[]> & { db?: number[] };
interface ConvCase {
  name: string; options: Opts; xShape: number[]; wShape: number[]; yShape: number[];
  x: number[]; w: number[]; b: number[] | null; dy: number[]; f64: Result; f32: Result;
}

const fixture = loadFixture<{ torch: string; cases: ConvCase[] }>('conv_conv2d.json');

/** float64: rounding differences only (different summation order). */
const F64 = { rtol: 1e-12, atol: 1e-13 };

/** Fixture inputs are float32 values in their shortest decimal form: round them back to float32 exactly. */
const f32 = (v: number[]) => Array.from(Float32Array.from(v));

function run(c: ConvCase, dtype: 'float32' | 'float64', viaModule: boolean): Result {
  const x = tensor(f32(c.x), c.xShape, { dtype, requiresGrad: true });
  let w: Tensor, b: Tensor | null, y: Tensor;
  if (viaModule) {
    const [O, Cg, kh, kw] = c.wShape, g = c.options.groups ?? 1;
    const conv = new nn.Conv2d(Cg * g, O, [kh, kw], { ...c.options, bias: c.b !== null, dtype });
    conv.loadStateDict(c.b ? { weight: f32(c.w), bias: f32(c.b) } : { weight: f32(c.w) });
    w = conv.weight; b = conv.bias;
    y = conv.forward(x);
  } else {
    w = tensor(f32(c.w), c.wShape, { dtype, requiresGrad: true });
    b = c.b ? tensor(f32(c.b), [c.wShape[0]], { dtype, requiresGrad: true }) : null;
    y = nn.functional.conv2d(x, w, b, c.options);
  }
  expect(y.shape, `${c.name}: output shape`).toEqual(c.yShape);
  y.backward(tensor(f32(c.dy), c.yShape, { dtype }));
  const r: Result = { y: [...y.data], dx: [...x.grad!.data], dw: [...w.grad!.data] };
  if (b) r.db = [...b.grad!.data];
  return r;
}

/**
 * float32 bound per element: |ours − ref64| ≤ 8·2⁻²⁴·(Σ|terms| of that element), with Σ|terms| computed in
 * float64 from the same inputs (|W|·|x| for y, |W|·|dy| for dx, |dy|·|x| for dW, |dy| for db). This is the
 * classical bound for a float32 sum, of order n·u·Σ|terms|, taken far tighter (8u instead of n·u): a
 * wrong index or a missing term fails it by orders of magnitude.
 */
function magnitudes(c: ConvCase): Result {
  const abs = (v: number[]) => f32(v).map(Math.abs);
  const x = tensor(abs(c.x), c.xShape, { dtype: 'float64', requiresGrad: true });
  const w = tensor(abs(c.w), c.wShape, { dtype: 'float64', requiresGrad: true });
  const b = c.b ? tensor(abs(c.b), [c.wShape[0]], { dtype: 'float64', requiresGrad: true }) : null;
  const y = nn.functional.conv2d(x, w, b, c.options);
  y.backward(tensor(abs(c.dy), c.yShape, { dtype: 'float64' }));
  const r: Result = { y: [...y.data], dx: [...x.grad!.data], dw: [...w.grad!.data] };
  if (b) r.db = [...b.grad!.data];
  return r;
}

const U32 = 2 ** -24;
const report: string[] = [];
const worst = { f64Abs: 0, f64Rel: 0, f32BoundUse: 0 };

describe(`conv2d matches PyTorch ${fixture.torch}`, () => {
  it('the fixture has the cases it should', () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(15);
    const names = fixture.cases.map((c) => c.name).join('\n');
    for (const word of ['stride', 'padding', 'dilation', 'groups', 'depthwise', 'no bias', 'non-square', '1x1']) expect(names).toContain(word);
  });

  for (const c of fixture.cases) {
    it(`${c.name}: float64 (functional and module)`, () => {
      for (const viaModule of [false, true]) {
        const ours = run(c, 'float64', viaModule);
        expect(Object.keys(ours).sort()).toEqual(Object.keys(c.f64).sort());
        for (const q of Object.keys(c.f64) as (keyof Result)[])
          expectClose(ours[q]!, c.f64[q]!, F64, `${c.name} float64 ${q}${viaModule ? ' (module)' : ''}`);
        for (const q of Object.keys(c.f64) as (keyof Result)[]) {
          const e = maxErrors(ours[q]!, c.f64[q]!);
          worst.f64Abs = Math.max(worst.f64Abs, e.abs);
          worst.f64Rel = Math.max(worst.f64Rel, e.rel);
        }
      }
    });

    it(`${c.name}: float32 within the float32 bound`, () => {
      const ours = run(c, 'float32', false), mag = magnitudes(c);
      for (const q of Object.keys(c.f64) as (keyof Result)[]) {
        const got = ours[q]!, want = c.f64[q]!, m = mag[q]!;
        for (let i = 0; i < want.length; i++) {
          const d = Math.abs(got[i] - want[i]), bound = 8 * U32 * m[i];
          if (bound > 0) worst.f32BoundUse = Math.max(worst.f32BoundUse, d / bound);
          if (!(d <= bound)) expect.fail(`${c.name} float32 ${q}[${i}]: got ${got[i]}, PyTorch float64 ${want[i]} (|diff| ${d} > ${bound} = 8u·Σ|terms|)`);
        }
        const mine = maxErrors(got, want).abs, theirs = maxErrors(Float32Array.from(c.f32[q]!), want).abs;
        report.push(`${q.padEnd(2)} ours ${mine.toExponential(2)} torch ${theirs.toExponential(2)}  ${c.name}`);
      }
    });
  }

  it('report (NORMLAB_FIXTURE_REPORT=1 prints float32 errors vs PyTorch float64)', () => {
    if (process.env.NORMLAB_FIXTURE_REPORT)
      console.log(`${report.join('\n')}\nfloat64: max abs ${worst.f64Abs}, max rel ${worst.f64Rel}; float32: worst |diff|/(8u·Σ|terms|) = ${worst.f32BoundUse}`);
    expect(report.length).toBeGreaterThan(0);
  });
});
