/**
 * The paper experiment's configuration and defaults, apart from the experiment itself so that the command
 * line's help can show the defaults without loading the library.
 */
export interface PaperConfig {
  /** Training steps per arm (the paper: 50,000). */
  steps: number;
  /** Evaluate on the test digits every this many steps. */
  evalEvery: number;
  batchSize: number;
  /** SGD learning rate (no momentum, no weight decay). */
  lr: number;
  /** Standard deviation of the Gaussian initial weights ("small Gaussian init"). */
  initStd: number;
  hidden: readonly number[];
  /** Seed of the initial weights, the data split and the batch order (shared by both arms). */
  seed: number;
  trainSize: number;
  testSize: number;
  /** Which unit of the last hidden layer's sigmoid input is tracked. */
  probeUnit: number;
}

export const paperDefaults: PaperConfig = {
  steps: 6000, evalEvery: 100, batchSize: 60, lr: 0.5, initStd: 0.05, hidden: [100, 100, 100],
  seed: 1, trainSize: 8000, testSize: 2000, probeUnit: 0,
};

/** The paper-sized run (`--full`). */
export const paperFull: Partial<PaperConfig> = { steps: 50_000, evalEvery: 1000 };
