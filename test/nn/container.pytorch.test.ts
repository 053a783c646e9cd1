import { afterAll, describe, it } from 'vitest';
import { nn, noGrad, tensor, type DType } from '../../src/index.js';
import { checkF64, F32Criterion, loadFixture, report, type Quantities } from '../helpers/golden.js';

/*
 * nn.Sequential (src/nn/container.ts) of Linear(no bias) → BatchNorm1d → Sigmoid → Linear with cross-entropy,
 * against PyTorch 1.13 golden values (scripts/gen_fixtures.py → test/fixtures/net_mlp.json): one training step
 * (loss, every parameter gradient, the input gradient, the BN running statistics after the step) and an eval
 * forward with those statistics.
 * Parameters are loaded by their PyTorch state-dict names.
 */

interface NetCase {
  name: string;
  sizes: [number, number, number];
  momentum: number;
  state: Record<string, number[] | number[][] | number>;
  x: number[]; labels: number[]; x_eval: number[]; labels_eval: number[];
  f64: Quantities; f32: Quantities;
}

// Measured worst (NORMLAB_FIXTURE_REPORT=1 prints it): abs 3.3e-16, rel 7.1e-14.
const F64 = { rtol: 1e-12, atol: 1e-15 };

function run(c: NetCase, dtype: DType): Quantities {
  const [I, H, K] = c.sizes, N = c.labels.length;
  const model = new nn.Sequential(new nn.Linear(I, H, { bias: false, dtype }), new nn.BatchNorm1d(H, { momentum: c.momentum, dtype }),
    new nn.Sigmoid(), new nn.Linear(H, K, { dtype }));
  model.loadStateDict(c.state);
  const x = tensor(c.x, [N, I], { dtype, requiresGrad: true });
  const loss = nn.functional.crossEntropy(model.forward(x), c.labels);
  loss.backward();
  const out: Quantities = { loss: [loss.item()], input_grad: [...x.grad!.data] };
  for (const [name, p] of model.namedParameters()) out[`${name}.grad`] = [...p.grad!.data];
  const bn = model.at(1) as nn.BatchNorm1d;
  out['1.running_mean'] = [...bn.runningMean!.data];
  out['1.running_var'] = [...bn.runningVar!.data];
  out['1.num_batches_tracked'] = bn.numBatchesTracked!.data[0];
  model.eval();
  noGrad(() => {
    const logits = model.forward(tensor(c.x_eval, [c.labels_eval.length, I], { dtype }));
    out.eval_logits = [...logits.data];
    out.eval_loss = [nn.functional.crossEntropy(logits, c.labels_eval).item()];
  });
  return out;
}

describe('Linear → BatchNorm1d → Sigmoid → Linear vs PyTorch (net_mlp.json)', () => {
  const cases = loadFixture<{ cases: NetCase[] }>('net_mlp.json').cases;
  for (const c of cases) {
    it(`${c.name}: float64 matches PyTorch float64`, () => {
      checkF64(c.name, run(c, 'float64'), c.f64, F64);
    });
  }
  it('float32 is as close to PyTorch float64 as PyTorch float32 is (per quantity: worst case and typical)', () => {
    const crit = new F32Criterion();
    for (const c of cases) crit.add(c.name, run(c, 'float32'), c.f32, c.f64);
    crit.check('net_mlp.json');
  });
});

afterAll(() => report('net'));
