/**
 * One rank of `normlab train --workers N` (run by distributed.launch in a worker thread): the run's network with
 * SyncBatchNorm inside DistributedDataParallel, trained on this rank's share of each global batch. Rank 0
 * evaluates, reports progress on a BroadcastChannel and returns the metrics.
 */
import { data, distributed, manualSeed, models, nn, tensor, train, type Tensor } from '../src/index.js';
import type { MetricLine } from './train-report.js';
import { makeOptimizer, type TrainConfig } from './train.js';

export interface RankArgs {
  config: TrainConfig;
  /** BroadcastChannel name for rank 0's progress messages. */
  channel: string;
}

export interface RankResult {
  metrics: MetricLine[];
  final: train.EvalResult;
  /** Seconds spent in training steps (evaluation excluded), and the whole loop. */
  trainSeconds: number;
  seconds: number;
  threads: number;
}

/** The network of `normlab train` for a configuration (as trainCommand builds it). */
export function buildModel(config: TrainConfig): nn.Module {
  return config.model === 'cnn'
    ? models.cnn({ bn: config.bn })
    : models.mlp({ hidden: Array.from({ length: config.depth }, () => config.width), activation: config.activation, norm: config.bn ? 'batch' : 'none', initStd: config.initStd ?? undefined, seed: config.seed });
}

export async function main({ rank, worldSize, args }: distributed.RankContext<RankArgs>): Promise<RankResult | null> {
  const { config } = args;
  const mnist = await data.loadMnist();
  const { train: trainSet, test } = data.splitDataset(mnist, { seed: config.seed });
  manualSeed(config.seed);
  const model = nn.SyncBatchNorm.convert(buildModel(config));
  const ddp = new distributed.DistributedDataParallel(model);
  const optimizer = makeOptimizer(config, ddp.parameters());
  const loader = new data.DataLoader(trainSet, { batchSize: config.batch, shuffle: true, dropLast: true, seed: config.seed, shard: { rank, worldSize } });
  // Each rank's mean loss weighted by its share (worldSize·n/batch): DDP's average is then the global batch's gradient.
  const loss = (out: Tensor, y: Int32Array) => nn.functional.crossEntropy(out, y).mul(worldSize * y.length / config.batch);
  const trainer = new train.Trainer({ model: ddp, optimizer, data: loader, loss });
  const progress = rank === 0 ? new BroadcastChannel(args.channel) : null;
  const metrics: MetricLine[] = [];
  let final: train.EvalResult = { loss: NaN, accuracy: NaN };
  let trainMs = 0;
  const t0 = performance.now();
  while (trainer.step < config.steps) {
    const s0 = performance.now();
    const r = trainer.trainStep();
    trainMs += performance.now() - s0;
    if (r.step % 10 === 0) {
      // the global batch's mean loss: the mean over the ranks of their weighted losses
      const global = distributed.allReduce(tensor([r.loss], undefined, { dtype: 'float64' }), 'mean').item();
      metrics.push({ step: r.step, trainLoss: global });
      progress?.postMessage({ step: r.step, loss: global });
    }
    if (rank === 0 && (r.step % config.evalEvery === 0 || r.step === config.steps)) {
      final = train.evaluate(model, test); // eval mode: SyncBatchNorm uses the running statistics, no collectives
      metrics.push({ step: r.step, testLoss: final.loss, testAccuracy: final.accuracy });
      progress?.postMessage({ step: r.step, accuracy: final.accuracy });
    }
    if (r.step % 20 === 0) await new Promise((res) => setImmediate(res)); // let the progress messages go out
  }
  const seconds = (performance.now() - t0) / 1000;
  progress?.close();
  const { getNumThreads } = await import('../src/index.js');
  return rank === 0 ? { metrics, final, trainSeconds: trainMs / 1000, seconds, threads: getNumThreads() } : null;
}
