/** Runs one arm of the paper experiment in a worker thread and streams its events to the main thread. */
import { parentPort, workerData } from 'node:worker_threads';
import { setNumThreads } from '../src/index.js';
import { loadPaperData, runPaperArm, type PaperArm, type PaperConfig } from '../experiments/paper.js';

const { arm, cfg, threads } = workerData as { arm: PaperArm; cfg: PaperConfig; threads: number };
// The arms already run side by side: each arm's kernels get its share of the cores (see paper.ts).
setNumThreads(threads);
const data = await loadPaperData(cfg);
const result = runPaperArm(arm, cfg, data, (e) => {
  // Every eval, and every 25th step, is enough for bars and logs.
  if (e.type === 'eval' || e.step % 25 === 0) parentPort!.postMessage({ type: 'event', event: e });
});
parentPort!.postMessage({ type: 'done', result });
