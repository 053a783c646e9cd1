/**
 * One rank of claim 8's SyncBN arm (run by distributed.launch from claim8-sync.ts): the arm's MLP with every
 * BatchNorm1d converted to nn.SyncBatchNorm, wrapped in DistributedDataParallel; each step draws the global
 * batch of 2·batch samples (the same order on both ranks, seeded) and trains on this rank's half.
 */
import { distributed, nn, optim, tensor, train, data as dataset, scope } from '../src/index.js';
import { loadDigits, normMlp } from './common.js';

/** One training run: per-rank batch size, steps, learning rate. */
export interface Claim8RankJob {
  batch: number;
  steps: number;
  lr: number;
}

export interface Claim8RankArgs {
  hidden: number[];
  seed: number;
  /** The runs, one after the other, each from the seed's initial weights (one launch for all: ranks start once). */
  jobs: Claim8RankJob[];
  trainSize: number;
  testSize: number;
  splitSeed: number;
  /** Steps done by rank 0, for the progress bar (Int32Array over a SharedArrayBuffer, one element). */
  progress: SharedArrayBuffer;
}

export async function main({ rank, worldSize, args }: distributed.RankContext<Claim8RankArgs>): Promise<number[]> {
  const { train: trainSet, test } = await loadDigits(args.trainSize, args.testSize, args.splitSeed);
  const accuracies: number[] = [];
  for (const job of args.jobs) accuracies.push(runJob(rank, worldSize, args, job, trainSet, test));
  return accuracies;
}

function runJob(rank: number, worldSize: number, args: Claim8RankArgs, job: Claim8RankJob, trainSet: dataset.Dataset, test: dataset.Dataset): number {
  const model = nn.SyncBatchNorm.convert(normMlp({ hidden: args.hidden, activation: 'relu', norm: (w) => new nn.BatchNorm1d(w), seed: args.seed })) as nn.Module;
  const ddp = new distributed.DistributedDataParallel(model);
  const optimizer = new optim.SGD(ddp.parameters(), { lr: job.lr });
  const loader = new dataset.DataLoader(trainSet, { batchSize: worldSize * job.batch, shuffle: true, dropLast: true, seed: args.seed });
  const batches = loader.batches();
  const counter = new Int32Array(args.progress);
  const F = trainSet.features;
  for (let step = 0; step < job.steps; step++) {
    scope(() => {
      const b = batches.next().value!;
      const lo = rank * job.batch, hi = lo + job.batch;
      const x = tensor(b.x.data.subarray(lo * F, hi * F), [job.batch, F]);
      const loss = nn.functional.crossEntropy(ddp.forward(x), b.y.subarray(lo, hi));
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
    });
    if (rank === 0) Atomics.add(counter, 0, 1);
  }
  return rank === 0 ? train.evaluate(model, test).accuracy : NaN;
}
