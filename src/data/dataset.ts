/**
 * In-memory classification datasets (rows of float32 features with integer labels) and seeded splits.
 */
import { Rng } from '../random.js';
import type { MnistData } from './mnist-format.js';

/**
 * A classification dataset held in memory.
 *
 * Shape: `x` is [count, features] row-major float32; `y` is [count], labels in 0..classes−1.
 */
export interface Dataset {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly count: number;
  readonly features: number;
  /** Number of classes (1 + the largest label, at least). */
  readonly classes: number;
}

/**
 * Make a {@link Dataset} from features and labels (no copy); checks that the lengths agree and the labels
 * are integers in [0, classes).
 *
 * Args: `classes` defaults to 1 + the largest label.
 *
 * Example: `const ds = makeDataset(new Float32Array([0, 1, 2, 3]), new Int32Array([0, 1]), 2);`
 */
export function makeDataset(x: Float32Array, y: Int32Array, features: number, classes?: number): Dataset {
  if (!(x instanceof Float32Array)) throw new Error('makeDataset: x must be a Float32Array');
  if (!(y instanceof Int32Array)) throw new Error('makeDataset: y must be an Int32Array');
  if (!Number.isInteger(features) || features < 1) throw new Error(`makeDataset: features must be a positive integer, got ${features}`);
  const count = y.length;
  if (x.length !== count * features)
    throw new Error(`makeDataset: x has ${x.length} values but y has ${count} labels of ${features} features (${count * features} values)`);
  let max = -1;
  for (let i = 0; i < count; i++) {
    if (y[i] < 0) throw new Error(`makeDataset: label ${i} is ${y[i]}; labels must be non-negative`);
    if (y[i] > max) max = y[i];
  }
  const k = classes ?? max + 1;
  if (!Number.isInteger(k) || k < max + 1) throw new Error(`makeDataset: classes is ${classes} but the largest label is ${max}`);
  return { x, y, count, features, classes: k };
}

/** View MNIST as a {@link Dataset} of 784 features and 10 classes (no copy). */
export function mnistDataset(mnist: MnistData): Dataset {
  return makeDataset(mnist.images, mnist.labels, mnist.imageShape[0] * mnist.imageShape[1], 10);
}

/** The rows `indices` of `data`, copied into a new dataset (in that order). */
export function subset(data: Dataset, indices: ArrayLike<number>): Dataset {
  const f = data.features, n = indices.length;
  const x = new Float32Array(n * f), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = indices[i];
    if (!(Number.isInteger(r) && r >= 0 && r < data.count)) throw new Error(`subset: index ${r} (position ${i}) is out of range for ${data.count} samples`);
    x.set(data.x.subarray(r * f, (r + 1) * f), i * f);
    y[i] = data.y[r];
  }
  return { x, y, count: n, features: f, classes: data.classes };
}

/** A uniformly random permutation of 0..n−1 (Fisher–Yates, drawing from `rng`). */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i]; p[i] = p[j]; p[j] = t;
  }
  return p;
}

export interface SplitOptions {
  /** Training samples (default 8000). */
  trainSize?: number;
  /** Test samples (default 2000); trainSize + testSize must not exceed the data. */
  testSize?: number;
  /** Seed of the permutation (default 0): the same seed gives the same split. */
  seed?: number;
}

/**
 * Split a dataset (or MNIST) into disjoint train and test sets by a seeded random permutation
 * (not stratified): train is the first `trainSize` permuted samples, test the next `testSize`.
 *
 * Shape: train.x [trainSize, features], test.x [testSize, features].
 *
 * Example:
 * ```ts
 * const { train, test } = data.splitDataset(await data.loadMnist(), { trainSize: 8000, testSize: 2000, seed: 0 });
 * [train.count, test.count]; // => [8000, 2000]
 * ```
 */
export function splitDataset(data: Dataset | MnistData, { trainSize = 8000, testSize = 2000, seed = 0 }: SplitOptions = {}): { train: Dataset; test: Dataset } {
  const ds = 'images' in data ? mnistDataset(data) : data;
  for (const [name, v] of [['trainSize', trainSize], ['testSize', testSize]] as const)
    if (!Number.isInteger(v) || v < 0) throw new Error(`splitDataset: ${name} must be a non-negative integer, got ${v}`);
  if (trainSize + testSize > ds.count)
    throw new Error(`splitDataset: trainSize ${trainSize} + testSize ${testSize} exceeds the ${ds.count} samples`);
  if (!Number.isFinite(seed)) throw new Error(`splitDataset: seed must be a finite number, got ${seed}`);
  const p = permutation(ds.count, new Rng(seed));
  return { train: subset(ds, p.subarray(0, trainSize)), test: subset(ds, p.subarray(trainSize, trainSize + testSize)) };
}
