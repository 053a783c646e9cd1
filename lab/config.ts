/**
 * The lab's settings and the shapes of what the arm workers report: no library import, so that the page's
 * own bundle stays small (the library runs in the workers).
 */

/** Data sets of the lab: the bundled MNIST digits or the 2-D toy set. */
export type DataSetName = 'mnist' | 'toy';
/** File name of the bundled digits in the build. */
export const MNIST_ASSET = 'mnist-5000.bin';

export type ArmName = 'bn' | 'plain';
export const ARMS: readonly ArmName[] = ['bn', 'plain'];

/** Everything the controls set. Both arms get the same config; only `bn` differs. */
export interface LabConfig {
  data: DataSetName;
  activation: 'sigmoid' | 'tanh' | 'relu';
  depth: number;
  width: number;
  /** Gaussian initial weights N(0, initStd²); 0 means PyTorch's default Linear init. */
  initStd: number;
  lr: number;
  batchSize: number;
  bnMomentum: number;
  bnEps: number;
  runningStats: 'ema' | 'cumulative' | 'none';
  optimizer: 'sgd' | 'momentum' | 'adam' | 'adamw';
  clip: 'none' | 'value' | 'norm' | 'global';
  clipAt: number;
  seed: number;
  /** Evaluate on the test rows every this many steps. */
  evalEvery: number;
  /** Fig. 1 probe: hidden layer (1-based) and unit whose activation input is tracked. */
  probeLayer: number;
  probeUnit: number;
  /** Kernel threads per arm (wasm backend); the two arms already run side by side. */
  threads: number;
}

/** The BN paper's Figure 1 setting: sigmoid 3×100, small Gaussian init, plain SGD at 0.5, batch 60. */
export const DEFAULT_CONFIG: LabConfig = {
  data: 'mnist', activation: 'sigmoid', depth: 3, width: 100, initStd: 0.05, lr: 0.5, batchSize: 60,
  bnMomentum: 0.9, bnEps: 1e-5, runningStats: 'ema', optimizer: 'sgd', clip: 'none', clipAt: 5, seed: 1,
  evalEvery: 50, probeLayer: 3, probeUnit: 0, threads: 1,
};

/** Histogram range of each activation's output (values outside go to the end bins). */
export const HIST_RANGE: Record<LabConfig['activation'], [number, number]> = { sigmoid: [0, 1], tanh: [-1, 1], relu: [0, 4] };
export const HIST_BINS = 24;
/** Test rows whose predictions are shown. */
export const SAMPLES = 10;

export interface EvalReport {
  step: number;
  testAccuracy: number;
  testLoss: number;
  /** Mean training loss since the previous evaluation (NaN at step 0). */
  trainLoss: number;
  /** 15th, 50th, 85th percentiles of the probed unit's activation input over the test rows. */
  bands: [number, number, number];
  /** Per hidden layer: fraction of test activations in each of HIST_BINS bins over HIST_RANGE. */
  hist: number[][];
  /** L2 norm of each Linear weight's gradient at the last step (input layer first; empty at step 0). */
  gradNorms: number[];
  /** Predicted class of each sample row. */
  predictions: number[];
}

export interface Samples { x: Float32Array; y: Int32Array; features: number }

