/**
 * Claim 8's SyncBN arm: 2 data-parallel ranks (distributed.launch, worker threads, one kernel thread each)
 * with nn.SyncBatchNorm and DistributedDataParallel; see claim8-rank.ts for a rank's loop.
 */
import { distributed } from '../src/index.js';
import type { Claim8Config } from './claim8.js';
import type { Claim8RankArgs, Claim8RankJob } from './claim8-rank.js';

export const SYNC_WORLD = 2;

/**
 * The rank module: the built file next to this one; when this file runs from its TypeScript source (the
 * tests), the build under dist/ (rank threads are plain Node and load JavaScript only).
 */
function rankModule(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../dist/experiments/claim8-rank.js', here) : new URL('./claim8-rank.js', here);
}

export interface SyncArmOptions {
  cfg: Claim8Config;
  seed: number;
  /** The runs (per-worker batch size, steps, learning rate), each from the seed's initial weights. */
  jobs: Claim8RankJob[];
  /** Called with the number of new steps rank 0 has taken. */
  onSteps: (n: number) => void;
}

/** Train the SyncBN arm over 2 ranks, one run per job in one launch, and return the final test accuracies (rank 0's). */
export async function runSyncArm({ cfg, seed, jobs, onSteps }: SyncArmOptions): Promise<number[]> {
  const progress = new SharedArrayBuffer(4);
  const counter = new Int32Array(progress);
  let seen = 0;
  const poll = () => { const now = Atomics.load(counter, 0); if (now > seen) { onSteps(now - seen); seen = now; } };
  const timer = setInterval(poll, 250);
  try {
    const args: Claim8RankArgs = { hidden: cfg.hidden, seed, jobs, trainSize: cfg.trainSize, testSize: cfg.testSize, splitSeed: cfg.seed, progress };
    const results = await distributed.launch<number[], Claim8RankArgs>(SYNC_WORLD, rankModule(), args, { threadsPerRank: 1 });
    return results[0];
  } finally {
    clearInterval(timer);
    poll();
  }
}
