// A rank of the data-parallel training test: DDP + SyncBatchNorm, SGD with momentum, float64 on the js backend.
// Each rank starts from different weights (its own seed): DDP's broadcast must make them rank 0's.
import { distributed, manualSeed, nn, optim, setBackend, tensor, type RankContext } from './lib.js';

export function makeModel(): nn.Sequential {
  return new nn.Sequential(
    new nn.Linear(6, 8, { dtype: 'float64' }), new nn.BatchNorm1d(8, { dtype: 'float64', momentum: 0.8 }), new nn.ReLU(),
    new nn.Linear(8, 5, { dtype: 'float64' }), new nn.BatchNorm1d(5, { dtype: 'float64', affine: false }), new nn.Tanh(),
    new nn.Linear(5, 3, { dtype: 'float64' }));
}

export interface DdpArgs {
  seed0: number;
  lr: number;
  features: number;
  bucketElements: number;
  /** Global batches (x flat [N, features]) and the ranks' slice sizes. */
  batches: { x: number[]; y: number[]; sizes: number[] }[];
}

export function main({ rank, worldSize, args }: RankContext<DdpArgs>) {
  setBackend('js');
  manualSeed(args.seed0 + rank);
  const ddp = new distributed.DistributedDataParallel(nn.SyncBatchNorm.convert(makeModel()), { bucketElements: args.bucketElements });
  const opt = new optim.SGD(ddp.parameters(), { lr: args.lr, momentum: 0.9 });
  const f = args.features, losses: number[] = [];
  for (const { x, y, sizes } of args.batches) {
    const N = sizes.reduce((p, n) => p + n, 0);
    const start = sizes.slice(0, rank).reduce((p, n) => p + n, 0), n = sizes[rank];
    const xs = tensor(Float64Array.from(x.slice(start * f, (start + n) * f)), [n, f], { dtype: 'float64' });
    // each rank's mean loss scaled by worldSize·n/N: the averaged gradient is the global batch's
    const loss = nn.functional.crossEntropy(ddp.forward(xs), y.slice(start, start + n)).mul(worldSize * n / N);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    losses.push(loss.item());
  }
  const state = Object.fromEntries(Object.entries(ddp.module.stateDict()).map(([k, t]) => [k, [t.toArray()].flat(Infinity) as number[]]));
  return { state, losses, reductions: ddp.reductions };
}
