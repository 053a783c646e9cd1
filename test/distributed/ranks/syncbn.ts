// A rank of the SyncBatchNorm equivalence tests: its slice of each global batch through SyncBatchNorm (float64, js
// backend), forward, and backward with its slice of a global upstream gradient.
import { nn, setBackend, tensor, type RankContext } from './lib.js';

export interface SyncBnArgs {
  /** Shape of one sample: [C, ...spatial]. */
  shape: number[];
  C: number;
  options: nn.SyncBatchNormOptions;
  /** Global batches (flat, row-major), the ranks' slice sizes, and γ, β to use for the batch. */
  batches: { x: number[]; dy: number[]; sizes: number[]; weight: number[]; bias: number[] }[];
}

export function main({ rank, args }: RankContext<SyncBnArgs>) {
  setBackend('js');
  const { shape, C, batches, options } = args;
  const bn = new nn.SyncBatchNorm(C, { ...options, dtype: 'float64' });
  const per = shape.reduce((p, d) => p * d, 1);
  const flat = (t: { toArray(): unknown }) => [t.toArray()].flat(Infinity) as number[];
  const steps = batches.map(({ x, dy, sizes, weight, bias }) => {
    if (bn.weight && bn.bias) { bn.weight.data.set(weight); bn.bias.data.set(bias); }
    const start = sizes.slice(0, rank).reduce((p, n) => p + n, 0), n = sizes[rank];
    const xs = tensor(Float64Array.from(x.slice(start * per, (start + n) * per)), [n, ...shape], { dtype: 'float64', requiresGrad: true });
    const y = bn.forward(xs);
    y.backward(tensor(Float64Array.from(dy.slice(start * per, (start + n) * per)), [n, ...shape], { dtype: 'float64' }));
    const out = { y: flat(y), dx: flat(xs.grad!), dweight: bn.weight ? flat(bn.weight.grad!) : null, dbias: bn.bias ? flat(bn.bias.grad!) : null };
    bn.zeroGrad();
    return out;
  });
  return { steps, runningMean: bn.runningMean ? flat(bn.runningMean) : null, runningVar: bn.runningVar ? flat(bn.runningVar) : null, tracked: bn.numBatchesTracked?.item() ?? null };
}
