import { afterAll, describe, it } from 'vitest';
import { nn, tensor, type DType } from '../../src/index.js';
import { checkF64, F32Criterion, loadFixture, report, type Quantities } from './golden.js';

/*
 * BatchNorm1d/2d against PyTorch 1.13 golden values (scripts/gen_fixtures.py → test/fixtures/bn_*.json):
 * training steps (forward, backward given dy, running statistics, num_batches_tracked) then an eval step, for
 * every runningStats mode, biased and unbiased running variance, several momenta, affine false, a constant
 * channel and data offset by 1e4. Float64 must match PyTorch's float64 tightly; float32 must be at least as
 * close to PyTorch's float64 as PyTorch's own float32 is.
 */

interface Phase { shape: number[]; x: number[]; dy: number[]; f64: Quantities; f32: Quantities }
interface BnCase {
  name: string;
  module: 'BatchNorm1d' | 'BatchNorm2d';
  numFeatures: number;
  options: nn.BatchNormOptions;
  state: Record<string, number[] | number>;
  steps: Phase[];
  eval: Phase;
}

// Measured worst (NORMLAB_FIXTURE_REPORT=1 prints it): abs 5.5e-11 on values ~1e4 (offset data, rel 5e-15); rel 1.3e-10
// only where offset data cancel to ~2e-4 (abs 2.8e-14, within atol). Without the offset/constant cases: abs 7e-15, rel 4e-12.
const F64 = { rtol: 1e-10, atol: 1e-12 };

/** Runs a case in normlab: the module loaded with the fixture's state dict, then every phase in order. */
function run(c: BnCase, dtype: DType): Quantities[] {
  const Module = c.module === 'BatchNorm1d' ? nn.BatchNorm1d : nn.BatchNorm2d;
  const bn = new Module(c.numFeatures, { ...c.options, dtype });
  bn.loadStateDict(c.state);
  return [...c.steps, c.eval].map((p, i) => {
    bn.train(i < c.steps.length);
    bn.zeroGrad();
    const x = tensor(p.x, p.shape, { dtype, requiresGrad: true });
    const y = bn.forward(x);
    y.backward(tensor(p.dy, p.shape, { dtype }));
    const out: Quantities = { y: [...y.data], dx: [...x.grad!.data] };
    if (bn.weight) { out.weight_grad = [...bn.weight.grad!.data]; out.bias_grad = [...bn.bias!.grad!.data]; }
    if (bn.training && bn.runningMean) {
      out.running_mean = [...bn.runningMean.data];
      out.running_var = [...bn.runningVar!.data];
      out.num_batches_tracked = bn.numBatchesTracked!.data[0];
    }
    return out;
  });
}

const phaseName = (c: BnCase, i: number): string => `${c.name}, ${i < c.steps.length ? `step ${i + 1}` : 'eval'}`;

for (const file of ['bn_2d.json', 'bn_3d.json', 'bn_4d.json']) {
  describe(`BatchNorm vs PyTorch (${file})`, () => {
    const cases = loadFixture<{ cases: BnCase[] }>(file).cases;
    for (const c of cases) {
      const phases = [...c.steps, c.eval];
      it(`${c.name}: float64 matches PyTorch float64`, () => {
        run(c, 'float64').forEach((ours, i) => checkF64(phaseName(c, i), ours, phases[i].f64, F64));
      });
    }
    it('float32 is as close to PyTorch float64 as PyTorch float32 is (per quantity: worst case and typical)', () => {
      const crit = new F32Criterion();
      for (const c of cases) {
        const phases = [...c.steps, c.eval];
        run(c, 'float32').forEach((ours, i) => crit.add(phaseName(c, i), ours, phases[i].f32, phases[i].f64));
      }
      crit.check(file);
    });
  });
}

afterAll(() => report('batchnorm'));
