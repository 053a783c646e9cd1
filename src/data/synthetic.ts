/**
 * A small seeded synthetic classification set for fast tests: Gaussian blobs.
 */
import { Rng } from '../random.js';
import { makeDataset, permutation, type Dataset } from './dataset.js';

export interface SyntheticOptions {
  /** Samples (default 600). */
  n?: number;
  /** Features per sample (default 10). */
  features?: number;
  /** Classes (default 3); labels are balanced (counts differ by at most 1). */
  classes?: number;
  /** Seed (default 0): the same options give the same data. */
  seed?: number;
  /** Standard deviation of each blob around its centre (default 0.5; centres are N(0, 1) per feature). */
  noise?: number;
}

/**
 * Gaussian blobs: class c has a centre μ_c ~ N(0, I) and samples x = μ_c + noise·ε, ε ~ N(0, I).
 * With the defaults the classes are well separated (a nearest-centre rule is almost always right), so a
 * small network learns them in a few steps.
 *
 * Shape: x [n, features], y [n].
 *
 * Example: `const ds = syntheticDataset({ n: 256, features: 8, classes: 4, seed: 1 });`
 */
export function syntheticDataset({ n = 600, features = 10, classes = 3, seed = 0, noise = 0.5 }: SyntheticOptions = {}): Dataset {
  for (const [name, v] of [['n', n], ['features', features], ['classes', classes]] as const)
    if (!Number.isInteger(v) || v < 1) throw new Error(`syntheticDataset: ${name} must be a positive integer, got ${v}`);
  if (!Number.isFinite(seed)) throw new Error(`syntheticDataset: seed must be a finite number, got ${seed}`);
  if (!(noise >= 0 && Number.isFinite(noise))) throw new Error(`syntheticDataset: noise must be a finite number ≥ 0, got ${noise}`);
  const rng = new Rng(seed);
  const centres = new Float64Array(classes * features);
  for (let i = 0; i < centres.length; i++) centres[i] = rng.normal();
  const order = permutation(n, rng);
  const x = new Float32Array(n * features), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = order[i] % classes;
    y[i] = c;
    for (let j = 0; j < features; j++) x[i * features + j] = centres[c * features + j] + noise * rng.normal();
  }
  return makeDataset(x, y, features, classes);
}
