/**
 * `normlab train --workers N`: data-parallel training over N worker threads (distributed.launch; each rank in
 * cli/train-rank.ts) with SyncBatchNorm, the global batch being --batch. Also measures one worker's throughput
 * on the same configuration in this thread, so the summary can say what the workers bought.
 */
import { join } from 'node:path';
import { data, distributed, getNumThreads, manualSeed, nn, train, type Tensor } from '../src/index.js';
import { createProgress } from './progress.js';
import { trainReportHtml } from './train-report.js';
import { buildModel, type RankArgs, type RankResult } from './train-rank.js';
import { makeOptimizer, type TrainConfig } from './train.js';
import { io } from '../src/index.js';

/** Training samples per second of one worker (this thread, every core for the kernels) over `steps` steps after a warm-up. */
async function oneWorkerThroughput(config: TrainConfig, steps: number): Promise<number> {
  const mnist = await data.loadMnist();
  const { train: trainSet } = data.splitDataset(mnist, { seed: config.seed });
  manualSeed(config.seed);
  const model = buildModel(config);
  const trainer = new train.Trainer({
    model, optimizer: makeOptimizer(config, model.parameters()),
    data: new data.DataLoader(trainSet, { batchSize: config.batch, shuffle: true, dropLast: true, seed: config.seed }),
    loss: (out: Tensor, y: Int32Array) => nn.functional.crossEntropy(out, y),
  });
  const warm = Math.min(10, steps);
  for (let i = 0; i < warm; i++) trainer.trainStep();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) trainer.trainStep();
  return steps * config.batch / ((performance.now() - t0) / 1000);
}

export async function trainWorkers(config: TrainConfig, workers: number, { out, say, title }: { out: string; say: (s: string) => void; title: string }): Promise<Record<string, unknown>> {
  if (config.batch % workers !== 0) say(`note: --batch ${config.batch} does not split evenly over ${workers} workers; the shares differ by one sample (losses are weighted so the gradient is still the global batch's)`);
  say(`normlab train: ${title}, data-parallel over ${workers} worker threads (SyncBatchNorm)`);
  const channel = `normlab-train-${process.pid}-${Date.now()}`;
  const bc = new BroadcastChannel(channel);
  const progress = createProgress();
  progress.add('train', config.steps);
  let acc = '';
  bc.onmessage = (e: MessageEvent) => {
    const m = e.data as { step: number; loss?: number; accuracy?: number };
    if (m.accuracy !== undefined) acc = `test acc ${(100 * m.accuracy).toFixed(2)}%`;
    progress.update('train', m.step, { loss: m.loss, info: acc });
  };
  (bc as unknown as { unref?: () => void }).unref?.();
  const t0 = performance.now();
  let results: (RankResult | null)[];
  try {
    results = await distributed.launch<RankResult | null, RankArgs>(workers, new URL('./train-rank.js', import.meta.url), { config, channel });
  } finally {
    bc.close();
    progress.stop();
  }
  const wall = (performance.now() - t0) / 1000;
  const r0 = results[0]!;
  const samplesPerSecond = config.steps * config.batch / r0.trainSeconds;
  const baselineSteps = Math.min(config.steps, config.model === 'cnn' ? 30 : 200);
  say(`measuring one worker (${getNumThreads()} kernel threads) on ${baselineSteps} steps for comparison…`);
  const oneWorker = await oneWorkerThroughput(config, baselineSteps);
  const segments = [{ from: 0, to: config.steps, seconds: +r0.seconds.toFixed(2), stepsPerSecond: +(config.steps / r0.seconds).toFixed(1) }];
  await io.writeFileAtomic(join(out, 'metrics.jsonl'), r0.metrics.map((m) => JSON.stringify(m)).join('\n') + '\n');
  const summary = {
    command: 'train', steps: config.steps, testAccuracy: r0.final.accuracy, testLoss: r0.final.loss,
    seconds: +r0.seconds.toFixed(2), stepsPerSecond: +(config.steps / r0.seconds).toFixed(1),
    out, checkpoint: null, report: join(out, 'report.html'), resumedFrom: null,
    config: { ...config, workers }, segments,
    workers: {
      count: workers, kernelThreadsPerWorker: r0.threads,
      samplesPerSecond: +samplesPerSecond.toFixed(0),
      oneWorkerSamplesPerSecond: +oneWorker.toFixed(0), oneWorkerKernelThreads: getNumThreads(), oneWorkerMeasuredSteps: baselineSteps,
      speedup: +(samplesPerSecond / oneWorker).toFixed(2),
      launchSeconds: +wall.toFixed(2),
    },
  };
  await io.writeFileAtomic(join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  await io.writeFileAtomic(summary.report, await trainReportHtml({ title: `${title}, ${workers} workers`, config: summary.config, metrics: r0.metrics, final: { steps: config.steps, testAccuracy: r0.final.accuracy, testLoss: r0.final.loss }, segments }));
  say(`test accuracy ${(100 * r0.final.accuracy).toFixed(2)}% after ${config.steps} steps (${r0.seconds.toFixed(1)} s); ${workers} workers ${samplesPerSecond.toFixed(0)} samples/s vs one worker ${oneWorker.toFixed(0)} samples/s (×${(samplesPerSecond / oneWorker).toFixed(2)}); run folder ${out}`);
  return summary;
}
