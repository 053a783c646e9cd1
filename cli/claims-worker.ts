/** Runs one claim's experiment in a worker thread (one kernel thread) and streams its events back. */
import { parentPort, workerData } from 'node:worker_threads';
import { setNumThreads } from '../src/index.js';
import { claimById } from '../experiments/claims.js';
import type { SeededConfig } from '../experiments/common.js';

const { id, cfg } = workerData as { id: number; cfg: SeededConfig };
setNumThreads(1); // the claims run side by side, one per core: no oversubscription
try {
  const metrics = await claimById(id).run(cfg, (event) => parentPort!.postMessage({ type: 'event', event }));
  parentPort!.postMessage({ type: 'done', metrics });
} catch (e) {
  parentPort!.postMessage({ type: 'error', message: (e as Error).stack ?? String(e) });
}
