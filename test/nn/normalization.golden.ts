import { describe, it } from 'vitest';
import { nn, tensor, type DType, type Tensor } from '../../src/index.js';
import { checkF64, F32Criterion, loadFixture, type Quantities } from '../pytorch/golden.js';

/*
 * Runner for the fixtures of scripts/gen_norm_fixtures.py (test/fixtures/norm_*.json): build the module named
 * by the case, load its state dict, run every phase (train/eval, forward, backward given dy, optional new
 * renorm limits) and collect the same quantities PyTorch recorded.
 */

export interface NormPhase {
  training: boolean;
  shape: number[];
  x: number[];
  dy: number[];
  renorm?: { rMax: number; dMax: number };
  f64: Quantities;
  f32: Quantities;
}

export interface NormCase {
  name: string;
  module: 'LayerNorm' | 'GroupNorm' | 'InstanceNorm1d' | 'InstanceNorm2d' | 'BatchNorm1d' | 'BatchNorm2d';
  args: (number | number[])[];
  options: Record<string, unknown>;
  state: Record<string, number[] | number>;
  phases: NormPhase[];
}

/** What the runner reads from any of the modules. */
type AnyNorm = nn.Module & { weight: Tensor | null; bias: Tensor | null; runningMean?: Tensor | null; runningVar?: Tensor | null; numBatchesTracked?: Tensor | null };

export function makeModule(c: NormCase, dtype: DType): AnyNorm {
  const Ctor = nn[c.module] as unknown as new (...a: unknown[]) => AnyNorm;
  return new Ctor(...c.args, { ...c.options, dtype });
}

/** Every phase of a case in normlab, in order; the quantities named as in the fixture. */
export function runCase(c: NormCase, dtype: DType): Quantities[] {
  const m = makeModule(c, dtype);
  m.loadStateDict(c.state);
  return c.phases.map((p) => {
    m.train(p.training);
    if (p.renorm) (m as unknown as nn.BatchNorm).renorm = p.renorm;
    m.zeroGrad();
    const x = tensor(p.x, p.shape, { dtype, requiresGrad: true });
    const y = m.forward(x);
    y.backward(tensor(p.dy, p.shape, { dtype }));
    const out: Quantities = { y: [...y.data], dx: [...x.grad!.data] };
    if (m.weight) { out.weight_grad = [...m.weight.grad!.data]; out.bias_grad = [...m.bias!.grad!.data]; }
    if (p.training && m.runningMean) {
      out.running_mean = [...m.runningMean.data];
      out.running_var = [...m.runningVar!.data];
      out.num_batches_tracked = m.numBatchesTracked!.data[0];
    }
    return out;
  });
}

const phaseName = (c: NormCase, i: number): string => `${c.name}, phase ${i + 1} (${c.phases[i].training ? 'train' : 'eval'})`;

/** Float64 against PyTorch float64 per case; float32 against PyTorch float32 (F32Criterion) over the file. */
export function describeFixture(file: string, f64: { rtol: number; atol: number }): void {
  describe(`${file}: PyTorch golden values`, () => {
    const cases = loadFixture<{ cases: NormCase[] }>(file).cases;
    for (const c of cases) {
      it(`${c.name}: float64 matches PyTorch float64`, () => {
        runCase(c, 'float64').forEach((ours, i) => checkF64(phaseName(c, i), ours, c.phases[i].f64, f64));
      });
    }
    it('float32 is as close to PyTorch float64 as PyTorch float32 is (per quantity: worst case and typical)', () => {
      const crit = new F32Criterion();
      for (const c of cases) runCase(c, 'float32').forEach((ours, i) => crit.add(phaseName(c, i), ours, c.phases[i].f32, c.phases[i].f64));
      crit.check(file);
    });
  });
}
