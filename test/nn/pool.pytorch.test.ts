import { describe, expect, it } from 'vitest';
import { nn, tensor, type Tensor } from '../../src/index.js';
import { expectClose, maxErrors } from '../helpers/close.js';
import { loadFixture } from '../helpers/golden.js';

/*
 * MaxPool2d, AvgPool2d (padding, countIncludePad true and false) and AdaptiveAvgPool2d against PyTorch
 * (scripts/gen_conv_fixtures.py → test/fixtures/conv_pool.json): output and dx, through the functional form
 * and the module. Max-pooling cases with integer inputs have ties: PyTorch sends the gradient to the first
 * maximum of each window, and so must we (exactly). float64 matches to rounding; float32 within a few ulps
 * (a max is exact; an average is a short float sum and one division).
 */

interface PoolCase {
  name: string; op: 'maxPool2d' | 'avgPool2d' | 'adaptiveAvgPool2d';
  options: { kernelSize?: number | [number, number]; stride?: number | [number, number]; padding?: number | [number, number];
    countIncludePad?: boolean; outputSize?: number | [number, number] };
  xShape: number[]; yShape: number[]; x: number[]; dy: number[];
  f64: { y: number[]; dx: number[] }; f32: { y: number[]; dx: number[] };
}

const fixture = loadFixture<{ torch: string; cases: PoolCase[] }>('conv_pool.json');
const f32 = (v: number[]) => Array.from(Float32Array.from(v));

function apply(c: PoolCase, x: Tensor, viaModule: boolean): Tensor {
  const { kernelSize, outputSize, ...o } = c.options;
  switch (c.op) {
    case 'maxPool2d': return viaModule ? new nn.MaxPool2d(kernelSize!, o).forward(x) : nn.functional.maxPool2d(x, kernelSize!, o);
    case 'avgPool2d': return viaModule ? new nn.AvgPool2d(kernelSize!, o).forward(x) : nn.functional.avgPool2d(x, kernelSize!, o);
    default: return viaModule ? new nn.AdaptiveAvgPool2d(outputSize!).forward(x) : nn.functional.adaptiveAvgPool2d(x, outputSize!);
  }
}

function run(c: PoolCase, dtype: 'float32' | 'float64', viaModule: boolean) {
  const x = tensor(f32(c.x), c.xShape, { dtype, requiresGrad: true });
  const y = apply(c, x, viaModule);
  expect(y.shape, `${c.name}: output shape`).toEqual(c.yShape);
  y.backward(tensor(f32(c.dy), c.yShape, { dtype }));
  return { y: [...y.data], dx: [...x.grad!.data] };
}

describe(`pooling matches PyTorch ${fixture.torch}`, () => {
  it('the fixture covers max, average (both countIncludePad) and adaptive pooling, with ties', () => {
    const names = fixture.cases.map((c) => c.name).join('\n');
    for (const w of ['maxPool2d', 'ties', 'avgPool2d', 'no countIncludePad', 'adaptiveAvgPool2d 1', 'p1']) expect(names).toContain(w);
  });

  let worst64 = 0, worst32 = 0;
  for (const c of fixture.cases) {
    it(`${c.name}: float64 and float32, functional and module`, () => {
      for (const viaModule of [false, true]) {
        const r64 = run(c, 'float64', viaModule), r32 = run(c, 'float32', viaModule);
        for (const q of ['y', 'dx'] as const) {
          const label = `${c.name} ${q}${viaModule ? ' (module)' : ''}`;
          if (c.op === 'maxPool2d') {
            // a max selects an input and routes dy unchanged: exact in both precisions
            expect(r64[q], `${label} float64`).toEqual(c.f64[q]);
            expect(r32[q], `${label} float32`).toEqual(f32(c.f32[q]));
          } else {
            expectClose(r64[q], c.f64[q], { rtol: 1e-14, atol: 1e-15 }, `${label} float64`);
            expectClose(r32[q], c.f64[q], { rtol: 4e-7, atol: 1e-7 }, `${label} float32`);
          }
          worst64 = Math.max(worst64, maxErrors(r64[q], c.f64[q]).abs);
          worst32 = Math.max(worst32, maxErrors(r32[q], c.f64[q]).abs);
        }
      }
    });
  }

  it('report (NORMLAB_FIXTURE_REPORT=1)', () => {
    if (process.env.NORMLAB_FIXTURE_REPORT) console.log(`pooling: float64 max abs error ${worst64}, float32 max abs error ${worst32}`);
    expect(worst64).toBeLessThan(1e-12);
  });
});
